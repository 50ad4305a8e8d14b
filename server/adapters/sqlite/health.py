"""The account_health table (the AccountHealthStore port) on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from server.adapters.health_rows import MARKERS, creator_columns, facts_of
from server.adapters.local import LocalChangeFeed
from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.publishes import append_account_event
from server.adapters.sqlite.rows import db_time, py_time, select, select_one
from server.domain.account_events import Condition
from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote
from server.domain.models import AccountState


def _stored(value: Any) -> Any:
    return db_time(value) if isinstance(value, datetime) else value


class SqliteAccountHealthStore:
    def __init__(self, database: Database, changes: LocalChangeFeed) -> None:
        self._db = database
        self._changes = changes

    async def facts(self, account_ids: Sequence[str]) -> dict[str, HealthFacts]:
        if not account_ids:
            return {}
        marks = ",".join("?" * len(account_ids))
        rows = await self._db.read(select, f"SELECT * FROM account_health WHERE account_id IN ({marks})",
                                   list(account_ids))
        return {row["account_id"]: facts_of(row, py_time) for row in rows}

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[tuple[str, str]]:
        return await self._db.run(_claim_due, db_time(now), db_time(hold_until), limit)

    async def record_check(
        self, account_id: str, checked_at: datetime, next_check_at: datetime, creator: CreatorStatus | None
    ) -> None:
        columns: dict[str, Any] = {"checked_at": checked_at, "next_check_at": next_check_at}
        if creator is not None:
            columns.update(creator_columns(creator))
        await self._db.run(_upsert, account_id, columns)

    async def record_failure(self, account_id: str, failure: PlatformFailureNote) -> None:
        columns = {"failure_code": failure.platform_code, "failure_message": failure.message,
                   "failure_at": failure.time}
        await self._db.run(_upsert, account_id, columns)

    async def note_condition(self, account_id: str, condition: Condition) -> bool:
        """The marker compared and moved, and the event appended, in one transaction."""
        moved = await self._db.run(_note_condition, account_id, condition)
        if moved and condition.event is not None and condition.marker is not None:
            self._changes.announce(account_id)
        return moved


def _note_condition(db: sqlite_utils.Database, account_id: str, condition: Condition) -> bool:
    column = MARKERS[condition.name]
    with atomic(db):
        row = select_one(
            db,
            f"SELECT a.workspace_id, a.platform, h.{column} AS marker FROM accounts a"
            " LEFT JOIN account_health h ON h.account_id = a.id WHERE a.id = ?",
            [account_id],
        )
        if row is None or row["marker"] == condition.marker:
            return False
        _upsert(db, account_id, {column: condition.marker})
        if condition.event is not None and condition.marker is not None:
            append_account_event(db, row["workspace_id"], account_id, row["platform"], condition.event)
        return True


def _upsert(db: sqlite_utils.Database, account_id: str, columns: dict[str, Any]) -> None:
    names = list(columns)
    values = [_stored(columns[n]) for n in names]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names)
    db.conn.execute(
        f"INSERT INTO account_health (account_id, {', '.join(names)}) VALUES (?, {', '.join('?' * len(names))})"
        f" ON CONFLICT (account_id) DO UPDATE SET {updates}",
        [account_id, *values],
    )


def _claim_due(db: sqlite_utils.Database, now: str, hold_until: str, limit: int) -> list[tuple[str, str]]:
    with atomic(db):
        rows = select(
            db,
            "SELECT a.workspace_id, a.id FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id"
            " WHERE a.state = ? AND (h.next_check_at IS NULL OR h.next_check_at <= ?)"
            " ORDER BY h.next_check_at IS NOT NULL, h.next_check_at, a.id LIMIT ?",
            [AccountState.ACTIVE.value, now, limit],
        )
        for row in rows:
            _upsert(db, row["id"], {"next_check_at": hold_until})
        return [(row["workspace_id"], row["id"]) for row in rows]
