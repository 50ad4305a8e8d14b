"""`python -m bench.counted_server OUT.json`: runs the service (`python -m server`, same
environment) with every statement it sends to its database counted: the round trips of its
asyncpg connections on PostgreSQL, the statements its SQLite connection runs. The service's
code is untouched; this only launches it.

A PostgreSQL round trip is a statement sent and its answer awaited: each execute / fetch /
fetchrow / fetchval / executemany / COPY, plus a Parse when a statement is not in the
connection's statement cache yet. They are counted by kind: the service's statements,
transaction control (BEGIN / COMMIT / ROLLBACK) and a pool reset of a connection handed back
(asyncpg's default reset query, if a pool sends it). A SQLite statement is one the library
runs (sqlite3's trace callback: every statement, BEGIN and COMMIT included), by the same
kinds. On SIGUSR1 a thread writes the counts so far to OUT.json as {"seq": n, "counts":
{...}}, atomically; `read_counts` sends the signal and waits for them.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COUNTS: collections.Counter[str] = collections.Counter()
_TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SAVEPOINT", "RELEASE")


def _kind(conn: Any, query: str) -> str:
    head = query.lstrip()[:20].upper()
    if head.startswith(_TRANSACTION):
        return "transaction control"
    if query == conn.get_reset_query():
        return "pool reset"
    return "statements"


def _counting(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS[_kind(self, query) if isinstance(query, str) else "statements"] += 1
        return await method(self, query, *args, **kwargs)

    return counted


def _counting_prepares(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        record_class = kwargs.get("record_class") or self._protocol.get_record_class()
        key = (query, record_class, kwargs.get("ignore_custom_codec", False))
        if not kwargs.get("use_cache", True) or self._stmt_cache.get(key, promote=False) is None:
            COUNTS["prepare (statement not cached)"] += 1
        return await method(self, query, *args, **kwargs)

    return counted


def _count_sqlite() -> None:
    """Every SQLite connection the service opens reports each statement it runs."""
    import sqlite3  # noqa: PLC0415

    connect = sqlite3.connect

    def counted_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)

        def trace(sql: str) -> None:
            kind = "transaction control" if sql.lstrip()[:20].upper().startswith(_TRANSACTION) else "statements"
            COUNTS[f"SQLite {kind}"] += 1

        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = counted_connect  # type: ignore[assignment]


def _instrument() -> None:
    from asyncpg.connection import Connection  # noqa: PLC0415

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany"):
        setattr(Connection, name, _counting(getattr(Connection, name)))
    Connection.copy_records_to_table = _counting(Connection.copy_records_to_table)
    Connection._get_statement = _counting_prepares(Connection._get_statement)


def _dump_on_signal(out: Path) -> None:
    seq = 0
    while True:
        signal.sigwait({signal.SIGUSR1})
        seq += 1
        while True:
            try:
                counts = dict(COUNTS)
                break
            except RuntimeError:  # changed while copied: the loop thread counted meanwhile
                continue
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": seq, "counts": counts}))
        os.replace(tmp, out)


def read_counts(pid: int, out: Path, timeout: float = 10.0) -> dict[str, int]:
    """Asks the counted service `pid` for its counts (SIGUSR1) and returns them once written."""
    before = json.loads(out.read_text())["seq"] if out.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            data = json.loads(out.read_text())
            if data["seq"] > before:
                return dict(data["counts"])
        time.sleep(0.02)
    raise subprocess.TimeoutExpired(f"counted server {pid}", timeout)


def main() -> None:
    out = Path(sys.argv.pop(1))
    # Blocked here, SIGUSR1 stays blocked in every thread started later (the service's too),
    # so only the sigwait below receives it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    threading.Thread(target=_dump_on_signal, args=(out,), name="round-trip-counts", daemon=True).start()
    _instrument()
    _count_sqlite()
    sys.argv[0] = "server"
    runpy.run_module("server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
