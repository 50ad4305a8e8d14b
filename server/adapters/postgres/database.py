"""PostgreSQL through asyncpg: a bounded connection pool, versioned migrations (run once, by
whichever replica starts first), the change feed (LISTEN), and the mapping of "the database
is not there" to StoreUnavailable.

asyncpg, not psycopg 3: in the same run, a write transaction cost its client about 400 us
of CPU with asyncpg and about 500-670 us with psycopg's async pool (16 and 1 concurrent);
see bench/README.md. Writes are single statements where they can be (a CTE updates the row
and appends its events): one round trip and no explicit transaction. A connection goes back
to the pool without a reset round trip unless it may hold a session lock (SessionConnection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from server.adapters.migrations import MIGRATIONS
from server.domain.errors import StoreUnavailable
from server.domain.ports import ANYTHING_CHANGED

log = logging.getLogger("distribution.store")

# The channel a trigger notifies with a publish's id whenever its revision changes, and with
# an account's id when an account event is written (it names no publish: only listeners of
# every change, the event streams and webhook dispatchers, act on it).
CHANGES_CHANNEL = "distribution_publishes"
# One replica at a time applies migrations (any fixed number, shared by every replica).
_MIGRATION_LOCK = 7_283_611_904

# What asyncpg raises when the server is away, restarting or refusing connections.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        reason="STORE_UNAVAILABLE",
        message="The database cannot be reached right now; nothing was changed, try again shortly",
        metadata={"detail": type(exc).__name__},
    )


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
            decoder=json.loads, schema="pg_catalog",
        )


class SessionConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection that knows whether it may hold a session-level advisory lock, the
    one session state this service ever leaves on a pooled connection (it sets no variable,
    opens no cursor, and LISTENs on a connection of its own). Handing it back to the pool
    costs a round trip only then (`reset_session`): asyncpg's default reset sends
    pg_advisory_unlock_all, CLOSE ALL, UNLISTEN * and RESET ALL at every release, one round
    trip per checkout for nothing."""

    session_locked = False

    def may_lock(self) -> None:
        """Called before a session lock is asked for (a lock cancelled while it waited may
        still have been granted)."""
        self.session_locked = True

    def unlocked(self) -> None:
        """Its session locks were all released."""
        self.session_locked = False


async def reset_session(conn: asyncpg.Connection) -> None:
    """The pool's reset at release, after asyncpg's own (an open transaction rolled back,
    listeners dropped): releases session locks a holder may have left, else sends nothing."""
    if isinstance(conn, SessionConnection) and conn.session_locked:
        await conn.execute("SELECT pg_advisory_unlock_all()")
        conn.unlocked()


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    return lambda _connection: event.set()


class Database:
    def __init__(self, dsn: str, pool_size: int, timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._on_change: list[Callable[[str], None]] = []
        self._listen_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self.pool_size, init=_init_connection,
                command_timeout=self.timeout, timeout=self.timeout,
                connection_class=SessionConnection, reset=reset_session,
            )
            await self._migrate()
        except _UNAVAILABLE as exc:
            await self.close()
            raise unavailable(exc) from exc
        self._listen_task = asyncio.get_running_loop().create_task(self._listen(), name="pg-listen")

    async def close(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
            self._listen_task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; the database being away becomes StoreUnavailable."""
        if self._pool is None:
            raise RuntimeError("database is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise unavailable(exc) from exc

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            return await conn.fetch(sql, *args)  # type: ignore[no-any-return]

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self.connection() as conn:
            return await conn.execute(sql, *args)  # type: ignore[no-any-return]

    # --- migrations -------------------------------------------------------------------------

    async def _migrate(self) -> None:
        async with self.connection() as conn:
            # Replicas starting together: one migrates, the others wait, then find nothing to do.
            conn.may_lock()
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, why text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
                for migration in MIGRATIONS:
                    if migration.version <= current:
                        continue
                    async with conn.transaction():
                        for statement in migration.postgres:
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, why) VALUES ($1, $2)",
                            migration.version, migration.why,
                        )
                    log.info("database migrated", extra={"version": migration.version})
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
                conn.unlocked()

    async def schema_version(self) -> int:
        return int(await self.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))

    # --- the change feed --------------------------------------------------------------------

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """`listener(publish_id)` per committed change; `ANYTHING_CHANGED` after the feed was
        interrupted (see ChangeFeed)."""
        self._on_change.append(listener)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        for listener in self._on_change:
            listener(payload)

    async def _listen(self) -> None:
        """Keeps one connection LISTENing; after losing it (the database restarted), connects
        again with backoff and tells listeners that anything may have changed meanwhile."""
        delay = 0.2
        reconnecting = False
        while True:
            try:
                self._listener = await asyncpg.connect(self.dsn, timeout=self.timeout)
                await self._listener.add_listener(CHANGES_CHANNEL, self._notified)
                delay = 0.2
                if reconnecting:  # notifications sent while no one listened are gone
                    self._notified(self._listener, 0, CHANGES_CHANNEL, ANYTHING_CHANGED)
                reconnecting = True
                closed = asyncio.Event()
                self._listener.add_termination_listener(_setter(closed))
                await closed.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep listening whatever the reason; say so once per failure
                log.warning("change feed connection lost; reconnecting", extra={"error": type(exc).__name__})
            finally:
                if self._listener is not None:
                    with contextlib.suppress(Exception):
                        await self._listener.close()
                    self._listener = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
