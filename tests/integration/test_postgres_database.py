"""The PostgreSQL database adapter (server/adapters/postgres/database.py) on a real server:
migrated once to the latest version, calls refused before it is open, and a change feed that
survives the server dropping its connection (as on a database restart or failover)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.migrations import MIGRATIONS
from server.adapters.postgres import PostgresStore
from server.adapters.postgres.database import CHANGES_CHANNEL, Database, SessionConnection
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
                # The LISTEN done, not just begun: pg_stat_activity shows a statement from its
                # start (state 'active'), but "LISTEN takes effect at transaction commit"
                # (PostgreSQL's LISTEN page): a NOTIFY sent before then never reaches it.
                return await admin.fetchval(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%' AND state = 'idle'"
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


# --- handing connections back to the pool -------------------------------------------------------


async def test_a_connection_goes_back_to_the_pool_without_a_reset_round_trip() -> None:
    """asyncpg's default reset sends pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL
    at every release; this service leaves none of that state, so a release sends nothing."""
    async with fresh_database(migrated=True) as url:
        db = Database(url, pool_size=1)
        await db.open()
        try:
            sent: list[str] = []
            async with db.connection() as conn:
                conn.add_query_logger(lambda record: sent.append(record.query))
            for _ in range(3):
                assert await db.fetchval("SELECT 1") == 1
            assert sent == ["SELECT 1"] * 3
        finally:
            await db.close()


async def test_a_session_lock_left_by_a_cancelled_holder_is_released_with_its_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A holder cancelled while it holds the lock (its own unlock never ran) leaves no lock
    behind: handing that connection back releases its session locks."""
    async with fresh_database(migrated=True) as url:
        store = await PostgresStore.open(url, TokenCipher([Fernet.generate_key()]), pool_size=1)
        other = await asyncpg.connect(url)
        try:
            held = asyncio.Event()

            async def holder() -> None:
                async with store.locks.hold("account-1"):
                    held.set()
                    await asyncio.Event().wait()

            task = asyncio.create_task(holder())
            await held.wait()
            taken = "SELECT pg_try_advisory_lock(hashtextextended('account-1', 1))"
            assert await other.fetchval(taken) is False
            async def unlock_lost(self: asyncpg.Connection, query: str, *args: object, **kwargs: object) -> str:
                if "pg_advisory_unlock(" in query:  # the holder's own unlock is cancelled in its turn
                    raise asyncio.CancelledError
                return await asyncpg.Connection.execute(self, query, *args, **kwargs)  # type: ignore[no-any-return]

            monkeypatch.setattr(SessionConnection, "execute", unlock_lost)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert await other.fetchval(taken) is True
            await other.execute("SELECT pg_advisory_unlock_all()")
            monkeypatch.undo()
            async with store.locks.hold("account-1"):  # and the pool's one connection is usable again
                assert await other.fetchval(taken) is False
        finally:
            await other.close()
            await store.close()
