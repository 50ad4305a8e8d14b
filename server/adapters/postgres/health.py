"""The account_health table (the AccountHealthStore port) on PostgreSQL: every replica
shares it, and a due check is claimed by one of them (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.adapters.health_rows import MARKERS, creator_columns, facts_of
from server.adapters.postgres.database import Database
from server.adapters.postgres.publishes import VALUES, account_event_from
from server.adapters.publish_rows import account_event_columns
from server.domain.account_events import Condition
from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote
from server.domain.models import AccountState


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


class PostgresAccountHealthStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def facts(self, account_ids: Sequence[str]) -> dict[str, HealthFacts]:
        if not account_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT * FROM account_health WHERE account_id = ANY($1::uuid[])", list(account_ids)
        )
        return {str(row["account_id"]): facts_of(row, _time) for row in rows}

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[tuple[str, str]]:
        # Accounts never checked have no row yet: rows are made for them first (a no-op for
        # those that have one), then the due rows are claimed, skipping rows another replica
        # is claiming at this moment.
        await self._db.execute(
            "INSERT INTO account_health (account_id) SELECT a.id FROM accounts a"
            " LEFT JOIN account_health h ON h.account_id = a.id WHERE a.state = $1 AND h.account_id IS NULL"
            " ON CONFLICT (account_id) DO NOTHING",
            AccountState.ACTIVE.value,
        )
        rows = await self._db.fetch(
            "WITH due AS (SELECT h.account_id, h.next_check_at FROM account_health h"
            " JOIN accounts a ON a.id = h.account_id"
            " WHERE a.state = $1 AND (h.next_check_at IS NULL OR h.next_check_at <= $2)"
            " ORDER BY h.next_check_at NULLS FIRST, h.account_id LIMIT $4 FOR UPDATE OF h SKIP LOCKED),"
            " claimed AS (UPDATE account_health h SET next_check_at = $3 FROM due"
            " WHERE h.account_id = due.account_id RETURNING h.account_id, due.next_check_at)"
            " SELECT a.workspace_id, a.id, claimed.next_check_at FROM claimed"
            " JOIN accounts a ON a.id = claimed.account_id"
            " ORDER BY claimed.next_check_at NULLS FIRST, a.id",
            AccountState.ACTIVE.value, now, hold_until, limit,
        )
        return [(row["workspace_id"], str(row["id"])) for row in rows]

    async def record_check(
        self, account_id: str, checked_at: datetime, next_check_at: datetime, creator: CreatorStatus | None
    ) -> None:
        columns: dict[str, Any] = {"checked_at": checked_at, "next_check_at": next_check_at}
        if creator is not None:
            columns.update(creator_columns(creator))
        await self._upsert(account_id, columns)

    async def record_failure(self, account_id: str, failure: PlatformFailureNote) -> None:
        await self._upsert(account_id, {"failure_code": failure.platform_code, "failure_message": failure.message,
                                        "failure_at": failure.time})

    async def note_condition(self, account_id: str, condition: Condition) -> bool:
        """One statement: the marker is moved only if it differs (a replica racing on the
        same condition waits for the row, then finds it moved and writes nothing), and the
        event is appended only where it moved."""
        column = MARKERS[condition.name]
        event = condition.event if condition.marker is not None else None
        sql = (
            "WITH cur AS (SELECT id, workspace_id, platform FROM accounts WHERE id = $1),"
            # No row and no marker: nothing to note (the stores agree on what "moved" means).
            f" moved AS (INSERT INTO account_health (account_id, {column}) SELECT id, $2 FROM cur"
            " WHERE $2::text IS NOT NULL OR EXISTS (SELECT 1 FROM account_health h WHERE h.account_id = cur.id)"
            f" ON CONFLICT (account_id) DO UPDATE SET {column} = EXCLUDED.{column}"
            f" WHERE account_health.{column} IS DISTINCT FROM EXCLUDED.{column} RETURNING account_id),"
            " upd AS (SELECT cur.* FROM cur JOIN moved ON moved.account_id = cur.id)"
        )
        params: list[Any] = [account_id, condition.marker]
        if event is not None:
            sql += f", ev AS ({account_event_from(3)} RETURNING 1)"
            params.extend(account_event_columns(event, VALUES))
        count = await self._db.fetchval(sql + " SELECT count(*) FROM upd", *params)
        return bool(count)

    async def _upsert(self, account_id: str, columns: dict[str, Any]) -> None:
        names = list(columns)
        marks = ", ".join(f"${i + 2}" for i in range(len(names)))
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
        await self._db.execute(
            f"INSERT INTO account_health (account_id, {', '.join(names)}) VALUES ($1, {marks})"
            f" ON CONFLICT (account_id) DO UPDATE SET {updates}",
            account_id, *(columns[n] for n in names),
        )
