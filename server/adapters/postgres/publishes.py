"""The publish log on PostgreSQL (the PublishStore roles): one row per publish with every
platform id, its timeline of events, and the leases that let one replica drive it.

A change and its events are one statement (a CTE updates the row, appends the events and,
through the row's trigger, notifies every replica at commit), so one round trip. Claims take
rows with FOR UPDATE SKIP LOCKED: replicas sweeping at the same moment take different rows.

The record's columns, a change's columns, the history filter and why a write was refused
are the mapping both databases share (server/adapters/publish_rows.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from server.adapters.postgres.database import Database
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
from server.domain.changes import Lease, PublishChange, applied
from server.domain.events import START, AccountEvent, EventFilter, EventPosition, WorkspaceEvent
from server.domain.models import LapsedLease, Publish, PublishEvent, PublishFilter, PublishVersion, utcnow
from server.domain.pagination import Cursor, cursor_datetime, cursor_time
from server.domain.ports import CreateConflict
from server.domain.schedule import due_change


class PostgresValues:
    """asyncpg takes and gives times, lists (text[]) and JSON (the pool's codec) as they are."""

    @staticmethod
    def time_in(value: datetime | None) -> datetime | None:
        return value

    @staticmethod
    def time_out(value: datetime | None) -> datetime | None:
        return value

    @staticmethod
    def json_in(value: Any) -> Any:
        return value

    @staticmethod
    def json_out(value: Any) -> Any:
        return value

    @staticmethod
    def list_in(value: list[Any]) -> list[Any]:
        return value

    @staticmethod
    def list_out(value: list[Any]) -> list[Any]:
        return list(value)


VALUES = PostgresValues()


def _mark(n: int) -> str:
    return f"${n}"


_UNFINISHED = sql_list(UNFINISHED)
_FINISHED = sql_list(FINISHED)
_POSTED_NOTHING = sql_list(POSTED_NOTHING)

# Appends the events given as parallel arrays ($E+0 .. $E+5) after the row change `upd`.
_EVENTS_FROM = (
    "INSERT INTO publish_events (publish_id, time, type, state, message, details, trace_id)"
    " SELECT upd.id, e.time, e.type, e.state, e.message, e.details::jsonb, e.trace_id"
    " FROM upd, unnest(${0}::timestamptz[], ${1}::text[], ${2}::text[], ${3}::text[], ${4}::text[], ${5}::text[])"
    " WITH ORDINALITY AS e(time, type, state, message, details, trace_id, n) ORDER BY e.n"
)


def _events_sql(first_param: int) -> str:
    return _EVENTS_FROM.format(*range(first_param, first_param + 6))


def _event_arrays(events: Sequence[PublishEvent], now: datetime) -> list[list[Any]]:
    """The events as six parallel arrays; details as JSON text (the arrays are text[])."""
    rows = [event_columns(e, now, VALUES) for e in events]
    return [
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        [_json_text(r[4]) for r in rows], [r[5] for r in rows],
    ]


def account_event_from(first: int) -> str:
    """Appends an account's event (no publish) for the account row `upd` (id, workspace_id,
    platform), with the event's (time, type, message, details) as parameters from `first`."""
    return (
        "INSERT INTO publish_events (publish_id, workspace_id, account_id, platform, time, type, message, details)"
        f" SELECT NULL, upd.workspace_id, upd.id, upd.platform, ${first}, ${first + 1}, ${first + 2},"
        f" ${first + 3}::jsonb FROM upd"
    )


async def append_account_event(
    conn: asyncpg.Connection, workspace_id: str, account_id: str, platform: str, event: AccountEvent
) -> None:
    """Appends an account's event to the log, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO publish_events (publish_id, workspace_id, account_id, platform, time, type, message, details)"
        " VALUES (NULL, $1, $2, $3, $4, $5, $6, $7::jsonb)",
        workspace_id, account_id, platform, *account_event_columns(event, VALUES),
    )


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _publish(row: asyncpg.Record) -> Publish:
    return publish_from_row(row, VALUES)


def _event(row: asyncpg.Record) -> PublishEvent:
    return event_from_row(row, VALUES)


def _apply_sql(change: PublishChange, owner: str | None, whole: bool) -> tuple[str, list[Any]]:
    """The one statement of a change: the row's UPDATE (guarded by the states it may come
    from and the lease) and its events' INSERT, as a CTE; with the parameters from $3 on
    ($1 the publish id, $2 the time) and before the six event arrays."""
    columns = change_columns(change, VALUES)
    params: list[Any] = list(columns.values())
    sets = [f"{column} = ${i}" for i, column in enumerate(columns, start=3)]
    if change.child is not None:
        # Arrays are 1-based; a slot beyond the array's end is filled with NULLs up to it.
        params += [change.child.index + 1, change.child.container_id]
        sets.append(f"child_container_ids[${len(params) + 1}] = ${len(params) + 2}")
    guard = ""
    allowed = allowed_states(change)
    if allowed is not None:
        params.append(allowed)
        guard += f" AND state = ANY(${len(params) + 2}::text[])"
    if owner is not None:
        params.append(owner)
        guard += f" AND owner = ${len(params) + 2}"
    sql = (
        f"WITH upd AS (UPDATE publishes SET {''.join(s + ', ' for s in sets)}updated_at = $2,"
        f" revision = revision + 1 WHERE id = $1{guard} RETURNING {'*' if whole else 'id, revision'}),"
        f" ev AS ({_events_sql(len(params) + 3)}) SELECT * FROM upd"
    )
    return sql, params


async def _apply(
    conn: asyncpg.Connection, publish_id: str, change: PublishChange, events: Sequence[PublishEvent],
    owner: str | None, expected: Publish | None, now: datetime,
) -> Publish:
    sql, params = _apply_sql(change, owner, whole=expected is None)
    row = await conn.fetchrow(sql, publish_id, now, *params, *_event_arrays(events, now))
    if row is None:
        current = await conn.fetchrow("SELECT state, owner FROM publishes WHERE id = $1", publish_id)
        raise refusal(publish_id, None if current is None else (current["state"], current["owner"]), change, owner)
    if expected is None:
        return _publish(row)
    if row["revision"] != expected.revision + 1:
        # Another writer changed the record after the caller's copy: read it whole.
        latest = await conn.fetchrow("SELECT * FROM publishes WHERE id = $1", publish_id)
        assert latest is not None
        return _publish(latest)
    return applied(expected, change, row["revision"], now)


class PostgresPublishStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # --- records ----------------------------------------------------------------------------

    async def get(self, publish_id: str) -> Publish | None:
        row = await self._db.fetchrow("SELECT * FROM publishes WHERE id = $1", publish_id)
        return _publish(row) if row else None

    async def get_in_workspace(self, workspace_id: str, publish_id: str) -> Publish | None:
        publish = await self.get(publish_id)
        return publish if publish is not None and publish.workspace_id == workspace_id else None

    async def get_many(self, workspace_id: str, publish_ids: Sequence[str]) -> list[Publish]:
        if not publish_ids:
            return []
        rows = await self._db.fetch("SELECT * FROM publishes WHERE id = ANY($1::uuid[])", list(publish_ids))
        return [_publish(r) for r in rows if r["workspace_id"] == workspace_id]

    async def list_page(
        self, workspace_id: str, limit: int, cursor: Cursor | None, where: PublishFilter
    ) -> list[tuple[PublishVersion, Cursor]]:
        clauses, params = history_clauses(workspace_id, where, cursor, _mark, VALUES, cursor_datetime)
        params.append(limit)
        rows = await self._db.fetch(
            f"SELECT id, revision, created_at FROM publishes WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [
            (PublishVersion(str(r["id"]), r["revision"]), Cursor(cursor_time(r["created_at"]), str(r["id"])))
            for r in rows
        ]

    async def find_by_request_id(self, workspace_id: str, request_id: str) -> Publish | None:
        row = await self._db.fetchrow(
            "SELECT * FROM publishes WHERE workspace_id = $1 AND request_id = $2", workspace_id, request_id
        )
        return _publish(row) if row else None

    async def recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        row = await self._db.fetchrow(_RECENT_SAME_CONTENT, workspace_id, account_id, content_fingerprint, since)
        return _publish(row) if row else None

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        if not candidates:
            return set()
        rows = await self._db.fetch(
            "SELECT ig_media_id FROM publishes WHERE account_id = $1 AND ig_media_id = ANY($2::text[])",
            account_id, list(candidates),
        )
        return {r["ig_media_id"] for r in rows}

    # --- writes -----------------------------------------------------------------------------

    async def create(
        self, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        row = new_row(publish, VALUES)
        columns = ", ".join(row)
        marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        insert = (
            f"WITH upd AS (INSERT INTO publishes ({columns}) VALUES ({marks})"
            " ON CONFLICT (workspace_id, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING id),"
            f" ev AS ({_events_sql(len(row) + 1)}) SELECT count(*) FROM upd"
        )
        params = [*row.values(), *_event_arrays(events, publish.created_at)]
        async with self._db.connection() as conn:
            if duplicate_since is None or publish.request_id:
                inserted = await conn.fetchval(insert, *params)
            else:
                async with conn.transaction():
                    # Two replicas checking the same content at once: one waits for the other
                    # (a transaction lock: nothing is left on the session).
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                        f"{publish.workspace_id}/{publish.account_id}/{publish.content_fingerprint}",
                    )
                    earlier = await conn.fetchrow(
                        _RECENT_SAME_CONTENT, publish.workspace_id, publish.account_id, publish.content_fingerprint,
                        duplicate_since,
                    )
                    if earlier is not None:
                        return CreateConflict("duplicate", _publish(earlier))
                    inserted = await conn.fetchval(insert, *params)
            if inserted:
                return None
            taken = await conn.fetchrow(
                "SELECT * FROM publishes WHERE workspace_id = $1 AND request_id = $2",
                publish.workspace_id, publish.request_id,
            )
        assert taken is not None
        return CreateConflict("request_id", _publish(taken))

    async def apply(
        self,
        publish_id: str,
        change: PublishChange,
        events: Sequence[PublishEvent],
        *,
        owner: str | None = None,
        expected: Publish | None = None,
    ) -> Publish:
        async with self._db.connection() as conn:
            return await _apply(conn, publish_id, change, events, owner, expected, utcnow())

    # --- leases -------------------------------------------------------------------------------

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        rows = await self._db.fetch(
            # A finished publish whose run died after its last write is simply done.
            "WITH done AS (UPDATE publishes SET owner = NULL, lease_until = NULL, revision = revision + 1,"
            f" updated_at = $3 WHERE owner IS NOT NULL AND lease_until < $3 AND state IN ({_FINISHED})),"
            # The lapsed lease is read from the locked row, as it was before the claim.
            " orphans AS (SELECT id, owner AS lapsed_owner, lease_until AS lapsed_until FROM publishes"
            f" WHERE state IN ({_UNFINISHED}) AND (owner IS NULL OR lease_until < $3)"
            " ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED),"
            " claimed AS (UPDATE publishes p SET owner = $1, lease_until = $2 FROM orphans o WHERE p.id = o.id"
            " RETURNING p.*, o.lapsed_owner, o.lapsed_until) SELECT * FROM claimed ORDER BY created_at",
            owner, lease_until, now, limit,
        )
        claimed = []
        for row in rows:
            publish = _publish(row)
            if row["lapsed_owner"] is not None and row["lapsed_until"] is not None:
                publish.lapsed = LapsedLease(row["lapsed_owner"], row["lapsed_until"])
            claimed.append(publish)
        return claimed

    async def renew_leases(self, owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        if not publish_ids:
            return set()
        rows = await self._db.fetch(
            "UPDATE publishes SET lease_until = $1 WHERE owner = $2 AND id = ANY($3::uuid[]) RETURNING id",
            lease_until, owner, list(publish_ids),
        )
        return {str(r["id"]) for r in rows}

    # --- due work -----------------------------------------------------------------------------

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int,
        trace_id: str = "",
    ) -> list[Publish]:
        """One transaction: the due rows are locked as read (SKIP LOCKED: a replica claiming at
        the same moment takes others), then each is written as due_change decides, with its
        events. A cancel or a reschedule of a locked row waits, then finds it no longer
        SCHEDULED."""
        lease = Lease(owner, lease_until)
        async with self._db.connection() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT * FROM publishes WHERE state = '{SCHEDULED}' AND schedule_time <= $1"
                " ORDER BY schedule_time, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                now, limit,
            )
            claimed = []
            for row in rows:
                publish = _publish(row)
                change, events = due_change(publish, now, missed_before, lease, trace_id)
                claimed.append(await _apply(conn, publish.id, change, events, None, publish, now))
        return claimed

    async def next_schedule_time(self) -> datetime | None:
        value: datetime | None = await self._db.fetchval(
            f"SELECT min(schedule_time) FROM publishes WHERE state = '{SCHEDULED}'"
        )
        return value

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        rows = await self._db.fetch(
            "UPDATE publishes SET reconcile_at = $2 WHERE id IN (SELECT id FROM publishes"
            " WHERE reconcile_at IS NOT NULL AND reconcile_at <= $1 ORDER BY reconcile_at LIMIT $3"
            " FOR UPDATE SKIP LOCKED) RETURNING *",
            now, hold_until, limit,
        )
        return sorted((_publish(r) for r in rows), key=lambda p: p.reconcile_at or now)

    async def next_reconcile_at(self) -> datetime | None:
        value: datetime | None = await self._db.fetchval(
            "SELECT min(reconcile_at) FROM publishes WHERE reconcile_at IS NOT NULL"
        )
        return value

    # --- the event log ------------------------------------------------------------------------

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        rows = await self._db.fetch(timeline_sql(_mark), publish_id, after)
        return [_event(r) for r in rows]

    # The workspace event stream.
    #
    # bigserial ids are taken in one order and committed in another: a reader could see id
    # N+1 committed while N is still in flight, move past it, and miss N for good. So each
    # event keeps the id of the transaction that wrote it (publish_events.xid, a default of
    # pg_current_xact_id()), the stream's order is (xid, id), and a reader only reads events
    # whose xid is below its snapshot's xmin: every transaction older than that has ended,
    # so no event can ever appear before one already read. The cost: events wait for every
    # older transaction of the cluster (xids are cluster-wide, so other databases' too) to
    # end: milliseconds usually; a long transaction holds the stream back, never reorders it.

    async def workspace_events(
        self, workspace_id: str, after: EventPosition, limit: int, where: EventFilter | None = None
    ) -> list[WorkspaceEvent]:
        params: list[Any] = [str(after.xid), after.id, workspace_id]
        clauses = [
            "(e.xid, e.id) > ($1::text::xid8, $2)",
            "e.xid < pg_snapshot_xmin(pg_current_snapshot())",
            f"{STREAM_WORKSPACE} = $3",
        ]
        if where is not None:
            if where.account_id is not None:
                params.append(where.account_id)
                clauses.append(f"{STREAM_ACCOUNT} = ${len(params)}::uuid")
            if where.platform is not None:
                params.append(where.platform.value)
                clauses.append(f"{STREAM_PLATFORM} = ${len(params)}")
            if where.states:
                params.append(sorted(s.value for s in where.states))
                clauses.append(f"e.state = ANY(${len(params)}::text[])")
            if where.kinds:
                clauses.append(kinds_clause(where.kinds))
            if where.since is not None:
                params.append(where.since)
                clauses.append(f"e.time >= ${len(params)}")
        params.append(limit)
        rows = await self._db.fetch(
            f"{stream_select('e.xid::text AS xid_text, ')}"
            f" WHERE {' AND '.join(clauses)} ORDER BY e.xid, e.id LIMIT ${len(params)}",
            *params,
        )
        return [workspace_event_from_row(r, EventPosition(int(r["xid_text"]), r["id"]), VALUES) for r in rows]

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT e.time FROM publish_events e LEFT JOIN publishes p ON p.id = e.publish_id"
            f" WHERE e.id = $1 AND e.xid = $2::text::xid8 AND {STREAM_WORKSPACE} = $3",
            position.id, str(position.xid), workspace_id,
        )

    async def last_position(self) -> EventPosition:
        row = await self._db.fetchrow(
            "SELECT xid::text AS xid_text, id FROM publish_events"
            " WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1"
        )
        return EventPosition(int(row["xid_text"]), row["id"]) if row else START


_RECENT_SAME_CONTENT = (
    "SELECT * FROM publishes WHERE workspace_id = $1 AND account_id = $2 AND content_fingerprint = $3"
    f" AND created_at >= $4 AND state NOT IN ({_POSTED_NOTHING}) ORDER BY created_at DESC LIMIT 1"
)
