"""Media table (the MediaStore port): registered media items."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from server.adapters.sqlite.database import Database
from server.adapters.sqlite.rows import db_time, keyset_clause, py_time, select
from server.domain.models import Media, MediaKind, Storage
from server.domain.pagination import Cursor


def _media(row: dict[str, Any]) -> Media:
    return Media(
        id=row["id"],
        workspace_id=row["workspace_id"],
        url=row["url"],
        mime_type=row["mime_type"],
        kind=MediaKind(row["kind"]),
        storage=Storage(row["storage"]),
        width=row["width"],
        height=row["height"],
        size_bytes=row["size_bytes"],
        created_at=py_time(row["created_at"]),
    )


class SqliteMediaStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def insert(self, media: Media) -> None:
        row = dataclasses.asdict(media)
        row.update(kind=media.kind.value, storage=media.storage.value, created_at=db_time(media.created_at))
        await self._db.run(lambda db: db["media"].insert(row))

    async def get(self, workspace_id: str, media_id: str) -> Media | None:
        rows = await self._db.run(
            select, "SELECT * FROM media WHERE id = ? AND workspace_id = ?", [media_id, workspace_id]
        )
        return _media(rows[0]) if rows else None

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        """The media among media_ids that exist in the workspace, by id (one query)."""
        unique = list(dict.fromkeys(media_ids))
        return await self._db.run(_get_many, workspace_id, unique)

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        clause, extra = keyset_clause(cursor)
        sql = (
            f"SELECT * FROM media WHERE workspace_id = ?{clause} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.run(select, sql, [workspace_id, *extra, limit])
        return [(_media(r), Cursor(r["created_at"], r["id"])) for r in rows]


def _get_many(db: sqlite_utils.Database, workspace_id: str, ids: list[str]) -> dict[str, Media]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = select(db, f"SELECT * FROM media WHERE workspace_id = ? AND id IN ({marks})", [workspace_id, *ids])
    return {r["id"]: _media(r) for r in rows}
