"""Registered media: register (inspecting the bytes), get, list, and fresh inspections
before a publish."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from datetime import timedelta

from server.domain.commands import MediaDraft
from server.domain.errors import NotFound
from server.domain.media import build_media, check_url, inspection_due, public_form, with_inspection
from server.domain.models import Inspection, Media, Page
from server.domain.pagination import decode_token, encode_token, page_size
from server.domain.ports import NO_TRACER, Clock, MediaInspector, MediaStore, Tracer
from server.domain.validation import check_id

# How old an inspection may be when its media is published before it is done again
# (DISTRIBUTION_MEDIA_INSPECTION_MAX_AGE): the object behind a URL can be replaced.
DEFAULT_INSPECTION_MAX_AGE = timedelta(hours=1)


class MediaLibrary:
    """Registered media: register, get, list; inspections kept fresh for publishing."""

    def __init__(
        self,
        store: MediaStore,
        clock: Clock,
        inspector: MediaInspector | None = None,
        inspection_max_age: timedelta = DEFAULT_INSPECTION_MAX_AGE,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._store = store
        self._tracer = tracer
        self._clock = clock
        # None: media fetch is off; what the URL and the caller say is all that is known.
        self._inspector = inspector
        self._max_age = inspection_max_age

    @property
    def inspects(self) -> bool:
        return self._inspector is not None

    async def register(self, workspace_id: str, draft: MediaDraft) -> Media:
        """Records the media with what its bytes are (when media fetch is on). A URL that
        cannot be read is still registered, with the failed inspection saying why: a publish
        then refuses it naming the item, and inspects it again first if it is old."""
        check_url(draft.url)  # nothing is fetched for a URL that may not be registered
        inspection = await self._inspect(draft.url) if self._inspector is not None else None
        media = build_media(str(uuid.uuid4()), workspace_id, draft, self._clock.now(), inspection)
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

    async def refreshed(self, media: Sequence[Media]) -> list[Media]:
        """`media`, in order, each with an inspection no older than the maximum age: those
        never inspected or inspected too long ago are inspected again (together; the
        inspector bounds how many at once) and saved. Unchanged when media fetch is off."""
        if self._inspector is None:
            return list(media)
        now = self._clock.now()
        due = {m.id: m for m in media if inspection_due(m, now, self._max_age)}
        if not due:
            return list(media)
        inspections = await asyncio.gather(*(self._inspect(m.url) for m in due.values()))
        updated = {m.id: with_inspection(m, i) for m, i in zip(due.values(), inspections, strict=True)}
        await asyncio.gather(*(self._store.save_inspection(m) for m in updated.values()))
        return [updated.get(m.id, m) for m in media]

    async def inspect_url(self, url: str) -> Inspection | None:
        """What the bytes at a URL that is no registered media are (a Reel's cover image);
        None when media fetch is off. Nothing is saved."""
        if self._inspector is None:
            return None
        return await self._inspect(url)

    async def _inspect(self, url: str) -> Inspection:
        assert self._inspector is not None
        # The span names no URL: a caller's URL may carry a signature in its query string.
        with self._tracer.span("media.inspect") as span:
            inspection = await self._inspector.inspect(public_form(url))
            span.set("distribution.media.outcome", inspection.outcome.value)
            if inspection.mime_type:
                span.set("distribution.media.mime_type", inspection.mime_type)
        return dataclasses.replace(inspection, inspected_at=self._clock.now())
