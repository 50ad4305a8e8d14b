"""Media table (the MediaStore port) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from server.adapters.postgres.database import Database
from server.adapters.postgres.rows import keyset
from server.domain.models import Media, MediaKind, Storage
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
    )


class PostgresMediaStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def insert(self, media: Media) -> None:
        await self._db.execute(
            "INSERT INTO media (id, workspace_id, url, mime_type, kind, storage, width, height, size_bytes,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            media.id, media.workspace_id, media.url, media.mime_type, media.kind.value, media.storage.value,
            media.width, media.height, media.size_bytes, media.created_at,
        )

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
