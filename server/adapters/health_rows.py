"""The account_health table's rows as domain values, for both stores (one mapping, so the
SQLite and PostgreSQL stores cannot read a row differently)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from server.domain.account_events import ConditionName
from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote

# The column keeping the marker of the condition each account event was last sent for.
MARKERS: dict[ConditionName, str] = {"token_expiring": "token_expiring_marker", "quota_low": "quota_low_marker"}


def facts_of(row: Mapping[str, Any], time: Callable[[Any], datetime | None]) -> HealthFacts:
    """`time` reads a stored time (SQLite keeps text, PostgreSQL timestamptz)."""
    creator_read_at = time(row["creator_read_at"])
    creator = None
    if creator_read_at is not None and row["creator_can_post"] is not None:
        options = row["creator_privacy_level_options"]
        comment = row["creator_comment_disabled"]
        creator = CreatorStatus(
            read_at=creator_read_at,
            can_post=bool(row["creator_can_post"]),
            cannot_post_reason=row["creator_cannot_post_reason"],
            privacy_level_options=tuple(options.split(",")) if options else (),
            comment_disabled=None if comment is None else bool(comment),
            max_video_post_duration_sec=row["creator_max_video_post_duration_sec"],
        )
    failure_at = time(row["failure_at"])
    failure = (
        PlatformFailureNote(row["failure_code"], row["failure_message"], failure_at) if failure_at is not None else None
    )
    return HealthFacts(checked_at=time(row["checked_at"]), creator=creator, last_failure=failure)


def creator_columns(creator: CreatorStatus) -> dict[str, Any]:
    """The creator_* columns for `creator` (times as datetimes: each store converts them)."""
    return {
        "creator_read_at": creator.read_at,
        "creator_can_post": creator.can_post,
        "creator_cannot_post_reason": creator.cannot_post_reason,
        "creator_privacy_level_options": ",".join(creator.privacy_level_options),
        "creator_comment_disabled": creator.comment_disabled,
        "creator_max_video_post_duration_sec": creator.max_video_post_duration_sec,
    }
