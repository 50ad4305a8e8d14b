"""What must hold once across every replica sharing the database: named locks, shared
rate-limit windows and Instagram quota readings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from server.adapters.postgres.database import Database
from server.domain.health import QuotaStatus
from server.domain.ports import QuotaReading


class PostgresLocks:
    """Session advisory locks: the holder keeps a pooled connection until it lets go (a
    replica that dies lets go with its connection)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._db.connection() as conn:
            conn.may_lock()  # until unlocked, its release to the pool releases the lock too
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 1))", key)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 1))", key)
                conn.unlocked()


class PostgresRateWindows:
    """Sliding windows kept in a table, taken under a per-key transaction lock by one
    function call (migration 3: distribution_take_slot), on the database's clock."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def take(self, key: str, limit: int, window: float) -> float:
        if limit <= 0:
            return 0.0
        return float(await self._db.fetchval("SELECT distribution_take_slot($1, $2, $3)", key, limit, window))


class PostgresQuotas:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def reserve(self, account_id: str, fresh_since: datetime) -> QuotaReading | None:
        row = await self._db.fetchrow(
            "UPDATE instagram_quota SET usage = usage + 1 WHERE account_id = $1 AND read_at > $2"
            " AND usage + 1 < total RETURNING usage, total",
            account_id, fresh_since,
        )
        return QuotaReading(row["usage"], row["total"]) if row else None

    async def record(self, account_id: str, reading: QuotaReading, read_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO instagram_quota (account_id, usage, total, read_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (account_id) DO UPDATE SET usage = EXCLUDED.usage, total = EXCLUDED.total,"
            " read_at = EXCLUDED.read_at",
            account_id, reading.usage, reading.total, read_at,
        )

    async def latest(self, account_ids: Sequence[str]) -> dict[str, QuotaStatus]:
        if not account_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT account_id, usage, total, read_at FROM instagram_quota WHERE account_id = ANY($1::uuid[])",
            list(account_ids),
        )
        return {str(r["account_id"]): QuotaStatus(r["usage"], r["total"], r["read_at"]) for r in rows}
