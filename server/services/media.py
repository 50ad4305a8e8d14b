"""Registered media: register, get, list."""

from __future__ import annotations

import uuid

from server.domain.commands import MediaDraft
from server.domain.errors import NotFound
from server.domain.media import build_media
from server.domain.models import Media, Page
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import Clock, MediaStore
from server.domain.validation import check_id


class MediaLibrary:
    """Registered media: register, get, list."""

    def __init__(self, store: MediaStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def register(self, workspace_id: str, draft: MediaDraft) -> Media:
        media = build_media(str(uuid.uuid4()), workspace_id, draft, self._clock.now())
        await self._store.insert(media)
        return media

    async def get(self, workspace_id: str, media_id: str) -> Media:
        media_id = check_id("id", media_id, "a media id")
        media = await self._store.get(workspace_id, media_id)
        if media is None:
            raise NotFound(
                reason="MEDIA_NOT_FOUND",
                message=f"No media {media_id} in this workspace; check the id (ListMedia lists them)",
                metadata={"media_id": media_id},
            )
        return media

    async def list_page(self, workspace_id: str, requested_size: int, token: str) -> Page:
        size = page_size(requested_size)
        cursor = decode_token(token, {})
        rows = await self._store.list_page(workspace_id, size + 1, cursor)
        items = [media for media, _ in rows[:size]]
        next_token = encode_token(rows[size - 1][1], {}) if len(rows) > size else ""
        return Page(items, next_token)
