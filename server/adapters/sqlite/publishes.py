"""The publish log on SQLite (the PublishStore roles): one row per publish with every
platform id, plus its timeline of events.

Every change to a publish and the events describing it are written in one transaction, so
the record and its timeline never disagree: an UPDATE (or INSERT) and one multi-row INSERT
of the events, the fewest SQLite allows (it has no writable CTE). Each store call runs on the
store thread inside its batch's transaction (database.py: group commit), so a call's read
and write are one atomic step with no other writer between them.

The record's columns, a change's columns, the history filter and why a write was refused
are the mapping both databases share (server/adapters/publish_rows.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from server.adapters.publish_rows import (
    FINISHED,
    POSTED_NOTHING,
    SCHEDULED,
    STREAM_ACCOUNT,
    STREAM_PLATFORM,
    STREAM_WORKSPACE,
    UNFINISHED,
    account_event_columns,
    allowed_states,
    change_columns,
    event_columns,
    event_from_row,
    history_clauses,
    kinds_clause,
    new_row,
    publish_from_row,
    refusal,
    sql_list,
    stream_select,
    timeline_sql,
    workspace_event_from_row,
)
from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.rows import db_time, dumps, py_time, select, select_tuples
from server.domain.changes import Lease, PublishChange, applied
from server.domain.events import START, AccountEvent, EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import LapsedLease, Publish, PublishEvent, PublishFilter, PublishVersion, utcnow
from server.domain.pagination import Cursor
from server.domain.ports import CreateConflict
from server.domain.schedule import due_change


def _json(text: str | None) -> Any:
    """json.loads, with the empty list and object (most rows' options and late facts) short-cut."""
    if text is None:
        return None
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


class SqliteValues:
    """SQLite keeps times as fixed-width UTC text (they sort in time order) and JSON as text."""

    @staticmethod
    def time_in(value: datetime | None) -> str | None:
        return db_time(value)

    @staticmethod
    def time_out(value: str | None) -> datetime | None:
        return py_time(value)

    @staticmethod
    def json_in(value: Any) -> str:
        return dumps(value)

    @staticmethod
    def json_out(value: str | None) -> Any:
        return _json(value)

    @staticmethod
    def list_in(value: list[Any]) -> str:
        return dumps(value)

    @staticmethod
    def list_out(value: str) -> list[Any]:
        result: list[Any] = _json(value)
        return result


VALUES = SqliteValues()


def _mark(_n: int) -> str:
    return "?"


_UNFINISHED = sql_list(UNFINISHED)
_FINISHED = sql_list(FINISHED)
_POSTED_NOTHING = sql_list(POSTED_NOTHING)


def _publish(row: dict[str, Any]) -> Publish:
    return publish_from_row(row, VALUES)


def _event(row: dict[str, Any]) -> PublishEvent:
    return event_from_row(row, VALUES)


def _get(db: sqlite_utils.Database, publish_id: str) -> Publish | None:
    rows = select(db, "SELECT * FROM publishes WHERE id = ?", [publish_id])
    return _publish(rows[0]) if rows else None


def _append_events(db: sqlite_utils.Database, publish_id: str, events: Sequence[PublishEvent], now: datetime) -> None:
    """Appends the events in order, in one statement; one without a time of its own happened `now`."""
    if not events:
        return
    params: list[Any] = []
    for event in events:
        params.append(publish_id)
        params.extend(event_columns(event, now, VALUES))
    db.conn.execute(
        "INSERT INTO publish_events (publish_id, time, type, state, message, details, trace_id) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(events)),
        params,
    )


def append_account_event(
    db: sqlite_utils.Database, workspace_id: str, account_id: str, platform: str, event: AccountEvent
) -> None:
    """Appends an account's event to the log (no publish), in the caller's transaction."""
    db.conn.execute(
        "INSERT INTO publish_events (publish_id, workspace_id, account_id, platform, time, type, message, details)"
        " VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
        [workspace_id, account_id, platform, *account_event_columns(event, VALUES)],
    )


class SqlitePublishStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # --- records ----------------------------------------------------------------------------

    async def get(self, publish_id: str) -> Publish | None:
        return await self._db.read(_get, publish_id)

    async def get_in_workspace(self, workspace_id: str, publish_id: str) -> Publish | None:
        publish = await self._db.read(_get, publish_id)
        return publish if publish is not None and publish.workspace_id == workspace_id else None

    async def list_page(
        self, workspace_id: str, limit: int, cursor: Cursor | None, where: PublishFilter
    ) -> list[tuple[PublishVersion, Cursor]]:
        """Newest first, each publish as its id and revision (records: `get_many`). Each filter
        is served by its own (workspace, filter, created_at, id) index."""
        clauses, params = history_clauses(workspace_id, where, cursor, _mark, VALUES, lambda text: text)
        sql = (
            f"SELECT id, revision, created_at FROM publishes WHERE {' AND '.join(clauses)} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.read(select_tuples, sql, [*params, limit])
        return [(PublishVersion(id, revision), Cursor(created_at, id)) for id, revision, created_at in rows]

    async def get_many(self, workspace_id: str, publish_ids: Sequence[str]) -> list[Publish]:
        """The workspace's records among these ids, in no particular order."""
        if not publish_ids:
            return []
        marks = ",".join("?" * len(publish_ids))
        # The workspace is checked here, not in SQL: given `workspace_id = ?` too, SQLite may
        # walk the workspace's index (a million rows) instead of looking up 50 primary keys.
        rows = await self._db.read(select, f"SELECT * FROM publishes WHERE id IN ({marks})", list(publish_ids))
        return [_publish(r) for r in rows if r["workspace_id"] == workspace_id]

    async def find_by_request_id(self, workspace_id: str, request_id: str) -> Publish | None:
        rows = await self._db.read(
            select, "SELECT * FROM publishes WHERE workspace_id = ? AND request_id = ?", [workspace_id, request_id]
        )
        return _publish(rows[0]) if rows else None

    async def recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        """The newest publish of the same content to the same account since `since` that
        did not fail (a failed publish posted nothing, so publishing again is no duplicate)."""
        return await self._db.read(_recent_same_content, workspace_id, account_id, content_fingerprint, since)

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        """Which of these IG media ids other publishes of the account already recorded."""
        if not candidates:
            return set()
        marks = ",".join("?" * len(candidates))
        rows = await self._db.read(
            select_tuples,
            f"SELECT ig_media_id FROM publishes WHERE account_id = ? AND ig_media_id IN ({marks})",
            [account_id, *candidates],
        )
        return {r[0] for r in rows}

    # --- writes -----------------------------------------------------------------------------

    async def create(
        self, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        """Inserts the publish with its first events, unless its request_id is taken or (with
        `duplicate_since`) the same content went to the same account since then; the check
        and the insert are one store call, so one transaction."""
        return await self._db.run(_create, publish, events, duplicate_since)

    async def apply(
        self,
        publish_id: str,
        change: PublishChange,
        events: Sequence[PublishEvent],
        *,
        owner: str | None = None,
        expected: Publish | None = None,
    ) -> Publish:
        """The change (an UPDATE guarded by the states it may come from and the lease) and its
        events, in one transaction. With `expected` at the revision before this write, only
        the new revision and update time are read back and the result is `expected` with
        the change applied (reading and parsing the whole row was most of a write's cost on
        the store thread)."""
        now = utcnow()
        result = await self._db.run(
            _apply, publish_id, change, events, owner, None if expected is None else expected.revision, now
        )
        if isinstance(result, Publish):
            return result
        assert expected is not None
        return applied(expected, change, result, now)

    # --- leases -----------------------------------------------------------------------------

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        return await self._db.run(_claim_orphans, owner, lease_until, now, limit)

    async def renew_leases(self, owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        if not publish_ids:
            return set()
        marks = ",".join("?" * len(publish_ids))
        rows = await self._db.run(
            select_tuples,
            f"UPDATE publishes SET lease_until = ? WHERE owner = ? AND id IN ({marks}) RETURNING id",
            [db_time(lease_until), owner, *publish_ids],
        )
        return {row[0] for row in rows}

    # --- due work ---------------------------------------------------------------------------

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int,
        trace_id: str = "",
    ) -> list[Publish]:
        """One transaction on the store's one writer: no other claim, cancel or reschedule
        slips between the read of the due rows and their change."""
        return await self._db.run(_claim_due, owner, lease_until, now, missed_before, limit, trace_id)

    async def next_schedule_time(self) -> datetime | None:
        rows = await self._db.read(
            select_tuples, f"SELECT MIN(schedule_time) FROM publishes WHERE state = '{SCHEDULED}'"
        )
        return py_time(rows[0][0]) if rows else None

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        rows = await self._db.run(
            select,
            "UPDATE publishes SET reconcile_at = ? WHERE id IN (SELECT id FROM publishes"
            " WHERE reconcile_at IS NOT NULL AND reconcile_at <= ? ORDER BY reconcile_at LIMIT ?)"
            " RETURNING *",
            [db_time(hold_until), db_time(now), limit],
        )
        return [_publish(r) for r in rows]

    async def next_reconcile_at(self) -> datetime | None:
        rows = await self._db.read(
            select_tuples, "SELECT MIN(reconcile_at) FROM publishes WHERE reconcile_at IS NOT NULL"
        )
        return py_time(rows[0][0]) if rows else None

    # --- the event log ----------------------------------------------------------------------

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        """The publish's timeline, oldest first; `after` skips events up to that id."""
        rows = await self._db.read(select, timeline_sql(_mark), [publish_id, after])
        return [_event(r) for r in rows]

    # The workspace event stream: SQLite has one writer (the store thread), so the events'
    # row ids are in commit order and a position is (0, id).

    async def workspace_events(
        self, workspace_id: str, after: EventPosition, limit: int, where: EventFilter | None = None
    ) -> list[WorkspaceEvent]:
        clauses, params = ["e.id > ?", f"{STREAM_WORKSPACE} = ?"], [after.id, workspace_id]
        if where is not None:
            if where.account_id is not None:
                clauses.append(f"{STREAM_ACCOUNT} = ?")
                params.append(where.account_id)
            if where.platform is not None:
                clauses.append(f"{STREAM_PLATFORM} = ?")
                params.append(where.platform.value)
            if where.states:
                states = sorted(s.value for s in where.states)
                clauses.append(f"e.state IN ({','.join('?' * len(states))})")
                params.extend(states)
            if where.kinds:
                clauses.append(kinds_clause(where.kinds))
            if where.since is not None:
                clauses.append("e.time >= ?")
                params.append(db_time(where.since))
        rows = await self._db.read(
            select, f"{stream_select()} WHERE {' AND '.join(clauses)} ORDER BY e.id LIMIT ?", [*params, limit],
        )
        return [workspace_event_from_row(r, EventPosition(0, r["id"]), VALUES) for r in rows]

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        if position.xid != 0:
            return None
        rows = await self._db.read(
            select_tuples,
            "SELECT e.time FROM publish_events e LEFT JOIN publishes p ON p.id = e.publish_id"
            f" WHERE e.id = ? AND {STREAM_WORKSPACE} = ?",
            [position.id, workspace_id],
        )
        return py_time(rows[0][0]) if rows else None

    async def last_position(self) -> EventPosition:
        rows = await self._db.read(select_tuples, "SELECT max(id) FROM publish_events")
        return EventPosition(0, rows[0][0]) if rows and rows[0][0] is not None else START


# --- on the store thread ----------------------------------------------------------------------


def _recent_same_content(
    db: sqlite_utils.Database, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
) -> Publish | None:
    rows = select(
        db,
        "SELECT * FROM publishes WHERE workspace_id = ? AND account_id = ?"
        f" AND content_fingerprint = ? AND created_at >= ? AND state NOT IN ({_POSTED_NOTHING})"
        " ORDER BY created_at DESC LIMIT 1",
        [workspace_id, account_id, content_fingerprint, db_time(since)],
    )
    return _publish(rows[0]) if rows else None


def _create(
    db: sqlite_utils.Database, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None
) -> CreateConflict | None:
    if not publish.request_id and duplicate_since is not None:
        earlier = _recent_same_content(
            db, publish.workspace_id, publish.account_id, publish.content_fingerprint, duplicate_since
        )
        if earlier is not None:
            return CreateConflict("duplicate", earlier)
    row = new_row(publish, VALUES)
    with atomic(db):
        # The request_id's unique index decides: a taken one inserts nothing (and is read
        # then, the rare case), so a new publish costs no read first.
        inserted = db.conn.execute(
            f"INSERT INTO publishes ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            " ON CONFLICT (workspace_id, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING revision",
            list(row.values()),
        ).fetchall()
        if inserted:
            _append_events(db, publish.id, events, publish.created_at)
            return None
    assert publish.request_id
    taken = select(
        db, "SELECT * FROM publishes WHERE workspace_id = ? AND request_id = ?",
        [publish.workspace_id, publish.request_id],
    )
    return CreateConflict("request_id", _publish(taken[0]))


def _apply(
    db: sqlite_utils.Database,
    publish_id: str,
    change: PublishChange,
    events: Sequence[PublishEvent],
    owner: str | None,
    known_revision: int | None,
    now: datetime,
) -> Publish | int:
    """The updated record, or its new revision when the caller's copy at `known_revision`
    was the latest before this write (the caller applies the change to it)."""
    stamp = db_time(now)
    columns = change_columns(change, VALUES)
    assignments = [f"{column} = ?" for column in columns]
    params: list[Any] = list(columns.values())
    if change.child is not None:
        assignments.append("child_container_ids = json_set(child_container_ids, ?, ?)")
        params += [f"$[{int(change.child.index)}]", change.child.container_id]
    guard = ""
    allowed = allowed_states(change)
    if allowed is not None:
        guard += f" AND state IN ({','.join('?' * len(allowed))})"
    if owner is not None:
        guard += " AND owner = ?"
    sql = (
        f"UPDATE publishes SET {''.join(a + ', ' for a in assignments)}updated_at = ?, revision = revision + 1"
        f" WHERE id = ?{guard} RETURNING {'revision' if known_revision is not None else '*'}"
    )
    params += [stamp, publish_id, *(allowed or ()), *([owner] if owner is not None else [])]
    with atomic(db):
        cursor = db.conn.execute(sql, params)
        rows = cursor.fetchall()
        if not rows:
            current = db.conn.execute("SELECT state, owner FROM publishes WHERE id = ?", [publish_id]).fetchone()
            raise refusal(publish_id, current, change, owner)
        _append_events(db, publish_id, events, now)
        if known_revision is None:
            return _publish(dict(zip([d[0] for d in cursor.description], rows[0], strict=True)))
        if rows[0][0] == known_revision + 1:
            revision: int = rows[0][0]
            return revision
        # Another writer changed the record after the caller's copy: read it whole.
        publish = _get(db, publish_id)
        assert publish is not None
        return publish


def _claim_orphans(
    db: sqlite_utils.Database, owner: str, lease_until: datetime, now: datetime, limit: int
) -> list[Publish]:
    stamp = db_time(now)
    # A finished publish whose run died after its last write is simply done.
    db.conn.execute(
        "UPDATE publishes SET owner = NULL, lease_until = NULL, revision = revision + 1, updated_at = ?"
        f" WHERE owner IS NOT NULL AND lease_until < ? AND state IN ({_FINISHED})",
        [stamp, stamp],
    )
    # Read first, in the same transaction on the one writer: the leases that lapsed, which
    # the UPDATE's RETURNING (new values only) cannot tell.
    orphans = db.conn.execute(
        f"SELECT id, owner, lease_until FROM publishes WHERE state IN ({_UNFINISHED})"
        " AND (owner IS NULL OR lease_until < ?) ORDER BY created_at LIMIT ?",
        [stamp, limit],
    ).fetchall()
    if not orphans:
        return []
    rows = select(
        db,
        f"UPDATE publishes SET owner = ?, lease_until = ? WHERE id IN ({','.join('?' * len(orphans))}) RETURNING *",
        [owner, db_time(lease_until), *(row[0] for row in orphans)],
    )
    lapsed = {row[0]: (row[1], row[2]) for row in orphans}
    claimed = [_publish(r) for r in rows]
    for publish in claimed:
        was_owner, was_until = lapsed[publish.id]
        if was_owner is not None and was_until is not None:
            until = VALUES.time_out(was_until)
            assert until is not None
            publish.lapsed = LapsedLease(was_owner, until)
    return sorted(claimed, key=lambda p: p.created_at)


def _claim_due(
    db: sqlite_utils.Database, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int,
    trace_id: str,
) -> list[Publish]:
    claimed: list[Publish] = []
    lease = Lease(owner, lease_until)
    with atomic(db):
        due = [
            _publish(r) for r in select(
                db, f"SELECT * FROM publishes WHERE state = '{SCHEDULED}' AND schedule_time <= ?"
                " ORDER BY schedule_time, id LIMIT ?", [db_time(now), limit],
            )
        ]
        for publish in due:
            change, events = due_change(publish, now, missed_before, lease, trace_id)
            result = _apply(db, publish.id, change, events, None, publish.revision, now)
            claimed.append(applied(publish, change, result, now) if isinstance(result, int) else result)
    return claimed
