"""The media stores keep an item's inspection (schema version 4), the same in SQLite and in
PostgreSQL: inserted with it, read back whole, replaced by save_inspection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from server.adapters.crypto import TokenCipher
from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.media import with_inspection
from server.domain.models import Inspection, InspectionOutcome, Media, MediaKind, Storage
from server.domain.ports import Store
from tests.postgres import fresh_database

WHEN = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
MEDIA_ID = "0b9c7f5e-2c1d-4e8a-9f3b-6a5d4c3b2a19"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    cipher = TokenCipher([Fernet.generate_key()])
    if request.param == "sqlite":
        opened: Store = await SqliteStore.open(tmp_path / "d.db", cipher)
        yield opened
        await opened.close()
        return
    async with fresh_database() as url:
        opened = await PostgresStore.open(url, cipher, 2)
        yield opened
        await opened.close()


def item(inspection: Inspection | None) -> Media:
    return Media(
        id=MEDIA_ID, workspace_id="w", url="gs://b/a.jpg", mime_type="image/jpeg", kind=MediaKind.IMAGE,
        storage=Storage.GCS, width=0, height=0, size_bytes=0, created_at=WHEN, inspection=inspection,
    )


async def test_an_item_never_inspected_reads_back_without_inspection(store: Store) -> None:
    await store.media.insert(item(None))
    assert await store.media.get("w", MEDIA_ID) == item(None)


async def test_the_inspection_is_stored_whole_and_replaced(store: Store) -> None:
    read = Inspection(InspectionOutcome.READ, "image/png", 1086, 1448, 9_437_184, "ab" * 32, "", WHEN)
    media = with_inspection(item(None), read)
    await store.media.insert(media)
    got = await store.media.get("w", MEDIA_ID)
    assert got == media
    assert (got.mime_type, got.width, got.height, got.size_bytes) == ("image/png", 1086, 1448, 9_437_184)
    later = WHEN.replace(minute=45)
    failed = with_inspection(media, Inspection(InspectionOutcome.UNREACHABLE, detail="HTTP 404", inspected_at=later))
    await store.media.save_inspection(failed)
    assert (await store.media.get_many("w", [MEDIA_ID]))[MEDIA_ID] == failed
    [(listed, _)] = await store.media.list_page("w", 10, None)
    assert listed.inspection == failed.inspection
    assert listed.mime_type == "image/png"  # a failed inspection changes nothing else
