"""Migration 13 over a database that already holds publish events (schema version 12), on
SQLite (the event table is rebuilt) and PostgreSQL: each event keeps its id, so its stream
position and every event id issued for it; SQLite's AUTOINCREMENT never hands out an id again
(even one whose row is gone); account events follow in the same order."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import asyncpg
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.migrations import MIGRATIONS
from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.events import START, EventPosition
from server.domain.ports import Store
from server.domain.webhooks import EventKind
from tests.contracts.records import T0, WORKSPACE
from tests.support.postgres import fresh_database

ACCOUNT, PUBLISH = str(uuid.uuid4()), str(uuid.uuid4())
BEFORE = 12
STAMP = "2026-11-01T12:00:00.000000Z"


async def check_migrated(store: Store, positions: list[EventPosition], highest_ever: int) -> None:
    timeline = await store.publishes.events(PUBLISH)
    assert [(e.sequence, e.type) for e in timeline] == [(1, "CREATED"), (2, "STEP")]
    before = await store.publishes.workspace_events(WORKSPACE, START, 100)
    assert [e.position for e in before] == positions
    assert [e.account_id for e in before] == [ACCOUNT, ACCOUNT]
    await store.accounts.mark_needs_reconnect(ACCOUNT)
    # On PostgreSQL an event is read once every older transaction of the cluster has ended.
    for _ in range(1200):
        if after := await store.publishes.workspace_events(WORKSPACE, positions[-1], 100):
            break
        await asyncio.sleep(0.05)
    assert [e.kind for e in after] == [EventKind.ACCOUNT_REAUTH_REQUIRED]
    assert after[0].position.id > highest_ever
    assert [e.type for e in await store.publishes.events(PUBLISH)] == ["CREATED", "STEP"]


def _sqlite_before(path: Path) -> None:
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:BEFORE]:
        for statement in migration.sqlite:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO accounts (id, workspace_id, platform, external_account_id, state, access_token_sealed,"
        " created_at, updated_at) VALUES (?, ?, 'INSTAGRAM', '17841400000000001', 'ACTIVE', 'x', ?, ?)",
        [ACCOUNT, WORKSPACE, STAMP, STAMP],
    )
    conn.execute(
        "INSERT INTO publishes (id, workspace_id, platform, kind, account_id, media_ids, state, created_at,"
        " updated_at) VALUES (?, ?, 'INSTAGRAM', 'CAROUSEL', ?, '[]', 'PROCESSING', ?, ?)",
        [PUBLISH, WORKSPACE, ACCOUNT, STAMP, STAMP],
    )
    for type_ in ("CREATED", "STEP", "GONE"):
        conn.execute(
            "INSERT INTO publish_events (publish_id, time, type, state) VALUES (?, ?, ?, NULL)",
            [PUBLISH, STAMP, type_],
        )
    conn.execute("DELETE FROM publish_events WHERE type = 'GONE'")  # its id (3) is never used again
    conn.execute(f"PRAGMA user_version = {BEFORE}")
    conn.commit()
    conn.close()


async def test_sqlite_events_keep_their_ids_through_the_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _sqlite_before(path)
    store = await SqliteStore.open(path, TokenCipher([Fernet.generate_key()]))
    try:
        await check_migrated(store, [EventPosition(0, 1), EventPosition(0, 2)], highest_ever=3)
    finally:
        await store.close()


async def test_postgres_events_keep_their_positions() -> None:
    async with fresh_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, why text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for migration in MIGRATIONS[:BEFORE]:
                for statement in migration.postgres:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (version, why) VALUES ($1, $2)",
                                   migration.version, migration.why)
            await conn.execute(
                "INSERT INTO accounts (id, workspace_id, platform, external_account_id, state, access_token_sealed,"
                " created_at, updated_at) VALUES ($1, $2, 'INSTAGRAM', '17841400000000001', 'ACTIVE', 'x', $3, $3)",
                ACCOUNT, WORKSPACE, T0,
            )
            await conn.execute(
                "INSERT INTO publishes (id, workspace_id, platform, kind, account_id, media_ids, state, created_at,"
                " updated_at) VALUES ($1, $2, 'INSTAGRAM', 'CAROUSEL', $3, '{}', 'PROCESSING', $4, $4)",
                PUBLISH, WORKSPACE, ACCOUNT, T0,
            )
            rows = [
                await conn.fetchrow(
                    "INSERT INTO publish_events (publish_id, time, type) VALUES ($1, $2, $3)"
                    " RETURNING xid::text AS xid, id",
                    PUBLISH, T0, type_,
                )
                for type_ in ("CREATED", "STEP")
            ]
        finally:
            await conn.close()
        positions = [EventPosition(int(r["xid"]), r["id"]) for r in rows if r is not None]
        store = await PostgresStore.open(url, TokenCipher([Fernet.generate_key()]), pool_size=2)
        try:
            await check_migrated(store, positions, highest_ever=positions[-1].id)
        finally:
            await store.close()
