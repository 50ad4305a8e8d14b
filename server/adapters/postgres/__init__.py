"""PostgreSQL store: asyncpg pool, single-statement writes, leases, LISTEN/NOTIFY change feed."""

from server.adapters.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
