"""The SQLite database: one connection owned by one thread, versioned migrations, WAL.

Every query runs on the store's single worker thread (`Database.run`), so the event
loop never blocks on SQLite and the connection is never shared between threads.
Writes are small and serialised by that thread; WAL lets them commit without
blocking each other's readers.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, ParamSpec, TypeVar

import sqlite_utils

from server.store.migrations import MIGRATIONS

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite_utils.Database | None = None

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_sync)

    def _open_sync(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 5000")
        db.enable_wal()
        # NORMAL is corruption-safe under WAL and loses nothing on a process crash.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
        self._db = db

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Runs fn(db, *args, **kwargs) on the store thread and returns its result."""
        if self._db is None:
            raise RuntimeError("database is not open")
        call = functools.partial(fn, self._db, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> None:
    """Applies every migration newer than the file's user_version, each in one transaction."""
    current = schema_version(db)
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        with db.atomic():
            for sql in statements:
                db.conn.execute(sql)
            db.conn.execute(f"PRAGMA user_version = {int(version)}")
