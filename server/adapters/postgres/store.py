"""The PostgreSQL store (the Store port): several replicas share one database."""

from __future__ import annotations

from collections.abc import Callable

from server.adapters.connection_keys import CONNECTION_STATE_PURPOSE
from server.adapters.crypto import TokenCipher
from server.adapters.event_ids import EVENT_ID_PURPOSE, EventIdCipher
from server.adapters.postgres.accounts import PostgresAccountStore
from server.adapters.postgres.connections import PostgresConnectionStore
from server.adapters.postgres.coordination import PostgresLocks, PostgresQuotas, PostgresRateWindows
from server.adapters.postgres.database import Database
from server.adapters.postgres.health import PostgresAccountHealthStore
from server.adapters.postgres.media import PostgresMediaStore
from server.adapters.postgres.publishes import PostgresPublishStore
from server.adapters.postgres.webhooks import PostgresWebhookStore

DEFAULT_POOL_SIZE = 10


class PostgresStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self.database = database
        self.accounts = PostgresAccountStore(database, cipher)
        self.media = PostgresMediaStore(database)
        self.publishes = PostgresPublishStore(database)
        self.webhooks = PostgresWebhookStore(database, cipher)
        self.event_ids = EventIdCipher(cipher.derived_keys(EVENT_ID_PURPOSE))
        self.connections = PostgresConnectionStore(database, cipher.derived_keys(CONNECTION_STATE_PURPOSE))
        self.locks = PostgresLocks(database)
        self.rate_windows = PostgresRateWindows(database)
        self.quotas = PostgresQuotas(database)
        self.account_health = PostgresAccountHealthStore(database)
        self.changes = self

    @classmethod
    async def open(cls, dsn: str, cipher: TokenCipher, pool_size: int = DEFAULT_POOL_SIZE) -> PostgresStore:
        """Connects (a pool of at most `pool_size` connections, plus one that listens for
        changes) and brings the schema up to date. StoreUnavailable if it cannot."""
        database = Database(dsn, pool_size)
        await database.open()
        return cls(database, cipher)

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """The change feed: `listener(publish_id)` at every committed change, on any replica."""
        self.database.subscribe(listener)

    async def ping(self) -> None:
        await self.database.fetchval("SELECT 1")

    async def close(self) -> None:
        await self.database.close()
