"""The PostgreSQL database adapter (server/adapters/postgres/database.py) on a real server:
migrated once to the latest version, calls refused before it is open, and a change feed that
survives the server dropping its connection (as on a database restart or failover)."""

from __future__ import annotations

import asyncpg
import pytest

from server.adapters.migrations import MIGRATIONS
from server.adapters.postgres.database import CHANGES_CHANNEL, Database
from server.domain.ports import ANYTHING_CHANGED
from tests.support.postgres import fresh_database
from tests.support.waiting import eventually

LATEST = max(m.version for m in MIGRATIONS)


async def test_a_database_not_open_refuses_calls() -> None:
    db = Database("postgresql://127.0.0.1:1/never", pool_size=1)
    with pytest.raises(RuntimeError, match="database is not open"):
        await db.fetchval("SELECT 1")
    await db.close()  # nothing opened: nothing to close


async def test_replicas_opening_one_database_find_it_migrated_once() -> None:
    async with fresh_database() as url:
        first, second = Database(url, pool_size=2), Database(url, pool_size=2)
        await first.open()
        await second.open()
        try:
            assert await first.schema_version() == LATEST
            assert await second.schema_version() == LATEST
            versions = await second.fetch("SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in versions] == sorted(m.version for m in MIGRATIONS)  # each applied once
        finally:
            await first.close()
            await second.close()


async def test_the_change_feed_listens_again_after_its_connection_is_dropped() -> None:
    async with fresh_database(migrated=True) as url:
        db = Database(url, pool_size=1)
        heard: list[str] = []
        db.subscribe(heard.append)
        await db.open()
        admin = await asyncpg.connect(url)
        try:
            async def listener_pid() -> int | None:
                return await admin.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )

            old = await eventually(listener_pid, "the change feed connection LISTENs")
            await admin.execute("SELECT pg_notify($1, 'before')", CHANGES_CHANNEL)
            await eventually(lambda: "before" in heard, "a change is heard")
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old)

            async def heard_after_drop() -> bool:
                await admin.execute("SELECT pg_notify($1, 'after')", CHANGES_CHANNEL)
                return "after" in heard

            await eventually(heard_after_drop, "a change is heard on a new connection", every=0.1)
            assert await listener_pid() not in (None, old)
            # What was sent while no one listened is lost: listeners are told anything may have changed.
            assert heard.count(ANYTHING_CHANGED) == 1
            assert heard.index(ANYTHING_CHANGED) < heard.index("after")
        finally:
            await admin.close()
            await db.close()
