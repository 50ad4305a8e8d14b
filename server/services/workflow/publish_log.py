"""The publish log as the use cases see it: every change is saved with its timeline event,
then announced to in-process subscribers (RPCs waiting on a publish, watchers)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Literal

from server.domain.models import Publish, PublishError, PublishEvent, PublishState
from server.domain.ports import KEEP, Clock, PublishStore
from server.services.workflow.polling import ReconcileSchedule


class PublishLog:
    def __init__(self, store: PublishStore, clock: Clock, late_facts: ReconcileSchedule | None = None) -> None:
        self.store = store
        self.clock = clock
        self.late_facts = late_facts or ReconcileSchedule()
        self._subscribers: dict[str, set[asyncio.Queue[Publish]]] = {}
        self._notes: dict[str, list[PublishEvent]] = {}
        # The latest record of each publish a run is driving (see `track`): handed to the
        # store with each write, so it need not read the row back.
        self._latest: dict[str, Publish] = {}
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
        pending_facts: list[str] | None = None,
        reconcile_at: datetime | Literal[False] | None = KEEP,
        reconcile_attempts: int | None = None,
        known: Publish | None = None,
        **ids: str | None,
    ) -> Publish:
        """Saves the change with its timeline event (see PublishStore.update), then announces
        it. `known` is the caller's latest copy of the record, if it has one."""
        event = PublishEvent(type=type, message=message, state=state, details=details or {})
        tracked = publish_id in self._latest
        publish = await self.store.update(
            publish_id, event, state=state, error=error, published_at=published_at,
            pending_facts=pending_facts, reconcile_at=reconcile_at, reconcile_attempts=reconcile_attempts,
            earlier=self._notes.pop(publish_id, ()), known=self._latest.get(publish_id, known), **ids,
        )
        if tracked and publish_id in self._latest:
            self._latest[publish_id] = publish
        if reconcile_at and (self.reconciler_wakes_at is None or reconcile_at < self.reconciler_wakes_at):
            self.reconcile_scheduled.set()
        self._announce(publish)
        return publish

    async def record_child(self, publish_id: str, index: int, container_id: str) -> Publish:
        event = PublishEvent(
            type="CHILD_CONTAINER_CREATED",
            message=f"Container {container_id} created for media_ids[{index}]",
            details={"index": index, "container_id": container_id},
        )
        publish = await self.store.save_child(
            publish_id, index, container_id, event, earlier=self._notes.pop(publish_id, ())
        )
        latest = self._latest.get(publish_id)
        if latest is not None and latest.revision < publish.revision:
            self._latest[publish_id] = publish  # concurrent item saves may return out of order
        self._announce(publish)
        return publish

    async def create(self, publish: Publish, *events: PublishEvent) -> bool:
        """Records a new publish with its first events (see PublishStore.create)."""
        return await self.store.create(publish, *events)

    def track(self, publish: Publish) -> None:
        """A run starts driving `publish` (the record as stored): its writes go through this
        log until `forget`, so the log always holds its latest record."""
        self._latest[publish.id] = publish

    def note(self, publish_id: str, type: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        """A timeline event that marks progress but saves no state (e.g. "all item containers
        are FINISHED"): kept, with its time, and written with the publish's next change, so
        it costs no transaction of its own. A crash before that change loses only the note."""
        self._notes.setdefault(publish_id, []).append(
            PublishEvent(type=type, message=message, details=details or {}, time=self.clock.now())
        )

    def forget(self, publish_id: str) -> None:
        """The publish's run is over: drops its latest record and the notes no change will
        carry any more."""
        self._notes.pop(publish_id, None)
        self._latest.pop(publish_id, None)

    def first_late_check(self) -> datetime:
        """When the reconciler first asks for a fact a run ended without."""
        return self.clock.now() + timedelta(seconds=self.late_facts.first_delay)

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
