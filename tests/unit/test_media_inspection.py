"""Media inspection in the use cases, on fakes: registration records what the bytes are,
a publish inspects stale media again and checks them before any platform call, and
validate_only (AIP-163) writes no record and makes only platform reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from server.adapters.text import GraphemeSegmenter
from server.bootstrap import Adapters, build_services
from server.config import Settings
from server.domain.commands import InstagramCarousel, MediaDraft, TikTokCarousel
from server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, ResourceExhausted
from server.domain.models import Inspection, InspectionOutcome, MediaKind
from server.services.media import MediaLibrary
from tests.fakes import FakeClock, FakeInstagram, FakeMediaInspector, FakeStore, FakeTikTok, RecordingMetrics
from tests.unit.conftest import REPLICA, World

PUBLIC = "https://storage.googleapis.com/bucket/"


@pytest.fixture
async def inspecting() -> AsyncIterator[tuple[World, FakeMediaInspector]]:
    """The use cases on fakes with media fetch on (a fake inspector), inspections good for an hour."""
    clock = FakeClock()
    store = FakeStore(clock.now, clock.monotonic)
    instagram, tiktok, metrics = FakeInstagram(clock), FakeTikTok(), RecordingMetrics()
    inspector = FakeMediaInspector()
    segmenter = GraphemeSegmenter()
    settings = Settings(media_inspection_max_age=3600.0)
    services = build_services(
        settings,
        Adapters(store=store, instagram=instagram, tiktok=tiktok, clock=clock, segmenter=segmenter,
                 metrics=metrics, media_inspector=inspector),
        REPLICA,
    )
    world = World(clock, store, instagram, tiktok, metrics, segmenter, settings, services)
    yield world, inspector
    await services.reconciler.stop()
    await services.runner.stop(0)


def png(width: int = 1080, height: int = 1080) -> Inspection:
    return Inspection(InspectionOutcome.READ, "image/png", width, height, 50_000)


# --- the media library -------------------------------------------------------------------------


async def test_registration_records_what_the_bytes_are(inspecting) -> None:
    world, inspector = inspecting
    inspector.answers[PUBLIC + "a.jpg"] = png(800, 600)
    media = await world.services.media.register(world.workspace, MediaDraft(url="gs://bucket/a.jpg"))
    assert inspector.asked == [PUBLIC + "a.jpg"]  # gs:// read at its public https form
    assert (media.mime_type, media.kind, media.width, media.height, media.size_bytes) == (
        "image/png", MediaKind.IMAGE, 800, 600, 50_000)
    assert media.inspection is not None and media.inspection.inspected_at == world.clock.now()
    assert await world.store.media.get(world.workspace, media.id) == media


async def test_a_url_that_cannot_be_read_is_registered_with_why(inspecting) -> None:
    world, inspector = inspecting
    inspector.answers["https://cdn.example.com/a.jpg"] = Inspection(InspectionOutcome.UNREACHABLE, detail="HTTP 404")
    media = await world.services.media.register(world.workspace, MediaDraft(url="https://cdn.example.com/a.jpg"))
    assert media.mime_type == "image/jpeg"  # the extension: no bytes were read
    assert media.inspection is not None and media.inspection.outcome == InspectionOutcome.UNREACHABLE


async def test_an_invalid_url_is_refused_before_anything_is_fetched(inspecting) -> None:
    world, inspector = inspecting
    with pytest.raises(InvalidArgument):
        await world.services.media.register(world.workspace, MediaDraft(url="ftp://cdn.example.com/a.jpg"))
    assert inspector.asked == [] and world.store.media.rows == {}


async def test_only_media_older_than_the_maximum_age_are_inspected_again(inspecting) -> None:
    world, inspector = inspecting
    library = world.services.media
    a = await library.register(world.workspace, MediaDraft(url="gs://bucket/a.jpg"))
    b = await library.register(world.workspace, MediaDraft(url="gs://bucket/b.jpg"))
    inspector.asked.clear()
    world.clock.advance(1800)
    assert await library.refreshed([a, b]) == [a, b]
    assert inspector.asked == []
    world.clock.advance(1801)
    inspector.answers[PUBLIC + "b.jpg"] = Inspection(InspectionOutcome.UNREACHABLE, detail="gone")
    fresh = await library.refreshed([a, b, a])
    assert sorted(inspector.asked) == [PUBLIC + "a.jpg", PUBLIC + "b.jpg"]  # each once
    assert [m.id for m in fresh] == [a.id, b.id, a.id]
    assert fresh[1].inspection is not None and fresh[1].inspection.detail == "gone"
    assert fresh[1].mime_type == "image/jpeg"  # a failed inspection changes nothing else
    stored = await world.store.media.get(world.workspace, b.id)
    assert stored == fresh[1]


async def test_media_registered_while_fetch_was_off_are_inspected_before_a_publish() -> None:
    clock = FakeClock()
    store = FakeStore(clock.now, clock.monotonic)
    off = MediaLibrary(store.media, clock)
    media = await off.register("ws", MediaDraft(url="gs://bucket/a.png"))
    assert (media.mime_type, media.inspection) == ("image/png", None)
    assert await off.refreshed([media]) == [media]  # fetch off: nothing inspected
    inspector = FakeMediaInspector()
    [fresh] = await MediaLibrary(store.media, clock, inspector, timedelta(hours=1)).refreshed([media])
    assert inspector.asked == [PUBLIC + "a.png"]
    assert fresh.mime_type == "image/jpeg" and fresh.inspection is not None  # the bytes say JPEG


# --- publishing ------------------------------------------------------------------------------------


async def test_a_publish_refuses_bad_bytes_before_any_platform_call(inspecting) -> None:
    world, inspector = inspecting
    account = await world.instagram_account()
    inspector.answers[PUBLIC + "photo-2.jpg"] = png(3000, 1000)
    ids = await world.images(3)
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(InstagramCarousel(media_ids=ids, account_id=account.id))
    assert [(v.field, v.reason) for v in caught.value.field_violations] == [
        ("media_ids[1]", "FORMAT"), ("media_ids[1]", "ASPECT_RATIO")]
    assert world.instagram.methods() == []
    assert world.store.publishes.rows == {}


async def test_a_publish_inspects_stale_media_and_refuses_what_changed(inspecting) -> None:
    world, inspector = inspecting
    account = await world.tiktok_account()
    ids = await world.images(2)
    world.clock.advance(3601)
    inspector.answers[PUBLIC + "photo-2.jpg"] = Inspection(InspectionOutcome.UNREACHABLE, detail="HTTP 404")
    with pytest.raises(FailedPrecondition) as caught:
        await world.publish(TikTokCarousel(creator_consent_obtained=True, media_ids=ids, account_id=account.id))
    assert caught.value.reason == "MEDIA_UNREACHABLE"
    assert caught.value.message == "media_ids[1] cannot be fetched: HTTP 404"
    assert world.tiktok.methods() == []


async def test_instagram_validate_only_reads_the_quota_and_writes_nothing(inspecting) -> None:
    world, _ = inspecting
    request = await world.instagram_request(3, caption="Autumn")
    preview = await world.services.publisher.validate(world.workspace, request)
    assert preview.publish.image_count == 3 and preview.publish.caption == "Autumn"
    assert [m.id for m in preview.media] == request.media_ids
    assert world.instagram.methods() == ["publishing_limit"]
    assert world.store.publishes.rows == {}
    assert world.instagram.quota_usage == 0
    # Nothing was counted against the quota reading either: the publish still reads it.
    published = await world.publish(request)
    assert published.state.value == "PUBLISHED"


async def test_instagram_validate_only_refuses_a_used_up_quota(inspecting) -> None:
    world, _ = inspecting
    world.instagram.quota_usage = world.instagram.quota_total
    with pytest.raises(ResourceExhausted):
        await world.services.publisher.validate(world.workspace, await world.instagram_request(2))
    assert world.store.publishes.rows == {}


async def test_tiktok_validate_only_asks_creator_info_and_never_inits_or_refreshes(inspecting) -> None:
    world, _ = inspecting
    # A token about to expire: a publish would refresh it first; validate_only does not.
    account = await world.tiktok_account(access_token_expires_at=world.clock.now() + timedelta(minutes=1))
    request = await world.tiktok_request(2, account=account, privacy_level="PUBLIC_TO_EVERYONE")
    preview = await world.services.publisher.validate(world.workspace, request)
    assert preview.publish.options.privacy_level == "PUBLIC_TO_EVERYONE"
    assert world.tiktok.methods() == ["creator_info"]
    assert world.store.publishes.rows == {}


async def test_tiktok_validate_only_refuses_a_privacy_level_the_creator_may_not_use(inspecting) -> None:
    world, _ = inspecting
    world.tiktok.privacy_level_options = ("SELF_ONLY",)
    request = await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE")
    with pytest.raises(FailedPrecondition) as caught:
        await world.services.publisher.validate(world.workspace, request)
    assert caught.value.reason == "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"
    assert world.tiktok.methods() == ["creator_info"]


async def test_validate_only_reports_a_request_id_used_for_another_request(inspecting) -> None:
    world, _ = inspecting
    request = await world.instagram_request(2, request_id="5f1c2b8e-8a0d-4f53-9c1e-3b2a1d0c9e8f")
    await world.publish(request)
    other = InstagramCarousel(media_ids=list(reversed(request.media_ids)), account_id=request.account_id,
                              request_id=request.request_id)
    with pytest.raises(AlreadyExists, match="already used"):
        await world.services.publisher.validate(world.workspace, other)
