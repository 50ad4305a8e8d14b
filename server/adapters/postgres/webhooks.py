"""Webhooks and their deliveries (the WebhookStore port) on PostgreSQL, shared by replicas:
a webhook's queue position moves by compare-and-set (one replica queues each event), and due
deliveries are claimed with FOR UPDATE SKIP LOCKED (one replica sends each attempt)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from server.adapters.crypto import TokenCipher
from server.adapters.postgres.database import Database
from server.adapters.postgres.rows import keyset
from server.domain.events import EventPosition
from server.domain.pagination import Cursor, cursor_time
from server.domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryState,
    DueDelivery,
    EventKind,
    NewDelivery,
    Webhook,
    WebhookState,
    disabled_reason,
)


def _webhook(row: asyncpg.Record) -> Webhook:
    return Webhook(
        id=str(row["id"]),
        workspace_id=row["workspace_id"],
        url=row["url"],
        event_kinds=frozenset(EventKind(k) for k in row["event_kinds"]),
        description=row["description"],
        created_at=row["created_at"],
        state=WebhookState(row["state"]),
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
    )


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=str(row["id"]),
        webhook_id=str(row["webhook_id"]),
        workspace_id=row["workspace_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        publish_id=str(row["publish_id"]),
        body=row["body"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
    )


class PostgresWebhookStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self._db = database
        self._cipher = cipher

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition) -> None:
        await self._db.execute(
            "INSERT INTO webhooks (id, workspace_id, url, event_kinds, description, secret_sealed, state,"
            " cursor_xid, cursor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            webhook.id, webhook.workspace_id, webhook.url, sorted(k.value for k in webhook.event_kinds),
            webhook.description, self._cipher.seal(secret), webhook.state.value, cursor.xid, cursor.id,
            webhook.created_at,
        )

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        row = await self._db.fetchrow(
            "SELECT * FROM webhooks WHERE id = $1 AND workspace_id = $2", webhook_id, workspace_id
        )
        return _webhook(row) if row else None

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Webhook, Cursor]]:
        params: list[Any] = [workspace_id]
        clauses = ["workspace_id = $1", *keyset(cursor, params)]
        params.append(limit)
        rows = await self._db.fetch(
            f"SELECT * FROM webhooks WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id DESC"
            f" LIMIT ${len(params)}",
            *params,
        )
        return [(_webhook(r), Cursor(cursor_time(r["created_at"]), str(r["id"]))) for r in rows]

    async def delete(self, workspace_id: str, webhook_id: str) -> bool:
        # Its deliveries go with it (ON DELETE CASCADE).
        done = await self._db.execute(
            "DELETE FROM webhooks WHERE id = $1 AND workspace_id = $2", webhook_id, workspace_id
        )
        return done != "DELETE 0"

    async def enabled(self) -> list[tuple[Webhook, EventPosition]]:
        rows = await self._db.fetch("SELECT * FROM webhooks WHERE state = 'ENABLED' ORDER BY created_at")
        return [(_webhook(r), EventPosition(r["cursor_xid"], r["cursor_id"])) for r in rows]

    async def advance(
        self, webhook_id: str, seen: EventPosition, to: EventPosition, deliveries: Sequence[NewDelivery],
        now: datetime,
    ) -> bool:
        async with self._db.connection() as conn, conn.transaction():
            workspace_id = await conn.fetchval(
                "UPDATE webhooks SET cursor_xid = $2, cursor_id = $3"
                " WHERE id = $1 AND cursor_xid = $4 AND cursor_id = $5 RETURNING workspace_id",
                webhook_id, to.xid, to.id, seen.xid, seen.id,
            )
            if workspace_id is None:
                return False
            await conn.executemany(
                "INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, publish_id,"
                " body, state, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $8)"
                " ON CONFLICT (webhook_id, event_id) DO NOTHING",
                [
                    (str(uuid.uuid4()), webhook_id, workspace_id, d.event_id, d.event_type, d.publish_id, d.body, now)
                    for d in deliveries
                ],
            )
        return True

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[DueDelivery]:
        rows = await self._db.fetch(
            "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
            " WHERE d.state = 'PENDING' AND d.next_attempt_at <= $1 AND w.state = 'ENABLED'"
            " ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED)"
            " UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM due, webhooks w"
            " WHERE d.id = due.id AND w.id = d.webhook_id RETURNING d.*, w.url, w.secret_sealed",
            now, hold_until, limit,
        )
        return [
            DueDelivery(_delivery(r), r["url"], self._cipher.open(r["secret_sealed"]))
            for r in sorted(rows, key=lambda r: (r["created_at"], r["event_id"]))
        ]

    async def record_attempt(
        self, delivery_id: str, attempt: Attempt, at: datetime, retry_at: datetime | None, disable_after: int
    ) -> None:
        state = (
            DeliveryState.DELIVERED if attempt.ok else DeliveryState.PENDING if retry_at else DeliveryState.FAILED
        ).value
        async with self._db.connection() as conn, conn.transaction():
            webhook_id = await conn.fetchval(
                "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_attempt_at = $3,"
                " last_status_code = $4, last_error = $5, next_attempt_at = $6 WHERE id = $1 RETURNING webhook_id",
                delivery_id, state, at, attempt.status_code, attempt.error, None if attempt.ok else retry_at,
            )
            if webhook_id is None:
                return  # the webhook was deleted meanwhile
            if attempt.ok:
                await conn.execute("UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1", webhook_id)
                return
            await conn.execute(
                "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,"
                " state = CASE WHEN consecutive_failures + 1 >= $2 THEN 'DISABLED' ELSE state END,"
                " disabled_reason = CASE WHEN consecutive_failures + 1 >= $2 AND state = 'ENABLED'"
                " THEN $3 ELSE disabled_reason END WHERE id = $1",
                webhook_id, disable_after, disabled_reason(disable_after, attempt),
            )

    async def list_deliveries(
        self, workspace_id: str, webhook_id: str, limit: int, cursor: Cursor | None
    ) -> list[tuple[Delivery, Cursor]]:
        params: list[Any] = [webhook_id, workspace_id]
        clauses = ["webhook_id = $1", "workspace_id = $2", *keyset(cursor, params)]
        params.append(limit)
        rows = await self._db.fetch(
            f"SELECT * FROM webhook_deliveries WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id DESC"
            f" LIMIT ${len(params)}",
            *params,
        )
        return [(_delivery(r), Cursor(cursor_time(r["created_at"]), str(r["id"]))) for r in rows]
