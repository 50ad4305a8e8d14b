"""Conversions between stored column values and domain values (times, JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, overload

import sqlite_utils

from server.domain.pagination import Cursor, cursor_time


@overload
def db_time(value: datetime) -> str: ...
@overload
def db_time(value: None) -> None: ...
@overload
def db_time(value: datetime | None) -> str | None: ...


def db_time(value: datetime | None) -> str | None:
    # The cursor's format: fixed width, so stored times sort in time order.
    return None if value is None else cursor_time(value)


@overload
def py_time(value: str) -> datetime: ...
@overload
def py_time(value: str | None) -> datetime | None: ...


def py_time(value: str | None) -> datetime | None:
    if not value:
        return None
    # fromisoformat (3.11+) reads the stored form, trailing Z included, many times faster than strptime.
    return datetime.fromisoformat(value)


def select(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts, straight from the connection: sqlite_utils' query()
    wraps every read in a savepoint, three statements (and GIL hand-offs) instead of one."""
    cursor = db.conn.execute(sql, params)
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def select_tuples(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of a SELECT as tuples, in column order: for a few known columns, no dicts."""
    return db.conn.execute(sql, params).fetchall()


def select_one(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    rows = select(db, sql, params)
    return rows[0] if rows else None


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def keyset_clause(cursor: Cursor | None) -> tuple[str, list[Any]]:
    """WHERE fragment for "older than the cursor" in (created_at DESC, id DESC) order."""
    if cursor is None:
        return "", []
    return " AND (created_at < ? OR (created_at = ? AND id < ?))", [
        cursor.created_at,
        cursor.created_at,
        cursor.id,
    ]
