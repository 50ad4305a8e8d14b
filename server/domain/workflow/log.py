"""The publish log as the workflow sees it: every change is saved with its timeline event,
then announced to in-process subscribers (RPCs waiting on a publish, watchers)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from server.domain.models import Publish, PublishError, PublishState, utcnow
from server.domain.workflow.polling import ReconcileSchedule
from server.store.publishes import PublishEvent, PublishRepository


class PublishLog:
    def __init__(self, repository: PublishRepository, late_facts: ReconcileSchedule | None = None) -> None:
        self.repository = repository
        self.late_facts = late_facts or ReconcileSchedule()
        self._subscribers: dict[str, set[asyncio.Queue[Publish]]] = {}
        self._notes: dict[str, list[PublishEvent]] = {}
        # Set when a late-fact check is scheduled before the reconciler's next planned pass
        # (`reconciler_wakes_at`, None while it is mid-pass or has nothing planned), so it
        # wakes for it, and only then: most checks are cleared again a moment later.
        self.reconcile_scheduled = asyncio.Event()
        self.reconciler_wakes_at: datetime | None = None

    async def record(
        self,
        publish_id: str,
        type: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        state: PublishState | None = None,
        error: PublishError | None = None,
        published_at: datetime | None = None,
        **changes: Any,
    ) -> Publish:
        """Saves the change with its timeline event (see PublishRepository.update), then announces it."""
        event = PublishEvent(type=type, message=message, state=state, details=details or {})
        publish = await self.repository.update(
            publish_id, event, state=state, error=error, published_at=published_at,
            earlier=self._notes.pop(publish_id, ()), **changes,
        )
        at = changes.get("reconcile_at")
        if at and (self.reconciler_wakes_at is None or at < self.reconciler_wakes_at):
            self.reconcile_scheduled.set()
        self._announce(publish)
        return publish

    async def record_child(self, publish_id: str, index: int, container_id: str) -> Publish:
        event = PublishEvent(
            type="CHILD_CONTAINER_CREATED",
            message=f"Container {container_id} created for media_ids[{index}]",
            details={"index": index, "container_id": container_id},
        )
        publish = await self.repository.save_child(
            publish_id, index, container_id, event, earlier=self._notes.pop(publish_id, ())
        )
        self._announce(publish)
        return publish

    def note(self, publish_id: str, type: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        """A timeline event that marks progress but saves no state (e.g. "all item containers
        are FINISHED"): kept, with its time, and written with the publish's next change, so
        it costs no transaction of its own. A crash before that change loses only the note."""
        self._notes.setdefault(publish_id, []).append(
            PublishEvent(type=type, message=message, details=details or {}, time=utcnow())
        )

    def drop_notes(self, publish_id: str) -> None:
        """Forgets notes no change will carry any more (the publish's run is over)."""
        self._notes.pop(publish_id, None)

    def run_ended(self, final: Publish) -> None:
        """Wakes watchers with a run's last record as the run ends, so a watch that saw the
        terminal state can end (see PublishHistory.watch)."""
        self._announce(final)

    def subscribe(self, publish_id: str) -> asyncio.Queue[Publish]:
        queue: asyncio.Queue[Publish] = asyncio.Queue()
        self._subscribers.setdefault(publish_id, set()).add(queue)
        return queue

    def unsubscribe(self, publish_id: str, queue: asyncio.Queue[Publish]) -> None:
        queues = self._subscribers.get(publish_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[publish_id]

    def _announce(self, publish: Publish) -> None:
        for queue in self._subscribers.get(publish.id, ()):
            queue.put_nowait(publish)
