"""The MediaStore contract: what every media store does (server/domain/ports.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta, timezone

from server.domain.media import VideoFacts, with_inspection
from server.domain.models import Inspection, InspectionOutcome, MediaKind, Storage
from server.domain.ports import Store
from tests.contracts.records import OTHER_WORKSPACE, T0, WORKSPACE, at, new_media


async def test_insert_then_get_round_trips_every_field(store: Store) -> None:
    media = new_media(url="s3://bucket/clip.mp4", mime_type="video/mp4", kind=MediaKind.VIDEO,
                      storage=Storage.S3, width=0, height=0, size_bytes=0)
    await store.media.insert(media)
    assert await store.media.get(WORKSPACE, media.id) == media


async def test_times_come_back_in_utc_with_microseconds(store: Store) -> None:
    local = T0.astimezone(timezone(timedelta(hours=-5)))
    media = new_media(local)
    await store.media.insert(media)
    stored = await store.media.get(WORKSPACE, media.id)
    assert stored is not None
    assert stored.created_at == T0
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_get_sees_only_its_own_workspace(store: Store) -> None:
    media = new_media()
    await store.media.insert(media)
    assert await store.media.get(OTHER_WORKSPACE, media.id) is None
    assert await store.media.get(WORKSPACE, str(uuid.uuid4())) is None


async def test_get_many_returns_the_known_ones_by_id(store: Store) -> None:
    mine = [new_media(at(i)) for i in range(3)]
    foreign = new_media(workspace_id=OTHER_WORKSPACE)
    for media in [*mine, foreign]:
        await store.media.insert(media)
    unknown = str(uuid.uuid4())
    found = await store.media.get_many(WORKSPACE, [mine[2].id, mine[0].id, mine[2].id, unknown, foreign.id])
    assert found == {mine[2].id: mine[2], mine[0].id: mine[0]}
    assert await store.media.get_many(WORKSPACE, []) == {}


async def test_list_pages_newest_first_and_ties_by_id(store: Store) -> None:
    media = [new_media(at(i)) for i in range(4)] + [new_media(at(2)) for _ in range(2)]
    for item in media:
        await store.media.insert(item)
    await store.media.insert(new_media(at(9), workspace_id=OTHER_WORKSPACE))
    expected = [m.id for m in sorted(media, key=lambda m: (m.created_at, m.id), reverse=True)]
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.media.list_page(WORKSPACE, 4, cursor)
        seen += [m.id for m, _ in page]
        if len(page) < 4:
            break
        cursor = page[-1][1]
    assert seen == expected
    assert cursor is not None
    assert cursor.id == expected[3]


async def test_a_page_is_stable_while_newer_media_arrive(store: Store) -> None:
    for i in range(3):
        await store.media.insert(new_media(at(i)))
    first = await store.media.list_page(WORKSPACE, 2, None)
    await store.media.insert(new_media(at(100)))
    rest = await store.media.list_page(WORKSPACE, 10, first[-1][1])
    assert len(rest) == 1
    assert rest[0][0].created_at == at(0)


# --- inspections (schema version 4) -----------------------------------------------------------


async def test_an_item_never_inspected_has_no_inspection(store: Store) -> None:
    media = new_media()
    await store.media.insert(media)
    stored = await store.media.get(WORKSPACE, media.id)
    assert stored is not None and stored.inspection is None


async def test_the_inspection_round_trips_every_field(store: Store) -> None:
    inspection = Inspection(InspectionOutcome.READ, "image/png", 1086, 1448, 9_437_184, "ab" * 32, "", at(5))
    media = with_inspection(new_media(), inspection)
    await store.media.insert(media)
    assert await store.media.get(WORKSPACE, media.id) == media
    [(listed, _)] = await store.media.list_page(WORKSPACE, 10, None)
    assert listed == media


async def test_save_inspection_replaces_the_inspection_and_the_facts_it_fixed(store: Store) -> None:
    media = new_media(mime_type="image/jpeg", width=0, height=0, size_bytes=0)
    await store.media.insert(media)
    read = with_inspection(media, Inspection(InspectionOutcome.READ, "image/webp", 1080, 1920, 77_000, "", "", at(1)))
    await store.media.save_inspection(read)
    assert (await store.media.get_many(WORKSPACE, [media.id]))[media.id] == read
    failed = with_inspection(read, Inspection(InspectionOutcome.UNREACHABLE, detail="the host answered HTTP 404",
                                              inspected_at=at(2)))
    await store.media.save_inspection(failed)
    stored = await store.media.get(WORKSPACE, media.id)
    assert stored == failed
    assert (stored.mime_type, stored.width, stored.size_bytes) == ("image/webp", 1080, 77_000)  # kept


# --- video facts (schema version 12) ---------------------------------------------------------

REEL_FACTS = VideoFacts("mp4", 12_480, 1080, 1920, 29.97, "h264", "aac", 4_718_592, 65_536)


async def test_video_facts_round_trip_on_the_media_and_its_inspection(store: Store) -> None:
    inspection = Inspection(InspectionOutcome.READ, "video/mp4", 1080, 1920, 4_718_592, "", "", at(3), REEL_FACTS)
    media = with_inspection(new_media(url="https://cdn.example/reel.mp4", mime_type="video/mp4",
                                      kind=MediaKind.VIDEO), inspection)
    assert media.video == REEL_FACTS
    await store.media.insert(media)
    stored = await store.media.get(WORKSPACE, media.id)
    assert stored == media
    assert stored is not None and stored.video is not None and stored.video.frame_rate == 29.97
    [(listed, _)] = await store.media.list_page(WORKSPACE, 10, None)
    assert listed == media


async def test_a_video_without_audio_keeps_its_empty_audio_codec(store: Store) -> None:
    silent = VideoFacts("webm", 3_000, 720, 1280, 30.0, "vp9", "", 200_000, 200_000)
    inspection = Inspection(InspectionOutcome.READ, "video/webm", 720, 1280, 200_000, "", "", at(1), silent)
    media = with_inspection(new_media(url="https://cdn.example/a.webm", kind=MediaKind.VIDEO), inspection)
    await store.media.insert(media)
    assert (await store.media.get_many(WORKSPACE, [media.id]))[media.id].video == silent


async def test_save_inspection_sets_the_video_facts_and_a_failed_one_keeps_them(store: Store) -> None:
    media = new_media(url="https://cdn.example/reel.mp4", mime_type="video/mp4", kind=MediaKind.VIDEO)
    await store.media.insert(media)
    assert (await store.media.get(WORKSPACE, media.id)).video is None  # type: ignore[union-attr]
    inspection = Inspection(InspectionOutcome.READ, "video/mp4", 1080, 1920, 4_718_592, "", "", at(1), REEL_FACTS)
    read = with_inspection(media, inspection)
    await store.media.save_inspection(read)
    assert await store.media.get(WORKSPACE, media.id) == read
    failed = with_inspection(read, Inspection(InspectionOutcome.UNREACHABLE, detail="HTTP 503", inspected_at=at(2)))
    await store.media.save_inspection(failed)
    stored = await store.media.get(WORKSPACE, media.id)
    assert stored == failed
    assert stored is not None and stored.video == REEL_FACTS and stored.inspection is not None
    assert stored.inspection.video is None
