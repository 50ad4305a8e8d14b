"""Publishes table (the PublishStore port) on PostgreSQL: one row per publish with every
platform id, its timeline of events, and the leases that let one replica drive it.

A change and its events are one statement (a CTE updates the row, appends the events and,
through the row's trigger, notifies every replica at commit), so one round trip. Claims take
rows with FOR UPDATE SKIP LOCKED: replicas sweeping at the same moment take different rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg

from server.adapters.postgres.database import Database
from server.adapters.postgres.rows import keyset
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
from server.domain.pagination import Cursor, cursor_time
from server.domain.ports import KEEP, CreateConflict
from server.domain.schedule import due_change

_PLATFORMS = {m.value: m for m in Platform}
_KINDS = {m.value: m for m in PublishKind}
_STATES = {m.value: m for m in PublishState}
_ALLOWED_BEFORE = {state: sorted(s.value for s in states_before(state)) for state in PublishState}
_UNFINISHED = ("PENDING", "PROCESSING")

# Appends the events given as parallel arrays ($E+0 .. $E+4) after the row change `upd`.
_EVENTS_FROM = (
    "INSERT INTO publish_events (publish_id, time, type, state, message, details)"
    " SELECT upd.id, e.time, e.type, e.state, e.message, e.details::jsonb"
    " FROM upd, unnest(${0}::timestamptz[], ${1}::text[], ${2}::text[], ${3}::text[], ${4}::text[])"
    " WITH ORDINALITY AS e(time, type, state, message, details, n) ORDER BY e.n"
)


def _publish(row: asyncpg.Record) -> Publish:
    error = row["error"]
    return Publish(
        id=str(row["id"]),
        workspace_id=row["workspace_id"],
        platform=_PLATFORMS[row["platform"]],
        kind=_KINDS[row["kind"]],
        account_id=str(row["account_id"]),
        media_ids=list(row["media_ids"]),
        caption=row["caption"],
        options=row["options"],
        state=_STATES[row["state"]],
        request_id=row["request_id"],
        request_fingerprint=row["request_fingerprint"],
        content_fingerprint=row["content_fingerprint"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        child_container_ids=list(row["child_container_ids"]),
        container_id=row["container_id"],
        ig_media_id=row["ig_media_id"],
        permalink=row["permalink"],
        tiktok_publish_id=row["tiktok_publish_id"],
        tiktok_post_id=row["tiktok_post_id"],
        error=PublishError.from_dict(error) if error else None,
        published_at=row["published_at"],
        pending_facts=list(row["pending_facts"]),
        reconcile_at=row["reconcile_at"],
        reconcile_attempts=row["reconcile_attempts"],
        call_in_flight=row["call_in_flight"],
        revision=row["revision"],
        owner=row["owner"],
        lease_until=row["lease_until"],
        schedule_time=row["schedule_time"],
        started_at=row["started_at"],
        first_comment=FirstComment.from_dict(row["first_comment"]) if row["first_comment"] else None,
    )


def _event_arrays(events: Sequence[PublishEvent], now: datetime) -> list[list[Any]]:
    return [
        [e.time or now for e in events],
        [e.type for e in events],
        [e.state.value if e.state else None for e in events],
        [e.message for e in events],
        [json.dumps(e.details, separators=(",", ":"), ensure_ascii=False) for e in events],
    ]


def _column_value(name: str, value: Any) -> Any:
    """A changed field's domain value as its column takes it."""
    if name == "state":
        return value.value
    if name in ("error", "first_comment"):
        return value.to_dict()
    return value


def _events_sql(first_param: int) -> str:
    return _EVENTS_FROM.format(*range(first_param, first_param + 5))


# An event's place in its publish's timeline (from 1): what callers see as its sequence, a
# count of that publish's events only, never a counter shared with other publishes. (A whole
# timeline numbers its rows in one scan instead: row_number() in `events`.)
_ORDINAL = "(SELECT count(*) FROM publish_events x WHERE x.publish_id = e.publish_id AND x.id <= e.id) AS ordinal"


class PostgresPublishStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self, publish: Publish, *events: PublishEvent, duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        row = [
            publish.id, publish.workspace_id, publish.platform.value, publish.kind.value, publish.account_id,
            publish.media_ids, publish.caption, publish.options, publish.state.value, publish.request_id,
            publish.request_fingerprint, publish.content_fingerprint, publish.child_container_ids,
            publish.created_at, publish.owner, publish.lease_until, publish.schedule_time,
            publish.first_comment.to_dict() if publish.first_comment else None,
        ]
        insert = (
            "WITH upd AS (INSERT INTO publishes (id, workspace_id, platform, kind, account_id, media_ids, caption,"
            " options, state, request_id, request_fingerprint, content_fingerprint, child_container_ids,"
            " created_at, updated_at, owner, lease_until, schedule_time, first_comment)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17, $18)"
            " ON CONFLICT (workspace_id, request_id) WHERE request_id IS NOT NULL DO NOTHING RETURNING id),"
            f" ev AS ({_events_sql(19)}) SELECT count(*) FROM upd"
        )
        params = [*row, *_event_arrays(events, publish.created_at)]
        async with self._db.connection() as conn:
            if duplicate_since is None or publish.request_id:
                inserted = await conn.fetchval(insert, *params)
            else:
                async with conn.transaction():
                    # Two replicas checking the same content at once: one waits for the other.
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                        f"{publish.workspace_id}/{publish.account_id}/{publish.content_fingerprint}",
                    )
                    earlier = await conn.fetchrow(
                        "SELECT * FROM publishes WHERE workspace_id = $1 AND account_id = $2"
                        " AND content_fingerprint = $3 AND created_at >= $4"
                        " AND state NOT IN ('FAILED', 'CANCELLED', 'MISSED')"
                        " ORDER BY created_at DESC LIMIT 1",
                        publish.workspace_id, publish.account_id, publish.content_fingerprint, duplicate_since,
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
        params: list[Any] = [workspace_id]
        clauses = ["workspace_id = $1"]
        for column, value in (
            ("account_id", where.account_id),
            ("platform", where.platform.value if where.platform else None),
            ("state", where.state.value if where.state else None),
        ):
            if value is not None:
                params.append(value)
                clauses.append(f"{column} = ${len(params)}")
        if where.created_after is not None:
            params.append(where.created_after)
            clauses.append(f"created_at >= ${len(params)}")
        if where.created_before is not None:
            params.append(where.created_before)
            clauses.append(f"created_at < ${len(params)}")
        if where.scheduled_after is not None:
            params.append(where.scheduled_after)
            clauses.append(f"schedule_time >= ${len(params)}")
        if where.scheduled_before is not None:
            params.append(where.scheduled_before)
            clauses.append(f"schedule_time < ${len(params)}")
        clauses.extend(keyset(cursor, params))
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
        row = await self._db.fetchrow(
            "SELECT * FROM publishes WHERE workspace_id = $1 AND account_id = $2 AND content_fingerprint = $3"
            " AND created_at >= $4 AND state NOT IN ('FAILED', 'CANCELLED', 'MISSED') ORDER BY created_at DESC LIMIT 1",
            workspace_id, account_id, content_fingerprint, since,
        )
        return _publish(row) if row else None

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        if not candidates:
            return set()
        rows = await self._db.fetch(
            "SELECT ig_media_id FROM publishes WHERE account_id = $1 AND ig_media_id = ANY($2::text[])",
            account_id, list(candidates),
        )
        return {r["ig_media_id"] for r in rows}

    async def unfinished(self) -> list[Publish]:
        rows = await self._db.fetch(
            "SELECT * FROM publishes WHERE state IN ('PENDING', 'PROCESSING') ORDER BY created_at"
        )
        return [_publish(r) for r in rows]

    # --- leases -------------------------------------------------------------------------------

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        rows = await self._db.fetch(
            # A finished publish whose run died after its last write is simply done.
            "WITH done AS (UPDATE publishes SET owner = NULL, lease_until = NULL, revision = revision + 1,"
            " updated_at = $3 WHERE owner IS NOT NULL AND lease_until < $3"
            " AND state NOT IN ('PENDING', 'PROCESSING')),"
            " claimed AS (UPDATE publishes SET owner = $1, lease_until = $2 WHERE id IN ("
            " SELECT id FROM publishes WHERE state IN ('PENDING', 'PROCESSING')"
            " AND (owner IS NULL OR lease_until < $3) ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
            " RETURNING *) SELECT * FROM claimed ORDER BY created_at",
            owner, lease_until, now, limit,
        )
        return [_publish(r) for r in rows]

    async def renew_leases(self, owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        if not publish_ids:
            return set()
        rows = await self._db.fetch(
            "UPDATE publishes SET lease_until = $1 WHERE owner = $2 AND id = ANY($3::uuid[]) RETURNING id",
            lease_until, owner, list(publish_ids),
        )
        return {str(r["id"]) for r in rows}

    async def release_lease(self, owner: str, publish_id: str, event: PublishEvent | None = None) -> Publish | None:
        now = utcnow()
        events = [event] if event is not None else []
        row = await self._db.fetchrow(
            "WITH upd AS (UPDATE publishes SET owner = NULL, lease_until = NULL, updated_at = $3,"
            " revision = revision + 1 WHERE id = $1 AND owner = $2 RETURNING *),"
            f" ev AS ({_events_sql(4)}) SELECT * FROM upd",
            publish_id, owner, now, *_event_arrays(events, now),
        )
        return _publish(row) if row else None

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

    # --- schedules ----------------------------------------------------------------------------

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int
    ) -> list[Publish]:
        """One transaction: the due rows are locked as read (SKIP LOCKED: a replica claiming at
        the same moment takes others), changed, and their events appended. A cancel or a
        reschedule of a locked row waits, then finds it no longer SCHEDULED."""
        async with self._db.connection() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT * FROM publishes WHERE state = 'SCHEDULED' AND schedule_time <= $1"
                " ORDER BY schedule_time, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                now, limit,
            )
            if not rows:
                return []
            updates: list[tuple[Any, ...]] = []
            events: list[tuple[str, PublishEvent]] = []
            for row in rows:
                publish = _publish(row)
                changes, new_events = due_change(publish, now, missed_before)
                unknown = set(changes) - {"state", "error", "started_at", "first_comment", "pending_facts",
                                          "reconcile_at"}
                assert not unknown, f"due_change changed {unknown}, which this claim does not write"
                started = changes["state"] == PublishState.PROCESSING
                error = changes.get("error")
                comment = changes.get("first_comment")
                updates.append((
                    publish.id, changes["state"].value, error.to_dict() if error else None, now,
                    owner if started else None, lease_until if started else None,
                    comment.to_dict() if comment else None, changes.get("pending_facts", publish.pending_facts),
                    changes.get("reconcile_at", publish.reconcile_at),
                ))
                events.extend((publish.id, event) for event in new_events)
            await conn.executemany(
                "UPDATE publishes SET state = $2, error = $3, started_at = $4, owner = $5, lease_until = $6,"
                " first_comment = COALESCE($7, first_comment), pending_facts = $8, reconcile_at = $9,"
                " updated_at = $4, revision = revision + 1 WHERE id = $1",
                updates,
            )
            await conn.execute(
                "INSERT INTO publish_events (publish_id, time, type, state, message, details)"
                " SELECT e.publish_id, $2, e.type, e.state, e.message, e.details::jsonb"
                " FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])"
                " WITH ORDINALITY AS e(publish_id, type, state, message, details, n) ORDER BY e.n",
                [pid for pid, _ in events], now, [e.type for _, e in events],
                [e.state.value if e.state else None for _, e in events], [e.message for _, e in events],
                [json.dumps(e.details, separators=(",", ":")) for _, e in events],
            )
            claimed = await conn.fetch(
                "SELECT * FROM publishes WHERE id = ANY($1::uuid[]) ORDER BY schedule_time, id",
                [u[0] for u in updates],
            )
        return [_publish(r) for r in claimed]

    async def next_schedule_time(self) -> datetime | None:
        value: datetime | None = await self._db.fetchval(
            "SELECT min(schedule_time) FROM publishes WHERE state = 'SCHEDULED'"
        )
        return value

    async def reschedule(self, publish_id: str, schedule_time: datetime, event: PublishEvent) -> Publish | None:
        now = utcnow()
        row = await self._db.fetchrow(
            "WITH upd AS (UPDATE publishes SET schedule_time = $2, updated_at = $3, revision = revision + 1"
            f" WHERE id = $1 AND state = 'SCHEDULED' RETURNING *), ev AS ({_events_sql(4)}) SELECT * FROM upd",
            publish_id, schedule_time, now, *_event_arrays([event], now),
        )
        return _publish(row) if row else None

    # --- changes ------------------------------------------------------------------------------

    async def save_child(
        self,
        publish_id: str,
        index: int,
        container_id: str,
        event: PublishEvent,
        earlier: Sequence[PublishEvent] = (),
        owner: str | None = None,
    ) -> Publish:
        now = utcnow()
        # Arrays are 1-based; a slot beyond the array's end is filled with NULLs up to it.
        row = await self._db.fetchrow(
            "WITH upd AS (UPDATE publishes SET child_container_ids[$2] = $3, updated_at = $4,"
            " revision = revision + 1 WHERE id = $1 AND ($5::text IS NULL OR owner = $5) RETURNING *),"
            f" ev AS ({_events_sql(6)}) SELECT * FROM upd",
            publish_id, index + 1, container_id, now, owner, *_event_arrays([*earlier, event], now),
        )
        if row is None:
            raise await self._missing(publish_id, None, owner)
        return _publish(row)

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
        now = utcnow()
        changes = publish_changes(
            state=state, error=error, published_at=published_at, pending_facts=pending_facts,
            reconcile_at=reconcile_at, reconcile_attempts=reconcile_attempts, ids=ids, release=release,
            first_comment=first_comment, options=options,
        )
        params: list[Any] = [publish_id, now, *(_column_value(n, v) for n, v in changes.items())]
        sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        guard = ""
        if state is not None:
            params.append(_ALLOWED_BEFORE[state])
            guard += f" AND state = ANY(${len(params)}::text[])"
        if owner is not None:
            params.append(owner)
            guard += f" AND owner = ${len(params)}"
        returning = "*" if known is None else "id, revision"
        sql = (
            f"WITH upd AS (UPDATE publishes SET {sets}{', ' if sets else ''}updated_at = $2,"
            f" revision = revision + 1 WHERE id = $1{guard} RETURNING {returning}),"
            f" ev AS ({_events_sql(len(params) + 1)}) SELECT * FROM upd"
        )
        row = await self._db.fetchrow(sql, *params, *_event_arrays([*earlier, event], now))
        if row is None:
            raise await self._missing(publish_id, state, owner)
        if known is None:
            return _publish(row)
        if row["revision"] != known.revision + 1:
            # Another writer changed the record after the caller's copy: read it whole.
            latest = await self.get(publish_id)
            assert latest is not None
            return latest
        return applied(known, changes, row["revision"], now)

    async def _missing(self, publish_id: str, state: PublishState | None, owner: str | None) -> Exception:
        """Why a change matched no row: no such publish, a lease the writer lost, or a state
        it may not move to."""
        current = await self._db.fetchrow("SELECT state, owner FROM publishes WHERE id = $1", publish_id)
        if current is None:
            return KeyError(publish_id)
        if owner is not None and current["owner"] != owner:
            return LeaseLost(
                reason="LEASE_LOST",
                message=f"publish {publish_id} is driven by another replica now; this run stops",
            )
        if state is None:
            return KeyError(publish_id)
        return IllegalTransition(
            reason="ILLEGAL_STATE_CHANGE",
            message=f"publish {publish_id} is {current['state']} and cannot become {state.value}",
        )

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        rows = await self._db.fetch(
            "SELECT * FROM (SELECT e.*, row_number() OVER (ORDER BY e.id) AS ordinal FROM publish_events e"
            " WHERE e.publish_id = $1) AS timeline WHERE id > $2 ORDER BY id",
            publish_id, after,
        )
        return [_event(r) for r in rows]

    # --- the workspace event stream --------------------------------------------------------
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
            "p.workspace_id = $3",
        ]
        if where is not None:
            if where.account_id is not None:
                params.append(where.account_id)
                clauses.append(f"p.account_id = ${len(params)}::uuid")
            if where.platform is not None:
                params.append(where.platform.value)
                clauses.append(f"p.platform = ${len(params)}")
            if where.states:
                params.append(sorted(s.value for s in where.states))
                clauses.append(f"e.state = ANY(${len(params)}::text[])")
            if where.since is not None:
                params.append(where.since)
                clauses.append(f"e.time >= ${len(params)}")
        params.append(limit)
        rows = await self._db.fetch(
            "SELECT e.*, e.xid::text AS xid_text, p.account_id, p.platform,"
            f" {_ORDINAL}"
            " FROM publish_events e JOIN publishes p ON p.id = e.publish_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY e.xid, e.id LIMIT ${len(params)}",
            *params,
        )
        return [
            WorkspaceEvent(
                position=EventPosition(int(r["xid_text"]), r["id"]),
                publish_id=str(r["publish_id"]),
                account_id=str(r["account_id"]),
                platform=_PLATFORMS[r["platform"]],
                event=_event(r),
            )
            for r in rows
        ]

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT e.time FROM publish_events e JOIN publishes p ON p.id = e.publish_id"
            " WHERE e.id = $1 AND e.xid = $2::text::xid8 AND p.workspace_id = $3",
            position.id, str(position.xid), workspace_id,
        )

    async def last_position(self) -> EventPosition:
        row = await self._db.fetchrow(
            "SELECT xid::text AS xid_text, id FROM publish_events"
            " WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC LIMIT 1"
        )
        return EventPosition(int(row["xid_text"]), row["id"]) if row else START


def _event(r: asyncpg.Record) -> PublishEvent:
    return PublishEvent(
        id=r["id"], sequence=r["ordinal"], time=r["time"], type=r["type"],
        state=_STATES[r["state"]] if r["state"] else None, message=r["message"], details=r["details"],
    )
