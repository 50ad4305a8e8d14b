"""The publish log as the use cases see it: the unit of work, and the only writer of
publishes. Every write (a new record, a workflow step, a claim, a reschedule, a cancel, a
lease's renewal or release) goes through it, is saved with its timeline events in one
store write, and is then announced here: to subscribers of that publish (RPCs waiting on
it, watchers), to listeners of any change (the workspace event stream, webhooks), and to the
background loop it makes work for sooner (alarms: the scheduler, the reconciler).

Changes made by other replicas reach the subscribers here through the store's change feed:
the log reads the record again and announces it, once per revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from server.domain.changes import CLEAR, NO_CHANGE, ChildContainer, PublishChange, SetTo
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.models import Publish, PublishEvent, PublishState
from server.domain.ports import ANYTHING_CHANGED, NO_TRACER, Clock, CreateConflict, PublishStore, Tracer
from server.services.workflow.alarm import Alarms
from server.services.workflow.polling import ReconcileSchedule

# How long a waiter trusts the change feed before reading the record again anyway: a safety
# net for a notification lost while a replica reconnected to the database.
RECHECK_SECONDS = 5.0

_SCHEDULED_ONLY = frozenset({PublishState.SCHEDULED})


class PublishLog:
    def __init__(
        self,
        store: PublishStore,
        clock: Clock,
        late_facts: ReconcileSchedule | None = None,
        owner: str = "local",
        alarms: Alarms | None = None,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._store = store
        self.clock = clock
        # Every store transaction here is a span; the workflows' steps and calls use it too.
        self.tracer = tracer
        self.late_facts = late_facts or ReconcileSchedule()
        # This replica's name in leases: the runs it drives write as this owner.
        self.owner = owner
        self.alarms = alarms or Alarms()
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

    # --- writes ---------------------------------------------------------------------------

    async def create(
        self, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        """Records a new publish with its first events (see PublishWrites.create), and the span
        it was created in (its traceparent), which the runs that continue it later link to."""
        if publish.traceparent is None:
            publish.traceparent = self.tracer.traceparent()
        with self.tracer.span("publish_log.create", {"distribution.publish_id": publish.id}):
            conflict = await self._store.create(publish, self._traced(events), duplicate_since)
        if conflict is None:
            self._changed()
            if publish.schedule_time is not None and publish.state == PublishState.SCHEDULED:
                self.alarms.schedules.ring(publish.schedule_time)
        return conflict

    async def record(
        self,
        publish_id: str,
        type: str,
        message: str,
        change: PublishChange = NO_CHANGE,
        *,
        details: dict[str, Any] | None = None,
        last: bool = False,
        expected: Publish | None = None,
    ) -> Publish:
        """Saves `change` with its timeline event (of `type`, saying `message`, in the
        change's new state, after the notes waiting for a change), then announces it. A write
        of a run driven here is made as this replica's lease (LeaseLost if another replica
        took the publish over); `last` says it is the run's last write, which ends the lease
        with it. `expected` is the caller's latest copy of the record."""
        event = PublishEvent(type=type, message=message, state=change.state, details=details or {})
        run = publish_id in self._latest
        if run and last:
            change = change.then(PublishChange(lease=CLEAR))
        publish = await self._write(publish_id, change, [event], expected)
        if run and last:
            self._forget(publish_id)
        return publish

    async def record_child(self, publish_id: str, index: int, container_id: str) -> Publish:
        """Saves carousel item `index`'s container id, safe from the other items' saves."""
        event = PublishEvent(
            type="CHILD_CONTAINER_CREATED",
            message=f"Container {container_id} created for media_ids[{index}]",
            details={"index": index, "container_id": container_id},
        )
        return await self._write(publish_id, PublishChange(child=ChildContainer(index, container_id)), [event], None)

    async def reschedule(self, publish_id: str, at: datetime, event: PublishEvent) -> Publish | None:
        """Moves a SCHEDULED publish to `at` with `event`, made only while it is still
        SCHEDULED; None (nothing written) when it is not."""
        change = PublishChange(schedule_time=SetTo(at), only_from=_SCHEDULED_ONLY)
        try:
            return await self._write(publish_id, change, [event], None)
        except IllegalTransition:
            return None

    async def _write(
        self, publish_id: str, change: PublishChange, events: list[PublishEvent], expected: Publish | None
    ) -> Publish:
        latest = self._latest.get(publish_id)
        run = latest is not None
        # Concurrent item saves of a run may return out of order: only the store's copy is
        # sure to be the latest then.
        with self.tracer.span(
            "publish_log.apply", {"distribution.publish_id": publish_id, "distribution.event": events[-1].type}
        ):
            publish = await self._store.apply(
                publish_id, change, self._traced([*self._notes.pop(publish_id, ()), *events]),
                owner=self.owner if run else None, expected=(latest if change.child is None else None) or expected,
            )
        current = self._latest.get(publish_id)
        if current is not None and current.revision < publish.revision:
            self._latest[publish_id] = publish
        if isinstance(change.reconcile_at, SetTo):
            self.alarms.late_facts.ring(change.reconcile_at.value)
        if isinstance(change.schedule_time, SetTo):
            self.alarms.schedules.ring(change.schedule_time.value)
        self._announce(publish)
        return publish

    def note(self, publish_id: str, type: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        """A timeline event that marks progress but saves no state (e.g. "all item containers
        are FINISHED"): kept, with its time, and written with the publish's next change, so
        it costs no transaction of its own. A crash before that change loses only the note."""
        self._notes.setdefault(publish_id, []).append(
            PublishEvent(
                type=type, message=message, details=details or {}, time=self.clock.now(),
                trace_id=self.tracer.trace_id(),
            )
        )

    def _traced(self, events: Sequence[PublishEvent]) -> list[PublishEvent]:
        """The events, each naming the trace it was written in (a note keeps its own)."""
        trace_id = self.tracer.trace_id()
        if not trace_id:
            return list(events)
        return [e if e.trace_id else dataclasses.replace(e, trace_id=trace_id) for e in events]

    def first_late_check(self) -> datetime:
        """When the reconciler first asks for a fact a run ended without."""
        return self.clock.now() + timedelta(seconds=self.late_facts.first_delay)

    # --- reads ----------------------------------------------------------------------------

    async def get(self, publish_id: str) -> Publish | None:
        """The record as stored now."""
        return await self._store.get(publish_id)

    # --- runs and leases ------------------------------------------------------------------

    def track(self, publish: Publish) -> None:
        """A run here starts driving `publish` (the record as stored, leased to this
        replica): its writes go through this log, as this owner, until `release`."""
        self._latest[publish.id] = publish

    async def claim_orphans(self, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        """Takes over orphaned unfinished publishes for runs here (PublishLeases.claim_orphans)."""
        with self.tracer.span("publish_log.claim_orphans"):
            claimed = await self._store.claim_orphans(self.owner, lease_until, now, limit)
        for publish in claimed:
            self._announce(publish)
        return claimed

    async def renew_leases(self, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        """Extends this replica's leases among `publish_ids`; returns those it still holds."""
        return await self._store.renew_leases(self.owner, publish_ids, lease_until)

    async def release(self, publish_id: str, event: PublishEvent | None = None) -> Publish | None:
        """The run here is over (or handed back at shutdown): ends this replica's lease, so
        the publish is done (or free for another replica to take over), and announces it;
        None when this replica no longer held it."""
        self._forget(publish_id)
        try:
            with self.tracer.span("publish_log.release", {"distribution.publish_id": publish_id}):
                publish = await self._store.apply(
                    publish_id, PublishChange(lease=CLEAR), self._traced([event] if event is not None else []),
                    owner=self.owner,
                )
        except (LeaseLost, KeyError):
            return None
        self._announce(publish)
        return publish

    def forget(self, publish_id: str) -> None:
        """The run here stopped without a release of its own (its lease was lost): drops its
        latest record and the notes no change will carry any more."""
        self._forget(publish_id)

    def _forget(self, publish_id: str) -> None:
        self._notes.pop(publish_id, None)
        self._latest.pop(publish_id, None)

    # --- due work -------------------------------------------------------------------------

    async def claim_due_schedules(
        self, lease_until: datetime, now: datetime, missed_before: datetime, limit: int
    ) -> list[Publish]:
        """Claims due scheduled publishes for runs here (DueWork.claim_due_schedules): each
        started (leased to this replica) or MISSED, and announced."""
        with self.tracer.span("publish_log.claim_due_schedules"):
            claimed = await self._store.claim_due_schedules(
                self.owner, lease_until, now, missed_before, limit, self.tracer.trace_id()
            )
        for publish in claimed:
            self._announce(publish)
        return claimed

    async def next_schedule_time(self) -> datetime | None:
        return await self._store.next_schedule_time()

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        return await self._store.claim_due_for_reconcile(now, hold_until, limit)

    async def next_reconcile_at(self) -> datetime | None:
        return await self._store.next_reconcile_at()

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
                publish = await self._store.get(publish_id)
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
            publish = await self._store.get(publish_id)
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
