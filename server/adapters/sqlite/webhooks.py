"""Webhooks and their deliveries (the WebhookStore port) on SQLite. Secrets are sealed with
the tokens' keys (server/adapters/crypto.py) and opened only to sign a delivery. One writer:
each call's reads and writes are one transaction on the store thread."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from server.adapters.crypto import TokenCipher
from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.rows import db_time, dumps, keyset_clause, py_time, select, select_one
from server.domain.events import EventPosition
from server.domain.pagination import Cursor
from server.domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryRules,
    DeliveryState,
    DueDelivery,
    EventKind,
    NewDelivery,
    Webhook,
    WebhookChanges,
    WebhookHealth,
    WebhookState,
    apply_changes,
    settle_attempt,
    signing_secrets,
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
        failing_since=py_time(row["failing_since"]),
        paused_until=py_time(row["paused_until"]),
        previous_secret_expires_at=py_time(row["previous_secret_expires_at"]),
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
        redelivery=bool(row["redelivery"]),
    )


class SqliteWebhookStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self._db = database
        self._cipher = cipher

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition, limit: int) -> bool:
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
        return await self._db.run(_create, row, limit)

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

    async def update(
        self, workspace_id: str, webhook_id: str, changes: WebhookChanges, cursor: EventPosition
    ) -> Webhook | None:
        row = await self._db.run(_update, workspace_id, webhook_id, changes, cursor)
        return _webhook(row) if row else None

    async def rotate_secret(
        self, workspace_id: str, webhook_id: str, secret: str, previous_expires_at: datetime
    ) -> Webhook | None:
        rows = await self._db.run(
            select,
            "UPDATE webhooks SET previous_secret_sealed = secret_sealed, secret_sealed = ?,"
            " previous_secret_expires_at = ? WHERE id = ? AND workspace_id = ? RETURNING *",
            [self._cipher.seal(secret), db_time(previous_expires_at), webhook_id, workspace_id],
        )
        return _webhook(rows[0]) if rows else None

    async def signing_secrets(self, workspace_id: str, webhook_id: str, now: datetime) -> tuple[str, ...] | None:
        rows = await self._db.run(
            select, "SELECT * FROM webhooks WHERE id = ? AND workspace_id = ?", [webhook_id, workspace_id]
        )
        return self._secrets(rows[0], now) if rows else None

    def _secrets(self, row: dict[str, Any], now: datetime) -> tuple[str, ...]:
        previous = row["previous_secret_sealed"]
        return signing_secrets(
            self._cipher.open(row["secret_sealed"]), self._cipher.open(previous) if previous else None,
            py_time(row["previous_secret_expires_at"]), now,
        )

    async def queue_position(self, webhook_id: str) -> EventPosition | None:
        rows = await self._db.run(select, "SELECT cursor_xid, cursor_id FROM webhooks WHERE id = ?", [webhook_id])
        return EventPosition(rows[0]["cursor_xid"], rows[0]["cursor_id"]) if rows else None

    async def enabled(self) -> list[tuple[Webhook, EventPosition]]:
        rows = await self._db.run(select, "SELECT * FROM webhooks WHERE state = 'ENABLED' ORDER BY created_at")
        return [(_webhook(r), EventPosition(r["cursor_xid"], r["cursor_id"])) for r in rows]

    async def advance(
        self, webhook_id: str, seen: EventPosition, to: EventPosition, deliveries: Sequence[NewDelivery],
        now: datetime,
    ) -> bool:
        return await self._db.run(_advance, webhook_id, seen, to, list(deliveries), db_time(now))

    async def redeliver(self, webhook_id: str, deliveries: Sequence[NewDelivery], now: datetime) -> list[Delivery]:
        rows = await self._db.run(_redeliver, webhook_id, list(deliveries), db_time(now))
        return [_delivery(r) for r in rows]

    async def get_delivery(self, workspace_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        rows = await self._db.run(
            select, "SELECT * FROM webhook_deliveries WHERE id = ? AND webhook_id = ? AND workspace_id = ?",
            [delivery_id, webhook_id, workspace_id],
        )
        return _delivery(rows[0]) if rows else None

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int, per_webhook: int) -> list[DueDelivery]:
        claimed = await self._db.run(_claim_due, db_time(now), db_time(hold_until), limit, per_webhook)
        return [
            DueDelivery(_delivery(d), hook["url"], self._secrets(hook, now))
            for d, hook in sorted(claimed, key=lambda c: c[0]["rowid"])
        ]

    async def record_attempt(self, delivery_id: str, attempt: Attempt, at: datetime, rules: DeliveryRules) -> None:
        await self._db.run(_record_attempt, delivery_id, attempt, at, rules)

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


def _create(db: sqlite_utils.Database, row: dict[str, Any], limit: int) -> bool:
    with atomic(db):
        count = db.conn.execute("SELECT count(*) FROM webhooks WHERE workspace_id = ?", [row["workspace_id"]])
        if count.fetchone()[0] >= limit:
            return False
        db.conn.execute(
            f"INSERT INTO webhooks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
    return True


def _delete(db: sqlite_utils.Database, workspace_id: str, webhook_id: str) -> bool:
    with atomic(db):
        gone = db.conn.execute(
            "DELETE FROM webhooks WHERE id = ? AND workspace_id = ?", [webhook_id, workspace_id]
        ).rowcount
        if gone:
            db.conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", [webhook_id])
    return bool(gone)


def _update(
    db: sqlite_utils.Database, workspace_id: str, webhook_id: str, changes: WebhookChanges, cursor: EventPosition
) -> dict[str, Any] | None:
    with atomic(db):
        row = select_one(db, "SELECT * FROM webhooks WHERE id = ? AND workspace_id = ?", [webhook_id, workspace_id])
        if row is None:
            return None
        changed = apply_changes(_webhook(row), changes)
        new = changed.webhook
        sets: dict[str, Any] = {
            "url": new.url, "event_kinds": dumps(sorted(k.value for k in new.event_kinds)),
            "description": new.description, "state": new.state.value, "disabled_reason": new.disabled_reason,
            "consecutive_failures": new.consecutive_failures, "failing_since": db_time(new.failing_since),
            "paused_until": db_time(new.paused_until),
        }
        if changed.restart_queue:
            sets.update(cursor_xid=cursor.xid, cursor_id=cursor.id)
        if changed.abandon_pending:
            _abandon_pending(db, webhook_id)
        db.conn.execute(
            f"UPDATE webhooks SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?", [*sets.values(), webhook_id]
        )
        return select_one(db, "SELECT * FROM webhooks WHERE id = ?", [webhook_id])


def _abandon_pending(db: sqlite_utils.Database, webhook_id: str) -> None:
    db.conn.execute(
        "UPDATE webhook_deliveries SET state = 'ABANDONED', next_attempt_at = NULL"
        " WHERE webhook_id = ? AND state = 'PENDING'",
        [webhook_id],
    )


def _insert_deliveries(
    db: sqlite_utils.Database, webhook_id: str, workspace_id: str, deliveries: list[NewDelivery], now: str,
    redelivery: bool,
) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in deliveries]
    db.conn.executemany(
        "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type,"
        " publish_id, body, state, next_attempt_at, created_at, redelivery)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)",
        [
            (new_id, webhook_id, workspace_id, d.event_id, d.event_type, d.publish_id, d.body, now, now,
             int(redelivery))
            for new_id, d in zip(ids, deliveries, strict=True)
        ],
    )
    return ids


def _advance(
    db: sqlite_utils.Database,
    webhook_id: str,
    seen: EventPosition,
    to: EventPosition,
    deliveries: list[NewDelivery],
    now: str,
) -> bool:
    with atomic(db):
        rows = select(
            db,
            "UPDATE webhooks SET cursor_xid = ?, cursor_id = ? WHERE id = ? AND cursor_xid = ? AND cursor_id = ?"
            " AND state = 'ENABLED' RETURNING workspace_id",
            [to.xid, to.id, webhook_id, seen.xid, seen.id],
        )
        if not rows:
            return False
        _insert_deliveries(db, webhook_id, rows[0]["workspace_id"], deliveries, now, redelivery=False)
    return True


def _redeliver(
    db: sqlite_utils.Database, webhook_id: str, deliveries: list[NewDelivery], now: str
) -> list[dict[str, Any]]:
    with atomic(db):
        hook = select_one(db, "SELECT workspace_id FROM webhooks WHERE id = ? AND state = 'ENABLED'", [webhook_id])
        if hook is None:
            return []
        ids = _insert_deliveries(db, webhook_id, hook["workspace_id"], deliveries, now, redelivery=True)
        rows = select(db, f"SELECT * FROM webhook_deliveries WHERE id IN ({','.join('?' * len(ids))})", ids)
    order = {delivery_id: n for n, delivery_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r["id"]])


def _claim_due(
    db: sqlite_utils.Database, now: str, hold_until: str, limit: int, per_webhook: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    claimed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with atomic(db):
        hooks = select(
            db,
            "SELECT w.*, (SELECT count(*) FROM webhook_deliveries c WHERE c.webhook_id = w.id"
            " AND c.state = 'PENDING' AND c.claimed_until > ?) AS in_flight FROM webhooks w"
            " WHERE w.state = 'ENABLED' AND (w.paused_until IS NULL OR w.paused_until <= ?) AND EXISTS"
            " (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'PENDING'"
            " AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?))"
            " ORDER BY (SELECT min(d.next_attempt_at) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
            " AND d.state = 'PENDING')",
            [now, now, now, now],
        )
        for hook in hooks:
            room = min(per_webhook - hook["in_flight"], limit - len(claimed))
            if room <= 0:
                continue
            rows = select(
                db,
                "UPDATE webhook_deliveries SET claimed_until = ? WHERE id IN (SELECT id FROM webhook_deliveries"
                " WHERE webhook_id = ? AND state = 'PENDING' AND next_attempt_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, rowid LIMIT ?)"
                " RETURNING rowid, *",
                [hold_until, hook["id"], now, now, room],
            )
            claimed.extend((row, hook) for row in rows)
    return claimed


def _record_attempt(
    db: sqlite_utils.Database, delivery_id: str, attempt: Attempt, at: datetime, rules: DeliveryRules
) -> None:
    with atomic(db):
        row = select_one(db, "SELECT * FROM webhook_deliveries WHERE id = ?", [delivery_id])
        if row is None:
            return  # the webhook was deleted meanwhile
        hook = select_one(db, "SELECT * FROM webhooks WHERE id = ?", [row["webhook_id"]])
        if hook is None:
            return
        health = WebhookHealth(
            WebhookState(hook["state"]), hook["disabled_reason"], hook["consecutive_failures"],
            py_time(hook["failing_since"]), py_time(hook["paused_until"]),
        )
        outcome = settle_attempt(health, _delivery(row), attempt, at, rules)
        db.conn.execute(
            "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?,"
            " last_status_code = ?, last_error = ?, next_attempt_at = ?, claimed_until = NULL WHERE id = ?",
            [outcome.state.value, db_time(at), attempt.status_code, attempt.error,
             db_time(outcome.next_attempt_at), delivery_id],
        )
        new = outcome.health
        db.conn.execute(
            "UPDATE webhooks SET state = ?, disabled_reason = ?, consecutive_failures = ?, failing_since = ?,"
            " paused_until = ? WHERE id = ?",
            [new.state.value, new.disabled_reason, new.consecutive_failures, db_time(new.failing_since),
             db_time(new.paused_until), hook["id"]],
        )
        if outcome.abandon_pending:
            _abandon_pending(db, hook["id"])
