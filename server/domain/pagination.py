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
from dataclasses import dataclass

from server.domain.errors import FieldViolation, invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Cursor:
    created_at: str  # stored time string of the last item returned
    id: str


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid([FieldViolation("page_size", "must not be negative")])
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def _fingerprint(filters: dict[str, object]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def encode_token(cursor: Cursor, filters: dict[str, object]) -> str:
    payload = json.dumps([cursor.created_at, cursor.id, _fingerprint(filters)]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str, filters: dict[str, object]) -> Cursor | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, item_id, fingerprint = json.loads(raw)
        if not all(isinstance(v, str) for v in (created_at, item_id, fingerprint)):
            raise ValueError
    except (ValueError, TypeError):
        raise invalid([FieldViolation("page_token", "is not a token returned by this list")]) from None
    if fingerprint != _fingerprint(filters):
        raise invalid(
            [FieldViolation("page_token", "was issued for a list with different filters")]
        )
    return Cursor(created_at, item_id)
