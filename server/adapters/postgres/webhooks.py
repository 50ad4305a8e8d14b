"""Webhooks and their deliveries (the WebhookStore port) on PostgreSQL, shared by replicas:
a webhook's queue position moves by compare-and-set (one replica queues each event), due
deliveries are claimed under the webhook's row lock (FOR UPDATE SKIP LOCKED: one replica
claims for a webhook at a time, counting every replica's claims in flight, so its pacing
holds across replicas), and each attempt's outcome is applied under the same lock."""

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
        failing_since=row["failing_since"],
        paused_until=row["paused_until"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
    )


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=str(row["id"]),
        webhook_id=str(row["webhook_id"]),
        workspace_id=row["workspace_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        publish_id=str(row["publish_id"]) if row["publish_id"] is not None else "",  # none: an account event
        body=row["body"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        redelivery=row["redelivery"],
    )


_INSERT_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, publish_id,"
    " body, state, next_attempt_at, created_at, redelivery) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $8, $9)"
)
_ABANDON_PENDING = (
    "UPDATE webhook_deliveries SET state = 'ABANDONED', next_attempt_at = NULL"
    " WHERE webhook_id = $1 AND state = 'PENDING'"
)


class PostgresWebhookStore:
    def __init__(self, database: Database, cipher: TokenCipher) -> None:
        self._db = database
        self._cipher = cipher

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition, limit: int) -> bool:
        async with self._db.connection() as conn, conn.transaction():
            # One create per workspace at a time: the count and the insert are one step.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || $1, 0))", webhook.workspace_id
            )
            count = await conn.fetchval("SELECT count(*) FROM webhooks WHERE workspace_id = $1", webhook.workspace_id)
            if count >= limit:
                return False
            await conn.execute(
                "INSERT INTO webhooks (id, workspace_id, url, event_kinds, description, secret_sealed, state,"
                " cursor_xid, cursor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                webhook.id, webhook.workspace_id, webhook.url, sorted(k.value for k in webhook.event_kinds),
                webhook.description, self._cipher.seal(secret), webhook.state.value, cursor.xid, cursor.id,
                webhook.created_at,
            )
        return True

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

    async def update(
        self, workspace_id: str, webhook_id: str, changes: WebhookChanges, cursor: EventPosition
    ) -> Webhook | None:
        async with self._db.connection() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM webhooks WHERE id = $1 AND workspace_id = $2 FOR UPDATE", webhook_id, workspace_id
            )
            if row is None:
                return None
            changed = apply_changes(_webhook(row), changes)
            new = changed.webhook
            sets: dict[str, Any] = {
                "url": new.url, "event_kinds": sorted(k.value for k in new.event_kinds),
                "description": new.description, "state": new.state.value, "disabled_reason": new.disabled_reason,
                "consecutive_failures": new.consecutive_failures, "failing_since": new.failing_since,
                "paused_until": new.paused_until,
            }
            if changed.restart_queue:
                sets.update(cursor_xid=cursor.xid, cursor_id=cursor.id)
            if changed.abandon_pending:
                await conn.execute(_ABANDON_PENDING, webhook_id)
            assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(sets, 2))
            row = await conn.fetchrow(
                f"UPDATE webhooks SET {assignments} WHERE id = $1 RETURNING *", webhook_id, *sets.values()
            )
            return _webhook(row)

    async def rotate_secret(
        self, workspace_id: str, webhook_id: str, secret: str, previous_expires_at: datetime
    ) -> Webhook | None:
        row = await self._db.fetchrow(
            "UPDATE webhooks SET previous_secret_sealed = secret_sealed, secret_sealed = $3,"
            " previous_secret_expires_at = $4 WHERE id = $1 AND workspace_id = $2 RETURNING *",
            webhook_id, workspace_id, self._cipher.seal(secret), previous_expires_at,
        )
        return _webhook(row) if row else None

    async def signing_secrets(self, workspace_id: str, webhook_id: str, now: datetime) -> tuple[str, ...] | None:
        row = await self._db.fetchrow(
            "SELECT * FROM webhooks WHERE id = $1 AND workspace_id = $2", webhook_id, workspace_id
        )
        return self._secrets(row, now) if row else None

    def _secrets(self, row: asyncpg.Record, now: datetime) -> tuple[str, ...]:
        previous = row["previous_secret_sealed"]
        return signing_secrets(
            self._cipher.open(row["secret_sealed"]), self._cipher.open(previous) if previous else None,
            row["previous_secret_expires_at"], now,
        )

    async def queue_position(self, webhook_id: str) -> EventPosition | None:
        row = await self._db.fetchrow("SELECT cursor_xid, cursor_id FROM webhooks WHERE id = $1", webhook_id)
        return EventPosition(row["cursor_xid"], row["cursor_id"]) if row else None

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
                " WHERE id = $1 AND cursor_xid = $4 AND cursor_id = $5 AND state = 'ENABLED' RETURNING workspace_id",
                webhook_id, to.xid, to.id, seen.xid, seen.id,
            )
            if workspace_id is None:
                return False
            await conn.executemany(
                _INSERT_DELIVERY + " ON CONFLICT (webhook_id, event_id) WHERE NOT redelivery DO NOTHING",
                [
                    (str(uuid.uuid4()), webhook_id, workspace_id, d.event_id, d.event_type, d.publish_id or None,
                     d.body, now, False)
                    for d in deliveries
                ],
            )
        return True

    async def redeliver(self, webhook_id: str, deliveries: Sequence[NewDelivery], now: datetime) -> list[Delivery]:
        async with self._db.connection() as conn, conn.transaction():
            # Held until the deliveries are in: a disable meanwhile waits, then ends them too.
            workspace_id = await conn.fetchval(
                "SELECT workspace_id FROM webhooks WHERE id = $1 AND state = 'ENABLED' FOR SHARE", webhook_id
            )
            if workspace_id is None:
                return []
            ids = [str(uuid.uuid4()) for _ in deliveries]
            await conn.executemany(
                _INSERT_DELIVERY,
                [
                    (new_id, webhook_id, workspace_id, d.event_id, d.event_type, d.publish_id or None, d.body, now,
                     True)
                    for new_id, d in zip(ids, deliveries, strict=True)
                ],
            )
            rows = await conn.fetch("SELECT * FROM webhook_deliveries WHERE id = ANY($1::uuid[])", ids)
        order = {delivery_id: n for n, delivery_id in enumerate(ids)}
        return sorted((_delivery(r) for r in rows), key=lambda d: order[d.id])

    async def get_delivery(self, workspace_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        row = await self._db.fetchrow(
            "SELECT * FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2 AND workspace_id = $3",
            delivery_id, webhook_id, workspace_id,
        )
        return _delivery(row) if row else None

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int, per_webhook: int) -> list[DueDelivery]:
        claimed: list[tuple[int, DueDelivery]] = []
        async with self._db.connection() as conn, conn.transaction():
            # Webhooks another replica is claiming for right now are skipped, not waited for.
            hooks = await conn.fetch(
                "SELECT w.* FROM webhooks w WHERE w.state = 'ENABLED'"
                " AND (w.paused_until IS NULL OR w.paused_until <= $1) AND EXISTS"
                " (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'PENDING'"
                " AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1))"
                " ORDER BY w.created_at LIMIT $2 FOR UPDATE OF w SKIP LOCKED",
                now, limit,
            )
            for hook in hooks:
                in_flight = await conn.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND state = 'PENDING'"
                    " AND claimed_until > $2",
                    hook["id"], now,
                )
                room = min(per_webhook - in_flight, limit - len(claimed))
                if room <= 0:
                    continue
                rows = await conn.fetch(
                    "UPDATE webhook_deliveries SET claimed_until = $4 WHERE id IN (SELECT id FROM webhook_deliveries"
                    " WHERE webhook_id = $1 AND state = 'PENDING' AND next_attempt_at <= $2"
                    " AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at, seq"
                    " LIMIT $3) RETURNING *",
                    hook["id"], now, room, hold_until,
                )
                secrets = self._secrets(hook, now)
                claimed.extend((r["seq"], DueDelivery(_delivery(r), hook["url"], secrets)) for r in rows)
        return [due for _, due in sorted(claimed, key=lambda c: c[0])]

    async def record_attempt(self, delivery_id: str, attempt: Attempt, at: datetime, rules: DeliveryRules) -> None:
        async with self._db.connection() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id)
            if row is None:
                return  # the webhook was deleted meanwhile
            hook = await conn.fetchrow("SELECT * FROM webhooks WHERE id = $1 FOR UPDATE", row["webhook_id"])
            if hook is None:
                return
            health = WebhookHealth(
                WebhookState(hook["state"]), hook["disabled_reason"], hook["consecutive_failures"],
                hook["failing_since"], hook["paused_until"],
            )
            # Read again under the webhook's lock: a disable may have ended it meanwhile.
            row = await conn.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id)
            if row is None:
                return
            outcome = settle_attempt(health, _delivery(row), attempt, at, rules)
            await conn.execute(
                "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_attempt_at = $3,"
                " last_status_code = $4, last_error = $5, next_attempt_at = $6, claimed_until = NULL WHERE id = $1",
                delivery_id, outcome.state.value, at, attempt.status_code, attempt.error, outcome.next_attempt_at,
            )
            new = outcome.health
            await conn.execute(
                "UPDATE webhooks SET state = $2, disabled_reason = $3, consecutive_failures = $4, failing_since = $5,"
                " paused_until = $6 WHERE id = $1",
                hook["id"], new.state.value, new.disabled_reason, new.consecutive_failures, new.failing_since,
                new.paused_until,
            )
            if outcome.abandon_pending:
                await conn.execute(_ABANDON_PENDING, hook["id"])

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
