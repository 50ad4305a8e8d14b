"""The coordination contracts (Locks, RateWindows, QuotaStore) and `Store.ping`: what must
hold once across every process sharing a database (server/domain/ports.py)."""

from __future__ import annotations

import asyncio
import uuid

from server.domain.ports import QuotaReading, Store
from tests.contracts.records import at


async def test_a_lock_is_held_by_one_holder_at_a_time(store: Store) -> None:
    inside: list[str] = []
    overlaps: list[bool] = []

    async def critical(name: str) -> None:
        async with store.locks.hold("token-refresh:a"):
            overlaps.append(bool(inside))
            inside.append(name)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside.remove(name)

    await asyncio.gather(*(critical(str(i)) for i in range(4)))
    assert overlaps == [False] * 4


async def test_locks_of_other_keys_do_not_wait_for_each_other(store: Store) -> None:
    async with store.locks.hold("a"):
        await asyncio.wait_for(_hold(store, "b"), timeout=5)


async def _hold(store: Store, key: str) -> None:
    async with store.locks.hold(key):
        return


async def test_a_rate_window_lets_its_limit_through_then_says_how_long_to_wait(store: Store) -> None:
    taken = [await store.rate_windows.take("init:token", 3, 60.0) for _ in range(3)]
    assert taken == [0.0, 0.0, 0.0]
    wait = await store.rate_windows.take("init:token", 3, 60.0)
    assert 0 < wait <= 60
    assert await store.rate_windows.take("init:other-token", 3, 60.0) == 0.0
    assert await store.rate_windows.take("unlimited", 0, 60.0) == 0.0


async def test_concurrent_takers_share_the_limit(store: Store) -> None:
    results = await asyncio.gather(*(store.rate_windows.take("status:t", 5, 60.0) for _ in range(8)))
    assert results.count(0.0) == 5


# Quota readings are kept per account id, a UUID (PostgreSQL stores it as one).
ACCOUNT, OTHER = str(uuid.uuid4()), str(uuid.uuid4())


async def test_a_quota_reading_is_counted_down_while_fresh_and_not_near_the_limit(store: Store) -> None:
    assert await store.quotas.reserve(ACCOUNT, at(0)) is None  # nothing read yet
    await store.quotas.record(ACCOUNT, QuotaReading(usage=47, total=50), at(10))
    assert await store.quotas.reserve(ACCOUNT, at(10)) is None  # read at the freshness bound: stale
    assert await store.quotas.reserve(ACCOUNT, at(5)) == QuotaReading(48, 50)
    assert await store.quotas.reserve(ACCOUNT, at(5)) == QuotaReading(49, 50)
    assert await store.quotas.reserve(ACCOUNT, at(5)) is None  # 49 + 1 reaches the total: read again
    assert await store.quotas.reserve(OTHER, at(5)) is None
    await store.quotas.record(ACCOUNT, QuotaReading(3, 50), at(20))
    assert await store.quotas.reserve(ACCOUNT, at(15)) == QuotaReading(4, 50)


async def test_concurrent_reservations_are_each_counted(store: Store) -> None:
    await store.quotas.record(ACCOUNT, QuotaReading(0, 50), at(10))
    results = await asyncio.gather(*(store.quotas.reserve(ACCOUNT, at(0)) for _ in range(10)))
    assert sorted(r.usage for r in results if r is not None) == list(range(1, 11))


async def test_a_reachable_store_answers_ping(store: Store) -> None:
    await store.ping()
    store.changes.subscribe(lambda publish_id: None)  # a store of one process may never call it
