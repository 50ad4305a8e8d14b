"""The SQLite store (the Store port): one database file, its stores over one connection owned
by the store thread, and in-process coordination (the file belongs to one process)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from server.adapters.connection_keys import CONNECTION_STATE_PURPOSE
from server.adapters.crypto import TokenCipher
from server.adapters.event_ids import EVENT_ID_PURPOSE, EventIdCipher
from server.adapters.local import LocalChangeFeed, LocalLocks, LocalQuotas, LocalRateWindows
from server.adapters.sqlite.accounts import SqliteAccountStore
from server.adapters.sqlite.connections import SqliteConnectionStore
from server.adapters.sqlite.database import Database
from server.adapters.sqlite.health import SqliteAccountHealthStore
from server.adapters.sqlite.media import SqliteMediaStore
from server.adapters.sqlite.publishes import SqlitePublishStore
from server.adapters.sqlite.webhooks import SqliteWebhookStore


class DatabaseInUse(OSError):
    """Another process has the database file open as its store."""


class StoreOpenError(Exception):
    """The database file cannot be created or opened; `reason` says why, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SqliteStore:
    def __init__(self, database: Database, cipher: TokenCipher, lock_fd: int | None = None) -> None:
        self.database = database
        self.changes = LocalChangeFeed()
        self.accounts = SqliteAccountStore(database, cipher, self.changes)
        self.media = SqliteMediaStore(database)
        self.publishes = SqlitePublishStore(database)
        self.webhooks = SqliteWebhookStore(database, cipher)
        self.event_ids = EventIdCipher(cipher.derived_keys(EVENT_ID_PURPOSE))
        self.connections = SqliteConnectionStore(database, cipher.derived_keys(CONNECTION_STATE_PURPOSE))
        self.locks = LocalLocks()
        self.rate_windows = LocalRateWindows()
        self.quotas = LocalQuotas()
        self.account_health = SqliteAccountHealthStore(database, self.changes)
        self._lock_fd = lock_fd

    @classmethod
    async def open(cls, path: Path | str, cipher: TokenCipher) -> SqliteStore:
        """Opens (creating and migrating as needed) the database at `path`. A second process
        on the same file is refused (DatabaseInUse): two would both resume its unfinished
        publishes, and the coordination here is per process. A file that cannot be created or
        opened raises StoreOpenError."""
        try:
            lock_fd = _lock(Path(path)) if str(path) != ":memory:" else None
        except DatabaseInUse:
            raise
        except OSError as exc:
            raise StoreOpenError(_reason(exc, Path(path))) from exc
        database = Database(path)
        try:
            await database.open()
            # This process alone has the file: no run of another process can hold a lease, so
            # every lease left by a previous run of it ends now and its publishes resume at once.
            await database.run(
                lambda db: db.conn.execute(
                    "UPDATE publishes SET owner = NULL, lease_until = NULL WHERE owner IS NOT NULL"
                )
            )
        except BaseException as exc:
            if lock_fd is not None:
                os.close(lock_fd)
            if isinstance(exc, (OSError, sqlite3.Error)):
                await database.close()
                raise StoreOpenError(_reason(exc, Path(path))) from exc
            raise
        return cls(database, cipher, lock_fd)

    async def ping(self) -> None:
        await self.database.run(lambda db: db.conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        await self.database.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _lock(path: Path) -> int:
    """An exclusive lock on `<path>.lock`, held while the store is open (released by the
    kernel if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUse(f"{path} is in use by another Distribution process") from None
    return fd


def _reason(exc: OSError | sqlite3.Error, path: Path) -> str:
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename and str(exc.filename) != str(path) else ""
        return f"{exc.strerror or exc}{where}"
    return f"SQLite: {exc}"
