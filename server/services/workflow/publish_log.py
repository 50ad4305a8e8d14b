"""The publish log as the use cases see it: every change is saved with its timeline event,
then announced to subscribers in this process (RPCs waiting on a publish, watchers).

Changes made by other replicas reach the subscribers here through the store's change feed:
the log reads the record again and announces it, once per revision.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from server.domain.models import FirstComment, Publish, PublishError, PublishEvent, PublishState
from server.domain.ports import ANYTHING_CHANGED, KEEP, Clock, CreateConflict, PublishStore
from server.services.workflow.polling import ReconcileSchedule

# How long a waiter trusts the change feed before reading the record again anyway: a safety
# net for a notification lost while a replica reconnected to the database.
RECHECK_SECONDS = 5.0


class PublishLog:
    def __init__(
        self,
        store: PublishStore,
        clock: Clock,
        late_facts: ReconcileSchedule | None = None,
        owner: str = "local",
    ) -> None:
        self.store = store
        self.clock = clock
        self.late_facts = late_facts or ReconcileSchedule()
        # This replica's name in leases: the runs it drives write as this owner.
        self.owner = owner
        self._subscribers: dict[str, set[asyncio.Queue[Publish]]] = {}
        # Told of every change to any publish (the workspace event stream, webhooks): a
        # nudge to read the store again, never the content.
        self._change_listeners: set[Callable[[], None]] = set()
        self._announced: dict[str, int] = {}  # revision last announced, per subscribed publish
        self._refreshing: set[str] = set()
        self._notes: dict[str, list[PublishEvent]] = {}
        # The latest record of each publish a run here drives (see `track`): handed to the
        # store with each write, so it need not read the row back.
        self._latest: dict[str, Publish] = {}
        # Set when a late-fact check is scheduled before the reconciler's next planned pass
        # (`reconciler_wakes_at`, None while it is mid-pass or has nothing planned), so it
        # wakes for it, and only then: most checks are cleared again a moment later.
        self.reconcile_scheduled = asyncio.Event()
        self.reconciler_wakes_at: datetime | None = None

    # --- writes ---------------------------------------------------------------------------

    async def create(
        self, publish: Publish, *events: PublishEvent, duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        """Records a new publish with its first events (see PublishStore.create)."""
        conflict = await self.store.create(publish, *events, duplicate_since=duplicate_since)
        if conflict is None:
            self._changed()
        return conflict

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
        last: bool = False,
        first_comment: FirstComment | None = None,
        options: dict[str, Any] | None = None,
        **ids: str | None,
    ) -> Publish:
        """Saves the change with its timeline event (see PublishStore.update), then announces
        it. A write of a run driven here is made as this replica's lease (LeaseLost if another
        replica took the publish over); `last` says it is the run's last write, which ends the
        lease with it (no write of its own to release). `known` is the caller's latest copy."""
        event = PublishEvent(type=type, message=message, state=state, details=details or {})
        latest = self._latest.get(publish_id)
        run = latest is not None
        publish = await self.store.update(
            publish_id, event, state=state, error=error, published_at=published_at,
            pending_facts=pending_facts, reconcile_at=reconcile_at, reconcile_attempts=reconcile_attempts,
            earlier=self._notes.pop(publish_id, ()), known=latest or known,
            owner=self.owner if run else None, release=run and last, first_comment=first_comment, options=options,
            **ids,
        )
        if run and last:
            self._forget(publish_id)
        elif run and publish_id in self._latest:
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
        latest = self._latest.get(publish_id)
        publish = await self.store.save_child(
            publish_id, index, container_id, event, earlier=self._notes.pop(publish_id, ()),
            owner=self.owner if latest is not None else None,
        )
        latest = self._latest.get(publish_id)
        if latest is not None and latest.revision < publish.revision:
            self._latest[publish_id] = publish  # concurrent item saves may return out of order
        self._announce(publish)
        return publish

    def note(self, publish_id: str, type: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        """A timeline event that marks progress but saves no state (e.g. "all item containers
        are FINISHED"): kept, with its time, and written with the publish's next change, so
        it costs no transaction of its own. A crash before that change loses only the note."""
        self._notes.setdefault(publish_id, []).append(
            PublishEvent(type=type, message=message, details=details or {}, time=self.clock.now())
        )

    def first_late_check(self) -> datetime:
        """When the reconciler first asks for a fact a run ended without."""
        return self.clock.now() + timedelta(seconds=self.late_facts.first_delay)

    # --- runs -----------------------------------------------------------------------------

    def track(self, publish: Publish) -> None:
        """A run here starts driving `publish` (the record as stored, leased to this
        replica): its writes go through this log, as this owner, until `release`."""
        self._latest[publish.id] = publish

    async def release(self, publish_id: str, event: PublishEvent | None = None) -> Publish | None:
        """The run here is over (or handed back at shutdown): ends this replica's lease, so
        the publish is done (or free for another replica to take over), and announces it."""
        self._forget(publish_id)
        publish = await self.store.release_lease(self.owner, publish_id, event)
        if publish is not None:
            self._announce(publish)
        return publish

    def forget(self, publish_id: str) -> None:
        """The run here stopped without a release of its own (its lease was lost): drops its
        latest record and the notes no change will carry any more."""
        self._forget(publish_id)

    def _forget(self, publish_id: str) -> None:
        self._notes.pop(publish_id, None)
        self._latest.pop(publish_id, None)

    # --- subscribers ----------------------------------------------------------------------

    def on_any_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Calls `listener()` after every change to any publish, made here or (through the
        change feed) by another replica; returns what stops it."""
        self._change_listeners.add(listener)
        return lambda: self._change_listeners.discard(listener)

    def _changed(self) -> None:
        for listener in list(self._change_listeners):
            listener()

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
                self._announced.pop(publish_id, None)

    async def wait_until_done(self, publish_id: str) -> Publish:
        """The record once the publish is done, whichever replica drives it."""
        async with self._watching(publish_id) as updates:
            while True:
                publish = await self.store.get(publish_id)
                if publish is None or publish.done:
                    assert publish is not None, f"publish {publish_id} vanished"
                    return publish
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(updates.get(), RECHECK_SECONDS)

    @contextlib.asynccontextmanager
    async def _watching(self, publish_id: str) -> AsyncIterator[asyncio.Queue[Publish]]:
        updates = self.subscribe(publish_id)
        try:
            yield updates
        finally:
            self.unsubscribe(publish_id, updates)

    def changed_elsewhere(self, publish_id: str) -> None:
        """The store's change feed: a publish changed (maybe on another replica). Subscribers
        here get its record, read again, unless they have seen that revision already."""
        self._changed()
        # After an interruption of the feed every watched publish is read again.
        for changed in list(self._subscribers) if publish_id == ANYTHING_CHANGED else [publish_id]:
            if changed in self._subscribers and changed not in self._refreshing:
                self._refreshing.add(changed)
                asyncio.get_running_loop().create_task(self._refresh(changed), name=f"refresh-{changed}")

    async def _refresh(self, publish_id: str) -> None:
        try:
            publish = await self.store.get(publish_id)
        finally:
            self._refreshing.discard(publish_id)
        if publish is not None:
            self._announce(publish)

    def _announce(self, publish: Publish) -> None:
        self._changed()
        queues = self._subscribers.get(publish.id)
        if not queues or self._announced.get(publish.id, -1) >= publish.revision:
            return
        self._announced[publish.id] = publish.revision
        for queue in queues:
            queue.put_nowait(publish)
