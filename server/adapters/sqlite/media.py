"""Media table (the MediaStore port): registered media items."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from server.adapters.sqlite.database import Database
from server.adapters.sqlite.rows import db_time, keyset_clause, py_time, select
from server.domain.models import Inspection, InspectionOutcome, Media, MediaKind, Storage, VideoFacts
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
        inspection=_inspection(row),
        video=_video(row["video"]),
    )


def _video(text: str | None) -> VideoFacts | None:
    return VideoFacts.from_dict(json.loads(text)) if text else None


def _video_text(video: VideoFacts | None) -> str | None:
    return json.dumps(video.to_dict(), separators=(",", ":")) if video else None


def _inspection(row: dict[str, Any]) -> Inspection | None:
    if row["inspection_outcome"] is None:
        return None
    return Inspection(
        outcome=InspectionOutcome(row["inspection_outcome"]),
        mime_type=row["inspected_mime_type"],
        width=row["inspected_width"],
        height=row["inspected_height"],
        size_bytes=row["inspected_size_bytes"],
        sha256=row["content_sha256"],
        detail=row["inspection_detail"],
        inspected_at=py_time(row["inspected_at"]),
        video=_video(row["inspected_video"]),
    )


def _columns(media: Media) -> dict[str, Any]:
    """The row's columns that follow from the media's bytes (or the registration)."""
    inspection = media.inspection
    return {
        "mime_type": media.mime_type,
        "kind": media.kind.value,
        "width": media.width,
        "height": media.height,
        "size_bytes": media.size_bytes,
        "inspection_outcome": inspection.outcome.value if inspection else None,
        "inspected_mime_type": inspection.mime_type if inspection else "",
        "inspected_width": inspection.width if inspection else 0,
        "inspected_height": inspection.height if inspection else 0,
        "inspected_size_bytes": inspection.size_bytes if inspection else 0,
        "content_sha256": inspection.sha256 if inspection else "",
        "inspection_detail": inspection.detail if inspection else "",
        "inspected_at": db_time(inspection.inspected_at) if inspection else None,
        "video": _video_text(media.video),
        "inspected_video": _video_text(inspection.video) if inspection else None,
    }


class SqliteMediaStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def insert(self, media: Media) -> None:
        row = {
            "id": media.id,
            "workspace_id": media.workspace_id,
            "url": media.url,
            "storage": media.storage.value,
            "created_at": db_time(media.created_at),
            **_columns(media),
        }
        await self._db.run(lambda db: db["media"].insert(row))

    async def save_inspection(self, media: Media) -> None:
        columns = _columns(media)
        sql = f"UPDATE media SET {', '.join(f'{name} = ?' for name in columns)} WHERE id = ?"
        await self._db.run(lambda db: db.conn.execute(sql, [*columns.values(), media.id]))

    async def get(self, workspace_id: str, media_id: str) -> Media | None:
        rows = await self._db.read(
            select, "SELECT * FROM media WHERE id = ? AND workspace_id = ?", [media_id, workspace_id]
        )
        return _media(rows[0]) if rows else None

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        """The media among media_ids that exist in the workspace, by id (one query)."""
        unique = list(dict.fromkeys(media_ids))
        return await self._db.read(_get_many, workspace_id, unique)

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        clause, extra = keyset_clause(cursor)
        sql = (
            f"SELECT * FROM media WHERE workspace_id = ?{clause} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.read(select, sql, [workspace_id, *extra, limit])
        return [(_media(r), Cursor(r["created_at"], r["id"])) for r in rows]


def _get_many(db: sqlite_utils.Database, workspace_id: str, ids: list[str]) -> dict[str, Media]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = select(db, f"SELECT * FROM media WHERE workspace_id = ? AND id IN ({marks})", [workspace_id, *ids])
    return {r["id"]: _media(r) for r in rows}
