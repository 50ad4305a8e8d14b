"""Publishes table (the PublishStore port): one row per publish with every platform id,
plus its timeline of events.

Every change to a publish and the event describing it are written in one
transaction, so the record and its timeline never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from server.adapters.sqlite.database import Database, atomic
from server.adapters.sqlite.rows import db_time, dumps, keyset_clause, py_time, select, select_tuples
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.events import START, EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import (
    FirstComment,
    Platform,
    Publish,
    PublishError,
    PublishEvent,
    PublishFilter,
    PublishKind,
    PublishState,
    PublishVersion,
    applied,
    publish_changes,
    states_before,
    utcnow,
)
from server.domain.pagination import Cursor
from server.domain.ports import KEEP, CreateConflict
from server.domain.schedule import due_change


def _column_value(name: str, value: Any) -> Any:
    """A changed field's domain value as its column stores it."""
    if name in ("pending_facts", "options"):
        return dumps(value)
    if name in ("error", "first_comment"):
        return dumps(value.to_dict())
    if name == "state":
        return value.value
    if isinstance(value, datetime) or (
        value is None and name in ("reconcile_at", "published_at", "lease_until", "schedule_time", "started_at")
    ):
        return db_time(value)
    return value


# Value -> member lookups; calling the Enum class is several times slower, and _publish
# runs for every row of every list page.
_PLATFORMS = {m.value: m for m in Platform}
_KINDS = {m.value: m for m in PublishKind}
_STATES = {m.value: m for m in PublishState}
# Ended states in which nothing was posted: the duplicate guard does not count them.
_POSTED_NOTHING = "'FAILED', 'CANCELLED', 'MISSED'"
# The states a record may be in for each new state (PublishState.may_become).
_ALLOWED_BEFORE = {state: sorted(states_before(state)) for state in PublishState}


def _json(text: str) -> Any:
    """json.loads, with the empty list and object (most rows' options and late facts) short-cut."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def _publish(row: dict[str, Any]) -> Publish:
    error = json.loads(row["error"]) if row["error"] else None
    return Publish(
        id=row["id"],
        workspace_id=row["workspace_id"],
        platform=_PLATFORMS[row["platform"]],
        kind=_KINDS[row["kind"]],
        account_id=row["account_id"],
        media_ids=json.loads(row["media_ids"]),
        caption=row["caption"],
        options=_json(row["options"]),
        state=_STATES[row["state"]],
        request_id=row["request_id"],
        request_fingerprint=row["request_fingerprint"],
        content_fingerprint=row["content_fingerprint"],
        created_at=py_time(row["created_at"]),
        updated_at=py_time(row["updated_at"]),
        child_container_ids=_json(row["child_container_ids"]),
        container_id=row["container_id"],
        ig_media_id=row["ig_media_id"],
        permalink=row["permalink"],
        tiktok_publish_id=row["tiktok_publish_id"],
        tiktok_post_id=row["tiktok_post_id"],
        error=PublishError.from_dict(error) if error else None,
        published_at=py_time(row["published_at"]),
        pending_facts=_json(row["pending_facts"]),
        reconcile_at=py_time(row["reconcile_at"]),
        reconcile_attempts=row["reconcile_attempts"],
        call_in_flight=row["call_in_flight"],
        revision=row["revision"],
        owner=row["owner"],
        lease_until=py_time(row["lease_until"]),
        schedule_time=py_time(row["schedule_time"]),
        started_at=py_time(row["started_at"]),
        first_comment=FirstComment.from_dict(json.loads(row["first_comment"])) if row["first_comment"] else None,
    )


def _get(db: sqlite_utils.Database, publish_id: str) -> Publish | None:
    rows = select(db, "SELECT * FROM publishes WHERE id = ?", [publish_id])
    return _publish(rows[0]) if rows else None


def _append_events(
    db: sqlite_utils.Database, publish_id: str, events: Sequence[PublishEvent], now: str
) -> None:
    """Appends the events in order; one without a time of its own happened `now`."""
    db.conn.executemany(
        "INSERT INTO publish_events (publish_id, time, type, state, message, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                publish_id,
                db_time(event.time) if event.time else now,
                event.type,
                event.state.value if event.state else None,
                event.message,
                dumps(event.details),
            )
            for event in events
        ],
    )


# An event's place in its publish's timeline (from 1): what callers see as its sequence, a
# count of that publish's events only, never a counter shared with other publishes. (A whole
# timeline numbers its rows in one scan instead: row_number() in `events`.)
_ORDINAL = "(SELECT count(*) FROM publish_events x WHERE x.publish_id = e.publish_id AND x.id <= e.id) AS ordinal"


class SqlitePublishStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, publish: Publish, *events: PublishEvent, duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        """Inserts the publish with its first events, unless its request_id is taken or (with
        `duplicate_since`) the same content went to the same account since then; the check
        and the insert are one store call, so one transaction."""
        return await self._db.run(_create, publish, events, duplicate_since)

    async def get(self, publish_id: str) -> Publish | None:
        return await self._db.run(_get, publish_id)

    async def get_in_workspace(self, workspace_id: str, publish_id: str) -> Publish | None:
        publish = await self._db.run(_get, publish_id)
        return publish if publish is not None and publish.workspace_id == workspace_id else None

    async def list_page(
        self, workspace_id: str, limit: int, cursor: Cursor | None, where: PublishFilter
    ) -> list[tuple[PublishVersion, Cursor]]:
        """Newest first, each publish as its id and revision (records: `get_many`). Each filter
        is served by its own (workspace, filter, created_at, id) index."""
        clauses = ["workspace_id = ?"]
        params: list[Any] = [workspace_id]
        for column, value in (
            ("account_id", where.account_id),
            ("platform", where.platform.value if where.platform else None),
            ("state", where.state.value if where.state else None),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if where.created_after is not None:
            clauses.append("created_at >= ?")
            params.append(db_time(where.created_after))
        if where.created_before is not None:
            clauses.append("created_at < ?")
            params.append(db_time(where.created_before))
        if where.scheduled_after is not None:
            clauses.append("schedule_time >= ?")
            params.append(db_time(where.scheduled_after))
        if where.scheduled_before is not None:
            clauses.append("schedule_time < ?")
            params.append(db_time(where.scheduled_before))
        keyset, extra = keyset_clause(cursor)
        sql = (
            f"SELECT id, revision, created_at FROM publishes WHERE {' AND '.join(clauses)}{keyset} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.run(select_tuples, sql, [*params, *extra, limit])
        return [(PublishVersion(id, revision), Cursor(created_at, id)) for id, revision, created_at in rows]

    async def get_many(self, workspace_id: str, publish_ids: Sequence[str]) -> list[Publish]:
        """The workspace's records among these ids, in no particular order."""
        if not publish_ids:
            return []
        marks = ",".join("?" * len(publish_ids))
        # The workspace is checked here, not in SQL: given `workspace_id = ?` too, SQLite may
        # walk the workspace's index (a million rows) instead of looking up 50 primary keys.
        rows = await self._db.run(select, f"SELECT * FROM publishes WHERE id IN ({marks})", list(publish_ids))
        return [_publish(r) for r in rows if r["workspace_id"] == workspace_id]

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        rows = await self._db.run(
            select,
            "UPDATE publishes SET reconcile_at = ? WHERE id IN (SELECT id FROM publishes"
            " WHERE reconcile_at IS NOT NULL AND reconcile_at <= ? ORDER BY reconcile_at LIMIT ?)"
            " RETURNING *",
            [db_time(hold_until), db_time(now), limit],
        )
        return [_publish(r) for r in rows]

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        rows = await self._db.run(
            select,
            "UPDATE publishes SET owner = ?, lease_until = ? WHERE id IN (SELECT id FROM publishes"
            " WHERE state IN ('PENDING', 'PROCESSING') AND (owner IS NULL OR lease_until < ?)"
            " ORDER BY created_at LIMIT ?) RETURNING *",
            [owner, db_time(lease_until), db_time(now), limit],
        )
        return sorted((_publish(r) for r in rows), key=lambda p: p.created_at)

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

    async def release_lease(self, owner: str, publish_id: str, event: PublishEvent | None = None) -> Publish | None:
        return await self._db.run(_release, owner, publish_id, event)

    async def next_reconcile_at(self) -> datetime | None:
        rows = await self._db.run(
            select, "SELECT MIN(reconcile_at) AS at FROM publishes WHERE reconcile_at IS NOT NULL"
        )
        return py_time(rows[0]["at"]) if rows else None

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int
    ) -> list[Publish]:
        """One transaction on the store's one writer: no other claim, cancel or reschedule
        slips between the read of the due rows and their change."""
        return await self._db.run(_claim_due, owner, lease_until, now, missed_before, limit)

    async def next_schedule_time(self) -> datetime | None:
        rows = await self._db.run(
            select, "SELECT MIN(schedule_time) AS at FROM publishes WHERE state = 'SCHEDULED'"
        )
        return py_time(rows[0]["at"]) if rows else None

    async def reschedule(self, publish_id: str, schedule_time: datetime, event: PublishEvent) -> Publish | None:
        return await self._db.run(_reschedule, publish_id, schedule_time, event)

    async def find_by_request_id(self, workspace_id: str, request_id: str) -> Publish | None:
        rows = await self._db.run(
            select, "SELECT * FROM publishes WHERE workspace_id = ? AND request_id = ?", [workspace_id, request_id]
        )
        return _publish(rows[0]) if rows else None

    async def recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        """The newest publish of the same content to the same account since `since` that
        did not fail (a failed publish posted nothing, so publishing again is no duplicate)."""
        rows = await self._db.run(
            select,
            "SELECT * FROM publishes WHERE workspace_id = ? AND account_id = ?"
            f" AND content_fingerprint = ? AND created_at >= ? AND state NOT IN ({_POSTED_NOTHING})"
            " ORDER BY created_at DESC LIMIT 1",
            [workspace_id, account_id, content_fingerprint, db_time(since)],
        )
        return _publish(rows[0]) if rows else None

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        """Which of these IG media ids other publishes of the account already recorded."""
        if not candidates:
            return set()
        marks = ",".join("?" * len(candidates))
        rows = await self._db.run(
            select,
            f"SELECT ig_media_id FROM publishes WHERE account_id = ? AND ig_media_id IN ({marks})",
            [account_id, *candidates],
        )
        return {r["ig_media_id"] for r in rows}

    async def unfinished(self) -> list[Publish]:
        """Every publish not yet in a terminal state, oldest first (resumed at start-up)."""
        rows = await self._db.run(
            select, "SELECT * FROM publishes WHERE state IN ('PENDING', 'PROCESSING') ORDER BY created_at"
        )
        return [_publish(r) for r in rows]

    async def save_child(
        self, publish_id: str, index: int, container_id: str, event: PublishEvent,
        earlier: Sequence[PublishEvent] = (),
        owner: str | None = None,
    ) -> Publish:
        """Records carousel item `index`'s container id (atomic, safe from concurrent item tasks)."""
        return await self._db.run(_save_child, publish_id, index, container_id, [*earlier, event], owner)

    async def update(
        self,
        publish_id: str,
        event: PublishEvent,
        *,
        state: PublishState | None = None,
        error: PublishError | None = None,
        published_at: datetime | None = None,
        pending_facts: list[str] | None = None,
        reconcile_at: datetime | Literal[False] | None = KEEP,
        reconcile_attempts: int | None = None,
        earlier: Sequence[PublishEvent] = (),
        known: Publish | None = None,
        owner: str | None = None,
        release: bool = False,
        first_comment: FirstComment | None = None,
        options: dict[str, Any] | None = None,
        **ids: str | None,
    ) -> Publish:
        """Changes the publish (state, error, platform ids, reconciliation) and appends `event`
        (after `earlier` ones not yet saved), in one transaction. `reconcile_at=None` clears
        the schedule; KEEP leaves it. A state change is made only from a state that may
        become the new one (checked in the UPDATE itself, so no second writer slips between).

        With `known` at the revision before this write, only the new revision and update
        time are read back and the result is `known` with the changes applied (reading and
        parsing the whole row was most of a write's cost on the store thread)."""
        changes = publish_changes(
            state=state, error=error, published_at=published_at, pending_facts=pending_facts,
            reconcile_at=reconcile_at, reconcile_attempts=reconcile_attempts, ids=ids, release=release,
            first_comment=first_comment, options=options,
        )
        columns = {name: _column_value(name, value) for name, value in changes.items()}
        result = await self._db.run(
            _update, publish_id, columns, [*earlier, event], state, None if known is None else known.revision, owner
        )
        if isinstance(result, Publish):
            return result
        assert known is not None
        revision, updated_at = result
        return applied(known, changes, revision, py_time(updated_at))

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        """The publish's timeline, oldest first; `after` skips events up to that id."""
        rows = await self._db.run(
            select, "SELECT * FROM (SELECT e.*, row_number() OVER (ORDER BY e.id) AS ordinal FROM publish_events e"
            " WHERE e.publish_id = ?) AS timeline WHERE id > ? ORDER BY id",
            [publish_id, after],
        )
        return [_event(r) for r in rows]

    # --- the workspace event stream: SQLite has one writer (the store thread), so the
    # events' row ids are in commit order and a position is (0, id).

    async def workspace_events(
        self, workspace_id: str, after: EventPosition, limit: int, where: EventFilter | None = None
    ) -> list[WorkspaceEvent]:
        clauses, params = ["e.id > ?", "p.workspace_id = ?"], [after.id, workspace_id]
        if where is not None:
            if where.account_id is not None:
                clauses.append("p.account_id = ?")
                params.append(where.account_id)
            if where.platform is not None:
                clauses.append("p.platform = ?")
                params.append(where.platform.value)
            if where.states:
                states = sorted(s.value for s in where.states)
                clauses.append(f"e.state IN ({','.join('?' * len(states))})")
                params.extend(states)
            if where.since is not None:
                clauses.append("e.time >= ?")
                params.append(db_time(where.since))
        rows = await self._db.run(
            select,
            f"SELECT e.*, p.account_id, p.platform, {_ORDINAL}"
            " FROM publish_events e JOIN publishes p ON p.id = e.publish_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY e.id LIMIT ?",
            [*params, limit],
        )
        return [
            WorkspaceEvent(
                position=EventPosition(0, r["id"]),
                publish_id=r["publish_id"],
                account_id=r["account_id"],
                platform=_PLATFORMS[r["platform"]],
                event=_event(r),
            )
            for r in rows
        ]

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        if position.xid != 0:
            return None
        rows = await self._db.run(
            select,
            "SELECT e.time FROM publish_events e JOIN publishes p ON p.id = e.publish_id"
            " WHERE e.id = ? AND p.workspace_id = ?",
            [position.id, workspace_id],
        )
        return py_time(rows[0]["time"]) if rows else None

    async def last_position(self) -> EventPosition:
        rows = await self._db.run(select_tuples, "SELECT max(id) FROM publish_events")
        return EventPosition(0, rows[0][0]) if rows and rows[0][0] is not None else START


def _event(r: dict[str, Any]) -> PublishEvent:
    return PublishEvent(
        id=r["id"],
        sequence=r["ordinal"],
        time=py_time(r["time"]),
        type=r["type"],
        state=_STATES[r["state"]] if r["state"] else None,
        message=r["message"],
        details=json.loads(r["details"]),
    )


def _create(
    db: sqlite_utils.Database, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None
) -> CreateConflict | None:
    now = db_time(publish.created_at)
    if publish.request_id:
        taken = _get_where(db, "workspace_id = ? AND request_id = ?", [publish.workspace_id, publish.request_id])
        if taken is not None:
            return CreateConflict("request_id", taken)
    elif duplicate_since is not None:
        earlier = _get_where(
            db,
            "workspace_id = ? AND account_id = ? AND content_fingerprint = ? AND created_at >= ?"
            f" AND state NOT IN ({_POSTED_NOTHING}) ORDER BY created_at DESC LIMIT 1",
            [publish.workspace_id, publish.account_id, publish.content_fingerprint, db_time(duplicate_since)],
        )
        if earlier is not None:
            return CreateConflict("duplicate", earlier)
    row = {
        "id": publish.id,
        "workspace_id": publish.workspace_id,
        "platform": publish.platform.value,
        "kind": publish.kind.value,
        "account_id": publish.account_id,
        "media_ids": dumps(publish.media_ids),
        "caption": publish.caption,
        "options": dumps(publish.options),
        "state": publish.state.value,
        "request_id": publish.request_id,
        "request_fingerprint": publish.request_fingerprint,
        "content_fingerprint": publish.content_fingerprint,
        "child_container_ids": dumps(publish.child_container_ids),
        "created_at": now,
        "updated_at": now,
        "owner": publish.owner,
        "lease_until": db_time(publish.lease_until),
        "schedule_time": db_time(publish.schedule_time),
        "first_comment": dumps(publish.first_comment.to_dict()) if publish.first_comment else None,
    }
    with atomic(db):
        db.conn.execute(
            f"INSERT INTO publishes ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        _append_events(db, publish.id, events, now)
    return None


def _claim_due(
    db: sqlite_utils.Database, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int
) -> list[Publish]:
    stamp = db_time(now)
    claimed: list[Publish] = []
    with atomic(db):
        due = [
            _publish(r) for r in select(
                db, "SELECT * FROM publishes WHERE state = 'SCHEDULED' AND schedule_time <= ?"
                " ORDER BY schedule_time, id LIMIT ?", [stamp, limit],
            )
        ]
        for publish in due:
            changes, events = due_change(publish, now, missed_before)
            if changes["state"] == PublishState.PROCESSING:
                changes = {**changes, "owner": owner, "lease_until": lease_until}
            columns = {name: _column_value(name, value) for name, value in changes.items()}
            assignments = ", ".join(f"{column} = ?" for column in columns)
            row = _returning(
                db, f"UPDATE publishes SET {assignments}, updated_at = ?, revision = revision + 1"
                " WHERE id = ? AND state = 'SCHEDULED'", [*columns.values(), stamp, publish.id],
            )
            assert row is not None  # the one writer holds the transaction
            _append_events(db, publish.id, events, stamp)
            claimed.append(row)
    return claimed


def _reschedule(
    db: sqlite_utils.Database, publish_id: str, schedule_time: datetime, event: PublishEvent
) -> Publish | None:
    now = db_time(utcnow())
    with atomic(db):
        publish = _returning(
            db, "UPDATE publishes SET schedule_time = ?, updated_at = ?, revision = revision + 1"
            " WHERE id = ? AND state = 'SCHEDULED'", [db_time(schedule_time), now, publish_id],
        )
        if publish is not None:
            _append_events(db, publish_id, [event], now)
    return publish


def _get_where(db: sqlite_utils.Database, where: str, params: list[Any]) -> Publish | None:
    rows = select(db, f"SELECT * FROM publishes WHERE {where}", params)
    return _publish(rows[0]) if rows else None


def _release(
    db: sqlite_utils.Database, owner: str, publish_id: str, event: PublishEvent | None
) -> Publish | None:
    now = db_time(utcnow())
    with atomic(db):
        publish = _returning(
            db,
            "UPDATE publishes SET owner = NULL, lease_until = NULL, updated_at = ?, revision = revision + 1"
            " WHERE id = ? AND owner = ?",
            [now, publish_id, owner],
        )
        if publish is not None and event is not None:
            _append_events(db, publish_id, [event], now)
    return publish


def _returning(db: sqlite_utils.Database, sql: str, params: list[Any]) -> Publish | None:
    """Runs an UPDATE ... RETURNING * and builds the updated publish from the one statement;
    None when no row matched."""
    cursor = db.conn.execute(sql + " RETURNING *", params)
    rows = cursor.fetchall()
    if not rows:
        return None
    return _publish(dict(zip([d[0] for d in cursor.description], rows[0], strict=True)))


def _missing(
    db: sqlite_utils.Database, publish_id: str, state: PublishState | None, owner: str | None = None
) -> Exception:
    """Why an UPDATE matched no row: no such publish, a lease the writer lost, or a state it
    may not move to."""
    current = select(db, "SELECT state, owner FROM publishes WHERE id = ?", [publish_id])
    if not current:
        return KeyError(publish_id)
    if owner is not None and current[0]["owner"] != owner:
        return LeaseLost(
            reason="LEASE_LOST",
            message=f"publish {publish_id} is driven by another replica now; this run stops",
        )
    if state is None:
        return KeyError(publish_id)
    return IllegalTransition(
        reason="ILLEGAL_STATE_CHANGE",
        message=f"publish {publish_id} is {current[0]['state']} and cannot become {state.value}",
    )


def _save_child(
    db: sqlite_utils.Database,
    publish_id: str,
    index: int,
    container_id: str,
    events: list[PublishEvent],
    owner: str | None,
) -> Publish:
    now = db_time(utcnow())
    fence, fenced = ("", []) if owner is None else (" AND owner = ?", [owner])
    with atomic(db):
        publish = _returning(
            db,
            "UPDATE publishes SET child_container_ids = json_set(child_container_ids, ?, ?),"
            f" updated_at = ?, revision = revision + 1 WHERE id = ?{fence}",
            [f"$[{int(index)}]", container_id, now, publish_id, *fenced],
        )
        if publish is None:
            raise _missing(db, publish_id, None, owner)
        _append_events(db, publish_id, events, now)
    return publish


def _update(
    db: sqlite_utils.Database,
    publish_id: str,
    changes: dict[str, Any],
    events: list[PublishEvent],
    state: PublishState | None,
    known_revision: int | None,
    owner: str | None,
) -> Publish | tuple[int, str]:
    """The updated record, or (revision, updated_at) when the caller's copy at
    `known_revision` was the latest before this write (the caller applies the changes)."""
    now = db_time(utcnow())
    changes = {**changes, "updated_at": now}
    assignments = ", ".join(f"{column} = ?" for column in changes)
    guard, allowed = "", []
    if state is not None:
        allowed = [s.value for s in _ALLOWED_BEFORE[state]]
        guard = f" AND state IN ({','.join('?' * len(allowed))})"
    if owner is not None:
        guard += " AND owner = ?"
        allowed.append(owner)
    sql = f"UPDATE publishes SET {assignments}, revision = revision + 1 WHERE id = ?{guard}"
    params = [*changes.values(), publish_id, *allowed]
    with atomic(db):
        if known_revision is not None:
            rows = db.conn.execute(sql + " RETURNING revision", params).fetchall()
            if not rows:
                raise _missing(db, publish_id, state, owner)
            _append_events(db, publish_id, events, now)
            if rows[0][0] == known_revision + 1:
                return rows[0][0], now
            # Another writer changed the record after the caller's copy: read it whole.
            publish = _get(db, publish_id)
            assert publish is not None
            return publish
        publish = _returning(db, sql, params)
        if publish is None:
            raise _missing(db, publish_id, state, owner)
        _append_events(db, publish_id, events, now)
    return publish
