"""The workspace event stream (WatchPublishes): every publish change and account event of a
workspace, in the stream's order (server/domain/events.py), resumable from any event id within the retention
window.

Delivery: a backfill from the store after the caller's position, then live: every change
(made here, or on another replica through the change feed) nudges the stream to read the
store again; the nudge carries no content. Events settle in the store's order slightly
after they commit on PostgreSQL (an older transaction still running holds them back), so a
stream also reads again every `recheck` seconds while it waits.

Slow consumers: a stream reads ahead into a buffer of at most `buffer` events, and waits
while it is full (the store, not memory, holds the backlog). A consumer that leaves it full
for `stall` seconds (it takes nothing while events wait) is ended with RESOURCE_EXHAUSTED
(CONSUMER_TOO_SLOW) naming the last event it was given (`last_event_id`), so it resumes from
there; the buffer is dropped at once, so a stalled consumer holds no more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

from server.domain.errors import FieldViolation, OutOfRange, ResourceExhausted, invalid
from server.domain.events import EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import Account, Publish
from server.domain.ports import Clock, EventIds, EventLog
from server.domain.validation import canonical_id, id_violation
from server.domain.webhooks import STREAM_DEFAULT_KINDS
from server.services.event_subjects import EventSubjects
from server.services.workflow.publish_log import PublishLog

# Events read from the store at once.
PAGE = 200


@dataclass(frozen=True)
class StreamPolicy:
    # How far back a caller may resume (DISTRIBUTION_EVENT_RETENTION_DAYS): older positions
    # are OUT_OF_RANGE, so events older than this may be pruned without a reader missing one.
    retention: timedelta = timedelta(days=7)
    # Events a stream reads ahead of its consumer (DISTRIBUTION_WATCH_BUFFER).
    buffer: int = 1000
    # Seconds a full buffer may wait for the consumer before the stream is ended.
    stall: float = 30.0
    # Seconds between reads while nothing nudges the stream.
    recheck: float = 1.0


@dataclass(frozen=True)
class StreamItem:
    event: WorkspaceEvent
    # What the event is about, as read when it was sent: its publish (a publish event) or
    # its account (an account event); exactly one is set.
    publish: Publish | None
    account: Account | None
    # The id callers see (opaque per workspace: the EventIds port).
    event_id: str


_OVERFLOW = object()


class WorkspaceEvents:
    def __init__(
        self, events: EventLog, subjects: EventSubjects, publish_log: PublishLog, event_ids: EventIds, clock: Clock,
        policy: StreamPolicy | None = None,
    ) -> None:
        self._events = events
        self._subjects = subjects
        self._log = publish_log
        self._ids = event_ids
        self._clock = clock
        self.policy = policy or StreamPolicy()

    async def start_position(self, workspace_id: str, after_event_id: str) -> EventPosition:
        """Where a stream asked to start after `after_event_id` starts; raises INVALID_ARGUMENT
        for an id this service never issues and OUT_OF_RANGE for one it no longer resumes from."""
        if not after_event_id:
            return await self._events.last_position()
        position = self._ids.parse(workspace_id, after_event_id)
        if position is None and not self._ids.well_formed(after_event_id):
            raise invalid([FieldViolation(
                "after_event_id", "is not an event id from WatchPublishes; send an event_id unchanged, or none",
            )])
        at = await self._events.event_time(workspace_id, position) if position is not None else None
        if at is None or at < self._clock.now() - self.policy.retention:
            days = self.policy.retention / timedelta(days=1)
            raise OutOfRange(
                reason="EVENT_ID_EXPIRED",
                message=(
                    f"after_event_id {after_event_id} is unknown or older than the event retention window "
                    f"({days:g} days); resync with ListPublishes, then watch again without after_event_id"
                ),
                metadata={"after_event_id": after_event_id, "retention_days": f"{days:g}"},
            )
        assert position is not None  # found: it has a time
        return position

    def check_filter(self, where: EventFilter) -> EventFilter:
        if not where.kinds:
            where = dataclasses.replace(where, kinds=STREAM_DEFAULT_KINDS)
        if where.account_id is None:
            return where
        account_id = canonical_id(where.account_id)
        violation = id_violation("account_id", account_id, "an account id")
        if violation is not None:
            raise invalid([violation])
        return dataclasses.replace(where, account_id=account_id)

    async def watch(
        self, workspace_id: str, after_event_id: str, where: EventFilter
    ) -> AsyncIterator[StreamItem]:
        """The workspace's events after `after_event_id` (or from now), oldest first, each
        with its publish as read then; never ends by itself."""
        async for item in await self.open(workspace_id, after_event_id, where):
            yield item

    async def open(self, workspace_id: str, after_event_id: str, where: EventFilter) -> AsyncIterator[StreamItem]:
        """Checks the request and takes the stream's start position (the events after it are
        the stream's from here on), then hands back the stream to iterate: a caller can say
        "started" in between (the servicer sends the response headers)."""
        where = self.check_filter(where)
        wake = asyncio.Event()
        stop_listening = self._log.on_any_change(wake.set)  # before the first read: no change slips by
        try:
            position = await self.start_position(workspace_id, after_event_id)
        except BaseException:
            stop_listening()
            raise
        resume_from = after_event_id or self._ids.token(workspace_id, position)
        return self._follow(workspace_id, position, resume_from, where, wake, stop_listening)

    async def _follow(
        self,
        workspace_id: str,
        position: EventPosition,
        resume_from: str,
        where: EventFilter,
        wake: asyncio.Event,
        stop_listening: Callable[[], None],
    ) -> AsyncIterator[StreamItem]:
        try:
            queue: asyncio.Queue[object] = asyncio.Queue(self.policy.buffer)
            reader = asyncio.get_running_loop().create_task(
                self._read(workspace_id, position, where, wake, queue), name=f"watch-{workspace_id}"
            )
            last_given = resume_from
            try:
                while True:
                    item = await queue.get()
                    if item is _OVERFLOW:
                        raise _too_slow(last_given, self.policy)
                    if isinstance(item, BaseException):
                        raise item
                    assert isinstance(item, StreamItem)
                    yield item
                    last_given = item.event_id
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
        finally:
            stop_listening()

    async def _read(
        self,
        workspace_id: str,
        position: EventPosition,
        where: EventFilter,
        wake: asyncio.Event,
        queue: asyncio.Queue[object],
    ) -> None:
        try:
            while True:
                wake.clear()
                events = await self._events.workspace_events(workspace_id, position, PAGE, where)
                if events:
                    subjects = await self._subjects.load(workspace_id, events)
                    for event in events:
                        try:
                            async with asyncio.timeout(self.policy.stall):
                                await queue.put(StreamItem(
                                    event, subjects.publish_of(event), subjects.account_of(event),
                                    self._ids.token(workspace_id, event.position),
                                ))
                        except TimeoutError:
                            _drain(queue)
                            queue.put_nowait(_OVERFLOW)
                            return
                        position = event.position
                    if len(events) == PAGE:
                        continue  # more are waiting
                # asyncio.timeout, not wait_for: a wait_for cancelled as it times out could hang
                # the stream's close on Python 3.11.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.policy.recheck):
                        await wake.wait()
        except Exception as exc:  # the store failing ends the stream with its error
            _drain(queue)
            queue.put_nowait(exc)


def _drain(queue: asyncio.Queue[object]) -> None:
    while not queue.empty():
        queue.get_nowait()


def _too_slow(last: str, policy: StreamPolicy) -> ResourceExhausted:
    # Watching again at once succeeds (a new stream starts with an empty buffer): RetryInfo 0 s.
    return ResourceExhausted.frees_with_time(
        reason="CONSUMER_TOO_SLOW",
        message=(
            f"the stream was ended: {policy.buffer} events waited {policy.stall:g} s for this consumer to "
            f"read them; watch again with after_event_id {last}"
        ),
        retry_after=0.0,
        metadata={"last_event_id": last, "buffer": str(policy.buffer)},
    )
