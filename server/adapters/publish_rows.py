"""The publish log's mapping, shared by both databases: a publish record and its columns,
a change (server.domain.changes.PublishChange) as the columns it sets, the history filter
and keyset, the state sets the queries use, and why a refused write was refused.

What differs between SQLite and PostgreSQL in this is how a value is stored (text times and
JSON text on SQLite; timestamptz, jsonb and arrays on PostgreSQL: a `Values` per engine) and
how a statement names its parameters (`?` or `$n`: a placeholder function). What really
differs stays in each store: SQLite's writer thread and group commit, PostgreSQL's CTEs,
SKIP LOCKED and its xid-ordered event stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from server.domain.changes import PublishChange
from server.domain.ending import LIVE_ENDS
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.events import AccountEvent, EventPosition, WorkspaceEvent
from server.domain.models import (
    TERMINAL_STATES,
    FirstComment,
    Platform,
    Publish,
    PublishError,
    PublishEvent,
    PublishFilter,
    PublishKind,
    PublishState,
)
from server.domain.options import options_from_record
from server.domain.pagination import Cursor
from server.domain.tiktok_video import TikTokUpload
from server.domain.webhooks import EventKind

# Value -> member lookups: calling the Enum class is several times slower, and a row is
# mapped for every record of every list page.
PLATFORMS = {m.value: m for m in Platform}
KINDS = {m.value: m for m in PublishKind}
STATES = {m.value: m for m in PublishState}

# The states the queries name, derived from the domain's, never spelled out in SQL.
# Unfinished: a run drives it (or will, once an orphan is taken over).
UNFINISHED = tuple(sorted(s.value for s in PublishState if not s.terminal and s != PublishState.SCHEDULED))
FINISHED = tuple(sorted(s.value for s in TERMINAL_STATES))
# Ended with nothing posted (an UNCONFIRMED post may be live): the duplicate guard skips them.
POSTED_NOTHING = tuple(sorted(s.value for s in TERMINAL_STATES - LIVE_ENDS - {PublishState.UNCONFIRMED}))
SCHEDULED = PublishState.SCHEDULED.value


def sql_list(values: tuple[str, ...]) -> str:
    """States as an SQL list literal, for a query text built once (the values are enum
    members' values, never a caller's)."""
    return ", ".join(f"'{v}'" for v in values)


class Values(Protocol):
    """How one engine stores the publish log's values."""

    def time_in(self, value: datetime | None) -> Any: ...

    def time_out(self, value: Any) -> datetime | None: ...

    def json_in(self, value: Any) -> Any: ...

    def json_out(self, value: Any) -> Any: ...

    def list_in(self, value: list[Any]) -> Any: ...

    def list_out(self, value: Any) -> list[Any]: ...


Placeholder = Callable[[int], str]

# Columns that hold times, JSON objects and lists: the rest are stored as they are.
_TIMES = frozenset({"reconcile_at", "published_at", "lease_until", "schedule_time", "started_at"})
_OBJECTS = frozenset({"error", "first_comment", "tiktok_upload"})
_LISTS = frozenset({"pending_facts"})


def column_value(name: str, value: Any, values: Values) -> Any:
    """A changed field's domain value as its column stores it (None: NULL)."""
    if value is None:
        return None
    if name == "state":
        return value.value
    if name in _TIMES:
        return values.time_in(value)
    if name in _OBJECTS:
        return values.json_in(value.to_dict())
    if name == "options":
        return values.json_in(value.to_record())
    if name in _LISTS:
        return values.list_in(value)
    return value


def change_columns(change: PublishChange, values: Values) -> dict[str, Any]:
    """The columns `change` sets, with their stored values (its child item excepted: each
    store writes it as one item of the list)."""
    return {name: column_value(name, value, values) for name, value in change.values()}


def publish_from_row(row: Mapping[str, Any], values: Values) -> Publish:
    """The record a publishes row holds."""
    error = values.json_out(row["error"])
    comment = values.json_out(row["first_comment"])
    upload = values.json_out(row["tiktok_upload"])
    platform = row["platform"]
    created_at = values.time_out(row["created_at"])
    updated_at = values.time_out(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return Publish(
        id=str(row["id"]),
        workspace_id=row["workspace_id"],
        platform=PLATFORMS[platform],
        kind=KINDS[row["kind"]],
        account_id=str(row["account_id"]),
        media_ids=values.list_out(row["media_ids"]),
        caption=row["caption"],
        options=options_from_record(platform, values.json_out(row["options"])),
        state=STATES[row["state"]],
        request_id=row["request_id"],
        request_fingerprint=row["request_fingerprint"],
        content_fingerprint=row["content_fingerprint"],
        created_at=created_at,
        updated_at=updated_at,
        child_container_ids=values.list_out(row["child_container_ids"]),
        container_id=row["container_id"],
        ig_media_id=row["ig_media_id"],
        permalink=row["permalink"],
        tiktok_publish_id=row["tiktok_publish_id"],
        tiktok_post_id=row["tiktok_post_id"],
        error=PublishError.from_dict(error) if error else None,
        published_at=values.time_out(row["published_at"]),
        pending_facts=values.list_out(row["pending_facts"]),
        reconcile_at=values.time_out(row["reconcile_at"]),
        reconcile_attempts=row["reconcile_attempts"],
        call_in_flight=row["call_in_flight"],
        revision=row["revision"],
        owner=row["owner"],
        lease_until=values.time_out(row["lease_until"]),
        schedule_time=values.time_out(row["schedule_time"]),
        started_at=values.time_out(row["started_at"]),
        first_comment=FirstComment.from_dict(comment) if comment else None,
        traceparent=row["traceparent"],
        tiktok_upload=TikTokUpload.from_dict(upload) if upload else None,
    )


def new_row(publish: Publish, values: Values) -> dict[str, Any]:
    """The columns a new record is inserted with: what a publish starts with (its lease and
    schedule included); everything else starts at its default (no platform id, revision 0)."""
    created_at = values.time_in(publish.created_at)
    return {
        "id": publish.id,
        "workspace_id": publish.workspace_id,
        "platform": publish.platform.value,
        "kind": publish.kind.value,
        "account_id": publish.account_id,
        "media_ids": values.list_in(publish.media_ids),
        "caption": publish.caption,
        "options": values.json_in(publish.options.to_record()),
        "state": publish.state.value,
        "request_id": publish.request_id,
        "request_fingerprint": publish.request_fingerprint,
        "content_fingerprint": publish.content_fingerprint,
        "child_container_ids": values.list_in(publish.child_container_ids),
        "created_at": created_at,
        "updated_at": created_at,
        "owner": publish.owner,
        "lease_until": values.time_in(publish.lease_until),
        "schedule_time": values.time_in(publish.schedule_time),
        "first_comment": values.json_in(publish.first_comment.to_dict()) if publish.first_comment else None,
        "traceparent": publish.traceparent,
    }


# An event's place in its publish's timeline (from 1): what callers see as its sequence, a
# count of that publish's events only, never a counter shared with other publishes. (A whole
# timeline numbers its rows in one scan instead: TIMELINE.)
ORDINAL = "(SELECT count(*) FROM publish_events x WHERE x.publish_id = e.publish_id AND x.id <= e.id) AS ordinal"


def timeline_sql(mark: Placeholder) -> str:
    """A publish's timeline after an event id, each event numbered in its timeline, in one
    scan; parameters: the publish id, then the id to read after."""
    return (
        "SELECT * FROM (SELECT e.*, row_number() OVER (ORDER BY e.id) AS ordinal FROM publish_events e"
        f" WHERE e.publish_id = {mark(1)}) AS timeline WHERE id > {mark(2)} ORDER BY id"
    )


def event_from_row(row: Mapping[str, Any], values: Values) -> PublishEvent:
    state = row["state"]
    return PublishEvent(
        id=row["id"],
        sequence=row["ordinal"],
        time=values.time_out(row["time"]),
        type=row["type"],
        state=STATES[state] if state else None,
        message=row["message"],
        details=values.json_out(row["details"]),
        trace_id=row["trace_id"],
    )


# --- the workspace stream: publish events and account events (publish_id NULL) -------------

# A publish event's workspace, account and platform are its publish's; an account event's
# are on its own row.
def stream_select(extra_columns: str = "") -> str:
    return (
        f"SELECT e.*, {extra_columns}COALESCE(p.account_id, e.account_id) AS subject_account_id,"
        f" COALESCE(p.platform, e.platform) AS subject_platform, {ORDINAL}"
        " FROM publish_events e LEFT JOIN publishes p ON p.id = e.publish_id"
    )


STREAM_WORKSPACE = "COALESCE(p.workspace_id, e.workspace_id)"
STREAM_ACCOUNT = "COALESCE(p.account_id, e.account_id)"
STREAM_PLATFORM = "COALESCE(p.platform, e.platform)"
_KINDS = {k.value: k for k in EventKind}


def kinds_clause(kinds: frozenset[EventKind]) -> str:
    """The events of these kinds, as an SQL condition (the values are enum members' values)."""
    parts = []
    if EventKind.PUBLISH_STATE_CHANGED in kinds:
        parts.append("(e.publish_id IS NOT NULL AND e.state IS NOT NULL)")
    if EventKind.PUBLISH_UPDATED in kinds:
        parts.append("(e.publish_id IS NOT NULL AND e.state IS NULL)")
    accounts = tuple(sorted(k.value for k in kinds if k.of_accounts))
    if accounts:
        parts.append(f"(e.publish_id IS NULL AND e.type IN ({sql_list(accounts)}))")
    return "(" + " OR ".join(parts) + ")"


def workspace_event_from_row(row: Mapping[str, Any], position: EventPosition, values: Values) -> WorkspaceEvent:
    publish_id = row["publish_id"]
    account_id, platform = str(row["subject_account_id"]), PLATFORMS[row["subject_platform"]]
    if publish_id is None:
        time = values.time_out(row["time"])
        assert time is not None  # NOT NULL
        account_event = AccountEvent(
            kind=_KINDS[row["type"]], time=time, message=row["message"],
            details=values.json_out(row["details"]),
        )
        return WorkspaceEvent(position, "", account_id, platform, None, account_event)
    return WorkspaceEvent(position, str(publish_id), account_id, platform, event_from_row(row, values))


def account_event_columns(event: AccountEvent, values: Values) -> tuple[Any, ...]:
    """(time, type, message, details) of an account event to append."""
    return values.time_in(event.time), event.kind.value, event.message, values.json_in(event.details)


def event_columns(event: PublishEvent, now: datetime, values: Values) -> tuple[Any, ...]:
    """(time, type, state, message, details, trace_id) of an event to append; one without a
    time of its own happened `now`."""
    return (
        values.time_in(event.time or now), event.type, event.state.value if event.state else None,
        event.message, values.json_in(event.details), event.trace_id,
    )


# --- history ------------------------------------------------------------------------------


def history_clauses(
    workspace_id: str, where: PublishFilter, cursor: Cursor | None, mark: Placeholder, values: Values,
    cursor_time: Callable[[str], Any],
) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of a history page and their parameters: the workspace, each filter
    that is set, and the keyset "older than the cursor" in (created_at DESC, id DESC) order.
    `mark(n)` names the n-th parameter (from 1); `cursor_time` gives a cursor's time as the
    created_at column compares."""
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return mark(len(params))

    clauses = [f"workspace_id = {param(workspace_id)}"]
    for column, value in (
        ("account_id", where.account_id),
        ("platform", where.platform.value if where.platform else None),
        ("state", where.state.value if where.state else None),
        ("kind", where.kind.value if where.kind else None),
    ):
        if value is not None:
            clauses.append(f"{column} = {param(value)}")
    for column, op, bound in (
        ("created_at", ">=", where.created_after), ("created_at", "<", where.created_before),
        ("schedule_time", ">=", where.scheduled_after), ("schedule_time", "<", where.scheduled_before),
    ):
        if bound is not None:
            clauses.append(f"{column} {op} {param(values.time_in(bound))}")
    if cursor is not None:
        at = cursor_time(cursor.created_at)
        clauses.append(f"(created_at < {param(at)} OR (created_at = {param(at)} AND id < {param(cursor.id)}))")
    return clauses, params


# --- refused writes -----------------------------------------------------------------------


def refusal(
    publish_id: str, current: tuple[str, str | None] | None, change: PublishChange, owner: str | None
) -> Exception:
    """Why a write matched no row, from the row's (state, owner) as read after it (None: no
    such row): no such publish (KeyError), a lease the writer lost (LeaseLost), or a state
    the change may not be made from (IllegalTransition)."""
    if current is None:
        return KeyError(publish_id)
    state, current_owner = current
    if owner is not None and current_owner != owner:
        return LeaseLost(
            reason="LEASE_LOST",
            message=f"publish {publish_id} is driven by another replica now; this run stops",
        )
    wanted = change.state.value if change.state is not None else "changed"
    return IllegalTransition(
        reason="ILLEGAL_STATE_CHANGE",
        message=f"publish {publish_id} is {state} and cannot be {wanted}" if change.state is None
        else f"publish {publish_id} is {state} and cannot become {wanted}",
    )


def allowed_states(change: PublishChange) -> list[str] | None:
    """The states (stored values) the row must be in for `change`; None: any."""
    allowed = change.allowed_from()
    return None if allowed is None else sorted(s.value for s in allowed)
