"""Coordination for a store that one process owns (SQLite): locks, rate windows, quota
readings and the change feed, kept in that process's memory. Correct because no other
process shares the database (the SQLite store refuses a second one)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

from server.domain.health import QuotaStatus
from server.domain.ports import QuotaReading


class LocalLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(key, asyncio.Lock()):
            yield


class LocalRateWindows:
    """Sliding windows of the times calls were let through, per key."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._sent: dict[str, collections.deque[float]] = {}
        self._monotonic = monotonic

    async def take(self, key: str, limit: int, window: float) -> float:
        if limit <= 0:
            return 0.0
        now = self._monotonic()
        sent = self._sent.setdefault(key, collections.deque())
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) < limit:
            sent.append(now)
            return 0.0
        return sent[0] + window - now


class LocalQuotas:
    def __init__(self) -> None:
        self._readings: dict[str, tuple[QuotaReading, datetime]] = {}

    async def reserve(self, account_id: str, fresh_since: datetime) -> QuotaReading | None:
        kept = self._readings.get(account_id)
        if kept is None:
            return None
        reading, read_at = kept
        if read_at <= fresh_since or reading.usage + 1 >= reading.total:
            return None
        counted = QuotaReading(reading.usage + 1, reading.total)
        self._readings[account_id] = (counted, read_at)
        return counted

    async def record(self, account_id: str, reading: QuotaReading, read_at: datetime) -> None:
        self._readings[account_id] = (reading, read_at)

    async def latest(self, account_ids: Sequence[str]) -> dict[str, QuotaStatus]:
        kept = ((account_id, self._readings.get(account_id)) for account_id in account_ids)
        return {
            account_id: QuotaStatus(reading.usage, reading.total, read_at)
            for account_id, (reading, read_at) in ((a, k) for a, k in kept if k is not None)
        }


class LocalChangeFeed:
    """One process sees its own publish changes directly (the publish log announces them);
    what its stores write besides, an account event, they announce here, as PostgreSQL's
    change channel does for every replica."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def announce(self, changed_id: str) -> None:
        """An account event was committed (on the event loop, after its write)."""
        for listener in self._listeners:
            listener(changed_id)
