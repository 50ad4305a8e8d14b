"""AIP-158 pagination: page sizes and opaque keyset page tokens.

A token names the last item of the previous page by (create time, id), so pages
stay stable while new items arrive (newest first: new items land before page one).
It also carries a fingerprint of the list's filters: reusing a token with other
filters is INVALID_ARGUMENT, as AIP-158 asks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from server.domain.errors import FieldViolation, invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Cursor:
    created_at: str  # the last item's create time, as `cursor_time` writes it
    id: str


def cursor_time(value: datetime) -> str:
    """A time as cursors (and SQLite rows) carry it: UTC, fixed width, microseconds, "Z";
    such strings sort in time order. Formatted by hand: this runs for every stored write."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond:06d}Z"
    )


def cursor_datetime(value: str) -> datetime:
    """The time a `cursor_time` string names."""
    return datetime.fromisoformat(value)


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid([FieldViolation(
            "page_size",
            f"must not be negative; got {requested} (0 asks for {DEFAULT_PAGE_SIZE}; at most "
            f"{MAX_PAGE_SIZE} are given)",
        )])
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def _fingerprint(filters: Mapping[str, object]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def encode_token(cursor: Cursor, filters: Mapping[str, object]) -> str:
    payload = json.dumps([cursor.created_at, cursor.id, _fingerprint(filters)]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


# Tokens this service issues are about 120 characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 512
_STORED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def decode_token(token: str, filters: Mapping[str, object]) -> Cursor | None:
    if not token:
        return None
    not_ours = invalid([FieldViolation(
        "page_token",
        "is not a token returned by this list; send the previous page's next_page_token unchanged, or none",
    )])
    if len(token) > MAX_TOKEN_LENGTH:
        raise not_ours
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, item_id, fingerprint = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise not_ours from None
    # Tokens are not signed, so check the cursor's shape before it reaches a query.
    if not (
        isinstance(created_at, str) and _STORED_TIME.fullmatch(created_at)
        and isinstance(item_id, str) and _ID.fullmatch(item_id)
        and isinstance(fingerprint, str)
    ):
        raise not_ours
    if fingerprint != _fingerprint(filters):
        raise invalid(
            [FieldViolation(
                "page_token",
                "was issued for a list with different filters; send the filters of the call that returned it, "
                "or no page_token to start over",
            )]
        )
    return Cursor(created_at, item_id)
