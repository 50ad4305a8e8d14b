"""The workspace event stream (server/services/events.py) on fakes: order, resuming from any
event id, filters, retention, malformed ids, and slow consumers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from server.domain.errors import InvalidArgument, OutOfRange, ResourceExhausted
from server.domain.events import EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import Platform, PublishState
from server.services.events import PAGE, StreamItem, StreamPolicy, WorkspaceEvents
from tests.unit.conftest import World
from tests.unit.helpers import until


async def take(stream: AsyncIterator[StreamItem], count: int) -> list[StreamItem]:
    items = []
    async for item in stream:
        items.append(item)
        if len(items) == count:
            break
    return items


async def total_events(world: World) -> int:
    return sum([len(await world.events(p)) for p in list(world.store.publishes.rows)])


async def test_a_consumer_resuming_at_random_points_sees_exactly_what_a_steady_one_sees(world: World) -> None:
    events = world.services.events
    steady = await events.open(world.workspace, "", EventFilter())  # its position taken now
    first = asyncio.ensure_future(steady.__anext__())
    # The resuming consumer's first connection starts at the same moment.
    resuming = await events.open(world.workspace, "", EventFilter())
    resuming_first = asyncio.ensure_future(resuming.__anext__())
    account = await world.instagram_account()
    tiktok = await world.tiktok_account()
    requests = [await world.instagram_request(2, account) for _ in range(3)]
    requests += [await world.tiktok_request(2, tiktok) for _ in range(3)]
    await asyncio.gather(*(world.publish(r) for r in requests))
    total = await total_events(world)
    reference = [await first, *await take(steady, total - 1)]
    await steady.aclose()
    assert len(reference) == total

    rng = random.Random(17)
    seen = [await resuming_first]
    await resuming.aclose()
    last = seen[-1].event_id
    while len(seen) < total:
        stream = events.watch(world.workspace, last, EventFilter())
        seen += await take(stream, min(rng.randint(1, 7), total - len(seen)))
        await stream.aclose()  # a disconnect; the next watch resumes from the last id seen
        last = seen[-1].event_id

    assert [i.event_id for i in seen] == [i.event_id for i in reference]
    assert [i.event.event for i in seen] == [i.event.event for i in reference]
    ids = [i.event_id for i in reference]
    assert len(set(ids)) == len(ids)  # no repeats


async def test_events_carry_the_publish_and_honour_the_filters(world: World) -> None:
    account = await world.instagram_account()
    tiktok = await world.tiktok_account()
    ig = await world.publish(await world.instagram_request(2, account))
    tt = await world.publish(await world.tiktok_request(2, tiktok))
    first_id = eid(world, (await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1))[0])

    async def collect(where: EventFilter, asked: EventFilter | None = None) -> list[StreamItem]:
        expected = len(await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000, where))
        stream = world.services.events.watch(world.workspace, first_id, asked or where)
        items = await take(stream, expected - 1) if expected > 1 else []
        await stream.aclose()
        return items

    only_tiktok = await collect(EventFilter(platform=Platform.TIKTOK))
    assert only_tiktok and {i.publish.id for i in only_tiktok} == {tt.id}
    # An account id in capitals is the same id (as uuidgen prints it on macOS).
    by_account = await collect(EventFilter(account_id=account.id), EventFilter(account_id=account.id.upper()))
    assert by_account and {i.event.publish_id for i in by_account} == {ig.id}
    published = await collect(EventFilter(states=frozenset({PublishState.PUBLISHED})))
    assert {i.event.event.state for i in published} == {PublishState.PUBLISHED}
    assert all(i.publish.workspace_id == world.workspace for i in only_tiktok)


async def test_another_workspace_sees_nothing_and_cannot_resume_from_its_ids(world: World) -> None:
    await world.publish(await world.instagram_request(2))
    some_id = eid(world, (await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1))[0])
    assert await world.store.publishes.workspace_events("other", EventPosition(0, 0), 100) == []
    with pytest.raises(OutOfRange):
        await world.services.events.start_position("other", some_id)


@pytest.mark.parametrize("bad", ["nope", "evt_123", "evt_" + "g" * 32, "EVT_" + "0" * 32])
async def test_a_malformed_event_id_is_invalid_naming_the_field(world: World, bad: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.services.events.start_position(world.workspace, bad)
    assert caught.value.field_violations[0].field == "after_event_id"


async def test_an_event_id_older_than_the_retention_window_is_out_of_range(world: World) -> None:
    await world.publish(await world.instagram_request(2))
    first = (await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1))[0]
    assert await world.services.events.start_position(world.workspace, eid(world, first)) == first.position
    world.clock.advance(timedelta(days=7, seconds=1).total_seconds())
    with pytest.raises(OutOfRange) as caught:
        await world.services.events.start_position(world.workspace, eid(world, first))
    assert caught.value.reason == "EVENT_ID_EXPIRED"
    assert caught.value.metadata["retention_days"] == "7"
    with pytest.raises(OutOfRange):  # never issued
        await world.services.events.start_position(world.workspace, EventPosition(0, 10**9).token())


async def test_a_consumer_that_stops_reading_is_ended_with_where_to_resume(world: World) -> None:
    events = WorkspaceEvents(
        world.store.publishes, world.services.subjects, world.services.publish_log, world.store.event_ids, world.clock,
        StreamPolicy(buffer=3, stall=0.05),
    )
    account = await world.instagram_account()
    start = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1)
    assert start == []
    stream = await events.open(world.workspace, "", EventFilter())  # its position taken now
    first = asyncio.ensure_future(stream.__anext__())
    await world.publish(await world.instagram_request(3, account))  # far more than 3 events
    got = [await first]
    got.append(await stream.__anext__())  # a reading consumer is never ended: the buffer waits
    # This consumer now stops reading: the full buffer waits `stall` (real) seconds for it.
    backlog = events.policy.buffer
    with pytest.raises(ResourceExhausted) as caught:
        await asyncio.wait_for(_idle_then_read(stream, got), 10)
    assert len(got) == 2, f"the {backlog} buffered events were dropped, not given"
    assert caught.value.reason == "CONSUMER_TOO_SLOW"
    last = caught.value.metadata["last_event_id"]
    assert last == got[-1].event_id
    # Resuming from it gives the rest, none missed, none repeated.
    total = await total_events(world)
    resumed = events.watch(world.workspace, last, EventFilter())
    rest = await take(resumed, total - len(got))
    await resumed.aclose()
    everything = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
    assert [i.event_id for i in got + rest] == [eid(world, e) for e in everything]


async def _idle_then_read(stream: AsyncIterator[StreamItem], got: list[StreamItem]) -> None:
    # The consumer is busy elsewhere until the stream's reader has waited out the stall and
    # given up on it (a fixed sleep could end first on a loaded machine).
    [reader] = [t for t in asyncio.all_tasks() if t.get_name().startswith("watch-")]
    await reader
    async for item in stream:
        got.append(item)


async def test_a_malformed_account_filter_is_invalid_naming_the_field(world: World) -> None:
    stream = world.services.events.watch(world.workspace, "", EventFilter(account_id="not-an-id"))
    with pytest.raises(InvalidArgument) as caught:
        await stream.__anext__()
    assert [v.field for v in caught.value.field_violations] == ["account_id"]


async def test_a_refused_start_leaves_no_listener_behind(world: World) -> None:
    await world.publish(await world.instagram_request(2))
    first = (await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1))[0]
    world.clock.advance(timedelta(days=8).total_seconds())
    listeners = len(world.services.publish_log._change_listeners)
    with pytest.raises(OutOfRange):
        await world.services.events.open(world.workspace, eid(world, first), EventFilter())
    assert len(world.services.publish_log._change_listeners) == listeners  # no stream left listening


async def test_a_backlog_longer_than_a_page_is_streamed_in_full_and_in_order(world: World) -> None:
    async def publish_events() -> list[WorkspaceEvent]:
        # A stream that names no kinds leaves out the accounts' events (their reconnects here).
        every = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
        return [e for e in every if e.account_event is None]

    while len(await publish_events()) <= PAGE + 1:
        await world.publish(await world.instagram_request(2))
    stored = await publish_events()
    stream = world.services.events.watch(world.workspace, eid(world, stored[0]), EventFilter())
    items = await take(stream, len(stored) - 1)
    await stream.aclose()
    assert [i.event_id for i in items] == [eid(world, e) for e in stored[1:]]


async def test_a_store_failing_under_a_stream_ends_it_with_the_error(world: World) -> None:
    stream = world.services.events.watch(world.workspace, "", EventFilter())
    started = asyncio.ensure_future(stream.__anext__())
    await until(lambda: world.services.publish_log._change_listeners != set())
    failure = RuntimeError("database is not open")

    async def failing(*_args: object, **_kwargs: object) -> list[object]:
        raise failure

    world.store.publishes.workspace_events = failing  # type: ignore[method-assign]
    await world.publish(await world.instagram_request(2))  # its changes wake the stream's reader
    with pytest.raises(RuntimeError) as caught:
        await started
    assert caught.value is failure
    await stream.aclose()
    assert world.services.publish_log._change_listeners == set()


def eid(world: World, event: WorkspaceEvent) -> str:
    """The id callers see for an event of the world's workspace."""
    return world.store.event_ids.token(world.workspace, event.position)
