"""Bulk loading of publish history into PostgreSQL, for benchmarks only (bench/history_data.py):
not a port, and nothing in the service calls it.

`prepared_for_load` drops what slows a load of millions of rows (the secondary indexes, the
foreign keys, checked row by row, and the change-feed trigger, which would queue a
notification per row) and gives them back afterwards, rebuilt in one pass each; `copy_batch`
writes rows with COPY (binary, one round trip per table). Rows are in the tables' column
order given by PUBLISH_COLUMNS and EVENT_COLUMNS.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

PUBLISH_COLUMNS = (
    "id", "workspace_id", "platform", "kind", "account_id", "media_ids", "caption", "options", "state",
    "request_id", "request_fingerprint", "child_container_ids", "container_id", "ig_media_id", "permalink",
    "tiktok_publish_id", "tiktok_post_id", "error", "created_at", "updated_at", "published_at",
)
EVENT_COLUMNS = ("publish_id", "time", "type", "state", "message", "details")
_TABLES = ("publishes", "publish_events")
_TRIGGER = "publishes_notify"


@contextlib.asynccontextmanager
async def prepared_for_load(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Within the block, publishes and publish_events have only their primary keys; at exit the
    indexes, foreign keys and trigger are back, and the tables analysed (a planner without
    statistics would plan the history queries blind)."""
    indexes = await conn.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname"
        " JOIN pg_index x ON x.indexrelid = c.oid"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[]) AND NOT x.indisprimary",
        list(_TABLES),
    )
    foreign = await conn.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid::regclass::text = ANY($1::text[])",
        list(_TABLES),
    )
    for fk in foreign:
        await conn.execute(f'ALTER TABLE {fk["tbl"]} DROP CONSTRAINT "{fk["conname"]}"')
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    await conn.execute(f"ALTER TABLE publishes DISABLE TRIGGER {_TRIGGER}")
    try:
        yield
    finally:
        await conn.execute(f"ALTER TABLE publishes ENABLE TRIGGER {_TRIGGER}")
        for index in indexes:
            await conn.execute(index["indexdef"])
        for fk in foreign:
            await conn.execute(f'ALTER TABLE {fk["tbl"]} ADD CONSTRAINT "{fk["conname"]}" {fk["def"]}')
        for table in _TABLES:
            await conn.execute(f"ANALYZE {table}")


async def copy_batch(
    conn: asyncpg.Connection, publishes: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]]
) -> None:
    """One batch of publish rows and their events, in one transaction."""
    async with conn.transaction():
        await conn.copy_records_to_table("publishes", records=publishes, columns=PUBLISH_COLUMNS)
        await conn.copy_records_to_table("publish_events", records=events, columns=EVENT_COLUMNS)
