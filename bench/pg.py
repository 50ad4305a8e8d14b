"""PostgreSQL for the benchmark cases: a fresh database per run (created, then dropped with
its connections), whether a server answers at all, and what the server itself can tell about
the load (the backends serving a database and their CPU time from /proc, committed
transactions from pg_stat_database, the server's own background processes).

The server is the machine's at 127.0.0.1:5432 (trust authentication, database `test`), or
DISTRIBUTION_TEST_POSTGRES, as for the tests (tests/support/postgres.py). Where none answers,
the PostgreSQL cases report one line saying so instead of running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator

import asyncpg

from bench.harness import cpu_seconds
from tests.support.postgres import ADMIN_URL

SKIP_NOTE = (
    f"skipped: no PostgreSQL answers at {ADMIN_URL} (start one, or set DISTRIBUTION_TEST_POSTGRES to a "
    "server where the benchmark may create databases)"
)


def url_for(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _run(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """One statement on a connection of its own (the harness is synchronous)."""
    return asyncio.run(_run(url, sql, *args))


def available() -> bool:
    try:
        query(ADMIN_URL, "SELECT 1")
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    return True


@contextlib.contextmanager
def fresh_database(prefix: str = "distribution_bench") -> Iterator[str]:
    """The URL of a new, empty database (the service migrates it at start), dropped at exit
    together with any connection still open to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    query(ADMIN_URL, f'CREATE DATABASE "{name}"')
    try:
        yield url_for(name)
    finally:
        query(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def backend_pids(url: str) -> list[int]:
    """The server processes serving connections to this URL's database (the pools and the
    change-feed listeners of every replica), less the one asking."""
    rows = query(url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                      " AND pid != pg_backend_pid()")
    return sorted(r["pid"] for r in rows)


def xact_commit(url: str) -> int:
    """Transactions committed in this database so far (pg_stat_database). Backends report
    their counts when idle, at most about once a second: read it once the load has stopped
    (see `settled_xact_commit`)."""
    rows = query(url, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    return int(rows[0]["xact_commit"])


def settled_xact_commit(url: str, timeout: float = 10.0) -> int:
    """xact_commit once the backends have flushed what they ran: polls until the figure moves
    by no more than a background loop's few transactions within 1.5 s (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    last, since = xact_commit(url), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = xact_commit(url)
        if now - last > 5:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.5:
            return now
    return xact_commit(url)


def server_background_pids() -> dict[str, int]:
    """The PostgreSQL server's own processes (WAL writer, checkpointer, ...), by type. They
    serve every database on the server, so their CPU includes any other client's load."""
    rows = query(ADMIN_URL, "SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type != 'client backend'")
    return {f"{r['backend_type']} ({r['pid']})": int(r["pid"]) for r in rows}


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each process still alive."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            out[pid] = cpu_seconds(pid)
    return out
