"""Pieces every PostgreSQL store shares: the keyset clause and row conversions."""

from __future__ import annotations

from typing import Any

from server.domain.pagination import Cursor, cursor_datetime


def keyset(cursor: Cursor | None, params: list[Any]) -> list[str]:
    """The WHERE clauses for "older than the cursor" in (created_at DESC, id DESC) order;
    appends their values to `params` (positional $n numbering follows it)."""
    if cursor is None:
        return []
    params.append(cursor_datetime(cursor.created_at))
    at = len(params)
    params.append(cursor.id)
    return [f"(created_at < ${at} OR (created_at = ${at} AND id < ${at + 1}::uuid))"]
