"""Bulk loading of publish history into SQLite, for benchmarks only (bench/history_data.py):
not a port, and nothing in the service calls it.

`insert_batch` writes rows with executemany in one transaction, on a plain sqlite3
connection the loader opened for itself (with its own bulk-load pragmas). Rows are in the
column order of PUBLISH_COLUMNS and EVENT_COLUMNS; times are the store's ISO-8601 UTC strings
and lists and objects JSON text, as the service writes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

PUBLISH_COLUMNS = (
    "id", "workspace_id", "platform", "kind", "account_id", "media_ids", "caption", "options", "state",
    "request_id", "request_fingerprint", "child_container_ids", "container_id", "ig_media_id", "permalink",
    "tiktok_publish_id", "tiktok_post_id", "error", "pending_facts", "reconcile_at", "reconcile_attempts",
    "created_at", "updated_at", "published_at",
)
EVENT_COLUMNS = ("publish_id", "time", "type", "state", "message", "details")


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


PUBLISH_SQL = _insert("publishes", PUBLISH_COLUMNS)
EVENT_SQL = _insert("publish_events", EVENT_COLUMNS)


def insert_batch(conn: sqlite3.Connection, publishes: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]]) -> None:
    """One batch of publish rows and their events, in one transaction (autocommit connection)."""
    conn.execute("BEGIN")
    try:
        conn.executemany(PUBLISH_SQL, publishes)
        conn.executemany(EVENT_SQL, events)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
