"""The SQLite store (the Store port): one database file, its three stores over one
connection owned by the store thread."""

from __future__ import annotations

from pathlib import Path

from server.adapters.crypto import TokenCipher
from server.adapters.sqlite.accounts import SqliteAccountStore
from server.adapters.sqlite.database import Database
from server.adapters.sqlite.media import SqliteMediaStore
from server.adapters.sqlite.publishes import SqlitePublishStore


class SqliteStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self.database = database
        self.accounts = SqliteAccountStore(database, cipher)
        self.media = SqliteMediaStore(database)
        self.publishes = SqlitePublishStore(database)

    @classmethod
    async def open(cls, path: Path | str, cipher: TokenCipher) -> SqliteStore:
        """Opens (creating and migrating as needed) the database at `path`."""
        database = Database(path)
        await database.open()
        return cls(database, cipher)

    async def close(self) -> None:
        await self.database.close()
