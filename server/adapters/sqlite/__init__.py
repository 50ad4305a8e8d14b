"""SQLite store: one connection on a thread of its own, group commit, WAL, versioned migrations."""

from server.adapters.sqlite.store import SqliteStore, StoreOpenError

__all__ = ["SqliteStore", "StoreOpenError"]
