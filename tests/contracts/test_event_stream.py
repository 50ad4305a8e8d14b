"""The workspace event stream's contract (PublishStore.workspace_events, event_time,
last_position): one order, never seen out of order by a reader, even while writers commit
concurrently (on PostgreSQL: from two replicas' connection pools)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from server.adapters.postgres import PostgresStore
from server.domain.events import START, EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import Platform, PublishState
from server.domain.ports import Store
from tests.contracts.records import OTHER_WORKSPACE, WORKSPACE, account_in, change, created, event, in_state


@asynccontextmanager
async def second_replica(store: Store) -> AsyncIterator[Store]:
    """Another replica's store on the same database (PostgreSQL), else the same store (one
    process owns a SQLite file or a fake)."""
    if isinstance(store, PostgresStore):
        # Replicas share the sealing keys.
        other = await PostgresStore.open(store.database.dsn, store.accounts._cipher, pool_size=4)
        try:
            yield other
        finally:
            await other.close()
    else:
        yield store


async def everything(
    store: Store, workspace: str = WORKSPACE, where: EventFilter | None = None
) -> list[WorkspaceEvent]:
    return await store.publishes.workspace_events(workspace, START, 10_000, where)


async def settled(store: Store, count: int, workspace: str = WORKSPACE) -> None:
    """Waits until `count` events of the workspace are settled. On PostgreSQL an event is read
    once every older transaction of the whole cluster has ended: another database's long
    transaction (a benchmark's bulk load, say) holds it back for that long."""
    for _ in range(1200):
        if len(await store.publishes.workspace_events(workspace, START, 10_000)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} events settled within a minute")


async def test_events_come_in_one_order_with_ids_opaque_per_workspace(store: Store) -> None:
    assert await store.publishes.last_position() == START
    account = await account_in(store)
    first = await created(store, account)
    second = await created(store, account)
    await in_state(store, first, PublishState.PUBLISHED)
    await store.publishes.apply(second.id, change(), [event("NOTE")])
    await settled(store, 4)
    found = await everything(store)
    assert [(e.publish_id, e.event.type) for e in found] == [
        (first.id, "CREATED"), (second.id, "CREATED"), (first.id, "PUBLISHED"), (second.id, "NOTE"),
    ]
    ids = [store.event_ids.token(WORKSPACE, e.position) for e in found]
    assert len(set(ids)) == len(ids)
    assert [e.position for e in found] == sorted(e.position for e in found)
    assert all(store.event_ids.parse(WORKSPACE, i) == e.position for i, e in zip(ids, found, strict=True))
    assert [e.event.sequence for e in found] == [1, 1, 2, 2]  # each publish's timeline counted alone
    assert [e.sequence for e in await store.publishes.events(first.id)] == [1, 2]
    assert [e.sequence for e in await store.publishes.events(first.id, after=found[0].event.id or 0)] == [2]
    assert await store.publishes.last_position() == found[-1].position
    # Resuming after any event gives exactly the rest.
    for index, seen in enumerate(found):
        assert await store.publishes.workspace_events(WORKSPACE, seen.position, 100) == found[index + 1:]
    assert await store.publishes.workspace_events(WORKSPACE, START, 2) == found[:2]


async def test_the_stream_is_the_workspace_s_and_filters_combine(store: Store) -> None:
    instagram = await account_in(store)
    tiktok = await account_in(store, platform=Platform.TIKTOK, external_account_id="open-id")
    foreign = await account_in(store, workspace_id=OTHER_WORKSPACE, external_account_id="17841400000000099")
    ig = await in_state(store, await created(store, instagram), PublishState.PUBLISHED)
    tt = await in_state(store, await created(store, tiktok), PublishState.FAILED)
    await created(store, foreign)
    await settled(store, 4)
    await settled(store, 1, OTHER_WORKSPACE)
    assert {e.publish_id for e in await everything(store)} == {ig.id, tt.id}
    assert [e.event.type for e in await everything(store, OTHER_WORKSPACE)] == ["CREATED"]
    only_tiktok = await everything(store, where=EventFilter(platform=Platform.TIKTOK))
    assert {e.publish_id for e in only_tiktok} == {tt.id}
    by_account = await everything(store, where=EventFilter(account_id=instagram.id))
    assert {e.publish_id for e in by_account} == {ig.id} and by_account[0].platform == Platform.INSTAGRAM
    ended = await everything(store, where=EventFilter(states=frozenset({PublishState.PUBLISHED, PublishState.FAILED})))
    assert [(e.publish_id, e.event.state) for e in ended] == [
        (ig.id, PublishState.PUBLISHED), (tt.id, PublishState.FAILED)
    ]
    assert await everything(store, where=EventFilter(account_id=tiktok.id, platform=Platform.INSTAGRAM)) == []


async def test_event_time_names_only_an_event_of_the_workspace(store: Store) -> None:
    account = await account_in(store)
    await created(store, account)
    await settled(store, 1)
    first = (await everything(store))[0]
    assert await store.publishes.event_time(WORKSPACE, first.position) == first.event.time
    assert await store.publishes.event_time(OTHER_WORKSPACE, first.position) is None
    assert await store.publishes.event_time(WORKSPACE, EventPosition(first.position.xid, 10**12)) is None


async def test_a_reader_following_concurrent_writers_misses_and_repeats_nothing(store: Store) -> None:
    """Writers on two replicas commit concurrently while a reader keeps reading after the
    last position it saw: what it collects is exactly the final stream, in order."""
    async with second_replica(store) as other:
        account = await account_in(store)
        publishes = [await created(store, account) for _ in range(8)]
        rng = random.Random(11)
        done = asyncio.Event()

        async def write(on: Store, publish_id: str, count: int) -> None:
            for n in range(count):
                await on.publishes.apply(publish_id, change(), [event(f"STEP_{n}")])
                if rng.random() < 0.3:
                    await asyncio.sleep(0)

        collected: list[WorkspaceEvent] = []

        async def read() -> None:
            position = START
            while True:
                finished = done.is_set()
                batch = await store.publishes.workspace_events(WORKSPACE, position, rng.randint(1, 20))
                collected.extend(batch)
                if batch:
                    position = batch[-1].position
                elif finished:
                    return
                else:
                    await asyncio.sleep(0.001)

        reader = asyncio.create_task(read())
        await asyncio.gather(*(
            write(store if n % 2 else other, p.id, 15) for n, p in enumerate(publishes)
        ))
        await settled(store, 8 + 8 * 15)
        done.set()
        await asyncio.wait_for(reader, 30)
        final = await everything(store)
        assert len(final) == 8 + 8 * 15
        assert [e.position for e in collected] == [e.position for e in final]


async def test_an_event_committed_late_is_never_passed_over(store: Store) -> None:
    """PostgreSQL: a transaction takes event id N, another takes N+1 and commits first. A
    reader ordering by id alone would return N+1, move past it, and never see N. Here N+1
    waits until N's transaction ends, then both come, N first."""
    if not isinstance(store, PostgresStore):
        pytest.skip("one writer (SQLite, the fake): ids are handed out in commit order")
    account = await account_in(store)
    slow, fast = await created(store, account), await created(store, account)
    await settled(store, 2)
    seen = (await everything(store))[-1].position
    async with store.database.connection() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "INSERT INTO publish_events (publish_id, time, type, message) VALUES ($1, now(), 'SLOW', 'late')",
            uuid.UUID(slow.id),
        )
        await store.publishes.apply(fast.id, change(), [event("FAST")])  # takes the next id, commits first
        assert await store.publishes.workspace_events(WORKSPACE, seen, 10) == []
        await transaction.commit()
    await settled(store, 4)
    after = await store.publishes.workspace_events(WORKSPACE, seen, 10)
    assert [e.event.type for e in after] == ["SLOW", "FAST"]
    assert after[0].event.id is not None and after[1].event.id is not None
    assert after[0].event.id < after[1].event.id
