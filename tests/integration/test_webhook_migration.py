"""Migration 8 over a database that already has webhooks and deliveries (schema version 7),
on SQLite and PostgreSQL: each delivery is kept, the stream's uniqueness per (webhook, event)
still holds, the same event can now be redelivered, and the webhook gets no failing run, no
pause and no previous secret."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import asyncpg
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.migrations import MIGRATIONS
from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.events import EventPosition
from server.domain.ports import Store
from server.domain.webhooks import DeliveryState, NewDelivery
from tests.contracts.records import T0, WORKSPACE
from tests.support.postgres import fresh_database

HOOK, DELIVERY, PUBLISH = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


async def check_migrated(store: Store, cipher: TokenCipher) -> None:
    webhook = await store.webhooks.get(WORKSPACE, HOOK)
    assert webhook is not None
    assert (webhook.failing_since, webhook.paused_until, webhook.previous_secret_expires_at) == (None, None, None)
    assert await store.webhooks.signing_secrets(WORKSPACE, HOOK, T0) == ("whsec_c2VjcmV0",)
    [(kept, _)] = await store.webhooks.list_deliveries(WORKSPACE, HOOK, 10, None)
    assert (kept.id, kept.event_id, kept.state, kept.attempts, kept.redelivery) == (
        DELIVERY, "evt_old", DeliveryState.DELIVERED, 1, False
    )
    again = NewDelivery("evt_old", "publish.updated", PUBLISH, "{}")
    assert await store.webhooks.advance(HOOK, EventPosition(0, 1), EventPosition(0, 2), [again], T0)
    assert len(await store.webhooks.list_deliveries(WORKSPACE, HOOK, 10, None)) == 1  # still once by the stream
    assert len(await store.webhooks.redeliver(HOOK, [again], T0)) == 1
    assert len(await store.webhooks.list_deliveries(WORKSPACE, HOOK, 10, None)) == 2


async def test_sqlite_webhooks_and_deliveries_survive_migration_8(tmp_path: Path) -> None:
    cipher = TokenCipher([Fernet.generate_key()])
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:7]:
        for statement in migration.sqlite:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO webhooks (id, workspace_id, url, secret_sealed, state, cursor_id, created_at)"
        " VALUES (?, ?, 'https://hooks.example.com', ?, 'ENABLED', 1, '2026-11-01T12:00:00.000000Z')",
        [HOOK, WORKSPACE, cipher.seal("whsec_c2VjcmV0")],
    )
    conn.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, publish_id, body,"
        " state, attempts, created_at) VALUES (?, ?, ?, 'evt_old', 'publish.updated', ?, '{}', 'DELIVERED', 1,"
        " '2026-11-01T12:00:00.000000Z')",
        [DELIVERY, HOOK, WORKSPACE, PUBLISH],
    )
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    store = await SqliteStore.open(path, cipher)
    try:
        await check_migrated(store, cipher)
    finally:
        await store.close()


async def test_postgres_webhooks_and_deliveries_survive_migration_8() -> None:
    cipher = TokenCipher([Fernet.generate_key()])
    async with fresh_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, why text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for migration in MIGRATIONS[:7]:
                for statement in migration.postgres:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (version, why) VALUES ($1, $2)",
                                   migration.version, migration.why)
            await conn.execute(
                "INSERT INTO webhooks (id, workspace_id, url, secret_sealed, state, cursor_id, created_at)"
                " VALUES ($1, $2, 'https://hooks.example.com', $3, 'ENABLED', 1, $4)",
                HOOK, WORKSPACE, cipher.seal("whsec_c2VjcmV0"), T0,
            )
            await conn.execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, publish_id,"
                " body, state, attempts, created_at)"
                " VALUES ($1, $2, $3, 'evt_old', 'publish.updated', $4, '{}', 'DELIVERED', 1, $5)",
                DELIVERY, HOOK, WORKSPACE, PUBLISH, T0,
            )
        finally:
            await conn.close()
        store = await PostgresStore.open(url, cipher, pool_size=2)
        try:
            await check_migrated(store, cipher)
        finally:
            await store.close()


def test_every_index_name_is_created_once_per_engine() -> None:
    # bench/history_data.py drops and rebuilds every index from these statements by name.
    for engine in ("sqlite", "postgres"):
        names = [
            found.group(1)
            for migration in MIGRATIONS for statement in getattr(migration, engine)
            if (found := re.match(r"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(\w+)", statement, re.I))
        ]
        assert len(names) == len(set(names)), engine
