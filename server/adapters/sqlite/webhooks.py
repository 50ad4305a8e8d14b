"""Webhooks and their deliveries (the WebhookStore port) on SQLite. Secrets are sealed with
the tokens' keys (server/adapters/crypto.py) and opened only to sign a delivery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from server.adapters.crypto import TokenCipher
from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.rows import db_time, dumps, keyset_clause, py_time, select
from server.domain.events import EventPosition
from server.domain.pagination import Cursor
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


def _webhook(row: dict[str, Any]) -> Webhook:
    return Webhook(
        id=row["id"],
        workspace_id=row["workspace_id"],
        url=row["url"],
        event_kinds=frozenset(EventKind(k) for k in json.loads(row["event_kinds"])),
        description=row["description"],
        created_at=py_time(row["created_at"]),
        state=WebhookState(row["state"]),
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
    )


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        workspace_id=row["workspace_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        publish_id=row["publish_id"],
        body=row["body"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        created_at=py_time(row["created_at"]),
        next_attempt_at=py_time(row["next_attempt_at"]),
        last_attempt_at=py_time(row["last_attempt_at"]),
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
    )


class SqliteWebhookStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self._db = database
        self._cipher = cipher

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition) -> None:
        row = {
            "id": webhook.id,
            "workspace_id": webhook.workspace_id,
            "url": webhook.url,
            "event_kinds": dumps(sorted(k.value for k in webhook.event_kinds)),
            "description": webhook.description,
            "secret_sealed": self._cipher.seal(secret),
            "state": webhook.state.value,
            "cursor_xid": cursor.xid,
            "cursor_id": cursor.id,
            "created_at": db_time(webhook.created_at),
        }
        await self._db.run(
            lambda db: db.conn.execute(
                f"INSERT INTO webhooks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
        )

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        rows = await self._db.run(
            select, "SELECT * FROM webhooks WHERE id = ? AND workspace_id = ?", [webhook_id, workspace_id]
        )
        return _webhook(rows[0]) if rows else None

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Webhook, Cursor]]:
        keyset, extra = keyset_clause(cursor)
        rows = await self._db.run(
            select,
            f"SELECT * FROM webhooks WHERE workspace_id = ?{keyset} ORDER BY created_at DESC, id DESC LIMIT ?",
            [workspace_id, *extra, limit],
        )
        return [(_webhook(r), Cursor(r["created_at"], r["id"])) for r in rows]

    async def delete(self, workspace_id: str, webhook_id: str) -> bool:
        return await self._db.run(_delete, workspace_id, webhook_id)

    async def enabled(self) -> list[tuple[Webhook, EventPosition]]:
        rows = await self._db.run(select, "SELECT * FROM webhooks WHERE state = 'ENABLED' ORDER BY created_at")
        return [(_webhook(r), EventPosition(r["cursor_xid"], r["cursor_id"])) for r in rows]

    async def advance(
        self, webhook_id: str, seen: EventPosition, to: EventPosition, deliveries: Sequence[NewDelivery],
        now: datetime,
    ) -> bool:
        return await self._db.run(_advance, webhook_id, seen, to, list(deliveries), db_time(now))

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[DueDelivery]:
        rows = await self._db.run(
            select,
            "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN (SELECT d.id FROM webhook_deliveries d"
            " JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'PENDING' AND d.next_attempt_at <= ?"
            " AND w.state = 'ENABLED' ORDER BY d.next_attempt_at LIMIT ?) RETURNING *",
            [db_time(hold_until), db_time(now), limit],
        )
        if not rows:
            return []
        ids = sorted({r["webhook_id"] for r in rows})
        hooks = await self._db.run(
            select, f"SELECT id, url, secret_sealed FROM webhooks WHERE id IN ({','.join('?' * len(ids))})", ids
        )
        by_id = {h["id"]: h for h in hooks}
        return [
            DueDelivery(_delivery(r), hook["url"], self._cipher.open(hook["secret_sealed"]))
            for r in sorted(rows, key=lambda r: (r["created_at"], r["event_id"]))
            if (hook := by_id.get(r["webhook_id"])) is not None
        ]

    async def record_attempt(
        self, delivery_id: str, attempt: Attempt, at: datetime, retry_at: datetime | None, disable_after: int
    ) -> None:
        await self._db.run(_record_attempt, delivery_id, attempt, db_time(at), db_time(retry_at), disable_after)

    async def list_deliveries(
        self, workspace_id: str, webhook_id: str, limit: int, cursor: Cursor | None
    ) -> list[tuple[Delivery, Cursor]]:
        keyset, extra = keyset_clause(cursor)
        rows = await self._db.run(
            select,
            f"SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND workspace_id = ?{keyset}"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            [webhook_id, workspace_id, *extra, limit],
        )
        return [(_delivery(r), Cursor(r["created_at"], r["id"])) for r in rows]


def _delete(db: sqlite_utils.Database, workspace_id: str, webhook_id: str) -> bool:
    with atomic(db):
        gone = db.conn.execute(
            "DELETE FROM webhooks WHERE id = ? AND workspace_id = ?", [webhook_id, workspace_id]
        ).rowcount
        if gone:
            db.conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [webhook_id])
    return bool(gone)


def _advance(
    db: sqlite_utils.Database,
    webhook_id: str,
    seen: EventPosition,
    to: EventPosition,
    deliveries: list[NewDelivery],
    now: str,
) -> bool:
    with atomic(db):
        moved = db.conn.execute(
            "UPDATE webhooks SET cursor_xid = ?, cursor_id = ? WHERE id = ? AND cursor_xid = ? AND cursor_id = ?",
            [to.xid, to.id, webhook_id, seen.xid, seen.id],
        ).rowcount
        if not moved:
            return False
        row = select(db, "SELECT workspace_id FROM webhooks WHERE id = ?", [webhook_id])[0]
        db.conn.executemany(
            "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type,"
            " publish_id, body, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?)",
            [
                (str(uuid.uuid4()), webhook_id, row["workspace_id"], d.event_id, d.event_type, d.publish_id, d.body,
                 now, now)
                for d in deliveries
            ],
        )
    return True


def _record_attempt(
    db: sqlite_utils.Database, delivery_id: str, attempt: Attempt, at: str, retry_at: str | None, disable_after: int
) -> None:
    state = (
        DeliveryState.DELIVERED if attempt.ok else DeliveryState.PENDING if retry_at else DeliveryState.FAILED
    ).value
    with atomic(db):
        rows = select(
            db,
            "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?,"
            " last_status_code = ?, last_error = ?, next_attempt_at = ? WHERE id = ? RETURNING webhook_id",
            [state, at, attempt.status_code, attempt.error, None if attempt.ok else retry_at, delivery_id],
        )
        if not rows:
            return  # the webhook was deleted meanwhile
        if attempt.ok:
            db.conn.execute("UPDATE webhooks SET consecutive_failures = 0 WHERE id = ?", [rows[0]["webhook_id"]])
            return
        db.conn.execute(
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,"
            " state = CASE WHEN consecutive_failures + 1 >= ? THEN 'DISABLED' ELSE state END,"
            " disabled_reason = CASE WHEN consecutive_failures + 1 >= ? AND state = 'ENABLED'"
            " THEN ? ELSE disabled_reason END WHERE id = ?",
            [disable_after, disable_after, disabled_reason(disable_after, attempt), rows[0]["webhook_id"]],
        )
