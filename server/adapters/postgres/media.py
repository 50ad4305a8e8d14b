"""Media table (the MediaStore port) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from server.adapters.postgres.database import Database
from server.adapters.postgres.rows import keyset
from server.domain.models import Inspection, InspectionOutcome, Media, MediaKind, Storage, VideoFacts
from server.domain.pagination import Cursor, cursor_time


def _media(row: asyncpg.Record) -> Media:
    return Media(
        id=str(row["id"]),
        workspace_id=row["workspace_id"],
        url=row["url"],
        mime_type=row["mime_type"],
        kind=MediaKind(row["kind"]),
        storage=Storage(row["storage"]),
        width=row["width"],
        height=row["height"],
        size_bytes=row["size_bytes"],
        created_at=row["created_at"],
        inspection=_inspection(row),
        video=_video(row["video"]),
    )


def _video(data: dict[str, Any] | None) -> VideoFacts | None:
    return VideoFacts.from_dict(data) if data else None


def _inspection(row: asyncpg.Record) -> Inspection | None:
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
        inspected_at=row["inspected_at"],
        video=_video(row["inspected_video"]),
    )


# The columns that follow from the media's bytes (or the registration), in this order.
_FACT_COLUMNS = (
    "mime_type", "kind", "width", "height", "size_bytes", "inspection_outcome", "inspected_mime_type",
    "inspected_width", "inspected_height", "inspected_size_bytes", "content_sha256", "inspection_detail",
    "inspected_at", "video", "inspected_video",
)


def _facts(media: Media) -> list[Any]:
    i = media.inspection
    return [
        media.mime_type, media.kind.value, media.width, media.height, media.size_bytes,
        i.outcome.value if i else None, i.mime_type if i else "", i.width if i else 0, i.height if i else 0,
        i.size_bytes if i else 0, i.sha256 if i else "", i.detail if i else "", i.inspected_at if i else None,
        media.video.to_dict() if media.video else None, i.video.to_dict() if i and i.video else None,
    ]


class PostgresMediaStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def insert(self, media: Media) -> None:
        marks = ", ".join(f"${n}" for n in range(5, 5 + len(_FACT_COLUMNS)))
        await self._db.execute(
            f"INSERT INTO media (id, workspace_id, url, storage, {', '.join(_FACT_COLUMNS)}, created_at)"
            f" VALUES ($1, $2, $3, $4, {marks}, ${5 + len(_FACT_COLUMNS)})",
            media.id, media.workspace_id, media.url, media.storage.value, *_facts(media), media.created_at,
        )

    async def save_inspection(self, media: Media) -> None:
        sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(_FACT_COLUMNS, start=2))
        await self._db.execute(f"UPDATE media SET {sets} WHERE id = $1", media.id, *_facts(media))

    async def get(self, workspace_id: str, media_id: str) -> Media | None:
        row = await self._db.fetchrow(
            "SELECT * FROM media WHERE id = $1 AND workspace_id = $2", media_id, workspace_id
        )
        return _media(row) if row else None

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        if not media_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT * FROM media WHERE workspace_id = $1 AND id = ANY($2::uuid[])",
            workspace_id, list(dict.fromkeys(media_ids)),
        )
        return {str(r["id"]): _media(r) for r in rows}

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        params: list[Any] = [workspace_id]
        clauses = ["workspace_id = $1", *keyset(cursor, params)]
        params.append(limit)
        rows = await self._db.fetch(
            f"SELECT * FROM media WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(params)}",
            *params,
        )
        return [(_media(r), Cursor(cursor_time(r["created_at"]), str(r["id"]))) for r in rows]
