"""PublishInstagramMedia over the wire, against the Graph API emulator: one image as a feed
post, one video as a Reel (the emulator's REELS containers, processing longer), the options
each takes, a Reel whose processing outlives the caller's deadline, the Reel limits checked
on the inspected video (each naming media_id), validate_only, history by kind."""

from __future__ import annotations

import grpc
import pytest
from distribution.v1 import publish_pb2
from distribution.v1.publishing_service_pb2 import (
    GetPublishRequest,
    ListPublishesRequest,
    PublishInstagramMediaRequest,
    WatchPublishRequest,
)

from tests.support.client import Stubs, connect, register
from tests.support.errors import rich_error
from tests.support.waiting import eventually

BUCKET = "gs://demo-bucket/"
IG_USER = "17841400000000001"


async def publish_media(publishing, **kwargs):
    return await publishing.PublishInstagramMedia(PublishInstagramMediaRequest(**kwargs))


async def expect_error(publishing, code: grpc.StatusCode, **kwargs):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish_media(publishing, **kwargs)
    assert info.value.code() == code, info.value.details()
    return rich_error(info.value)


async def test_an_image_is_published_as_a_feed_post_with_its_options(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    [image_id] = await register(media, BUCKET + "single/photo-1.jpg")

    response = await publish_media(
        publishing, media_id=image_id, instagram_account_id=account.id, caption="One photo #demo",
        alt_text="A red leaf", user_tags=[publish_pb2.UserTag(username="@friend", x=0.5, y=0.25)],
        collaborators=["@partner"], location_id="110843418940484",
    )

    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.kind == publish_pb2.PUBLISH_KIND_IMAGE
    [post] = instagram_sandbox.posts(IG_USER)
    assert (response.ig_media_id, response.permalink) == (post["id"], post["permalink"])
    assert post["media_type"] == "IMAGE" and post["caption"] == "One photo #demo"
    container = instagram_sandbox.container(response.instagram_container_id)
    assert container is not None and container["media_type"] == "IMAGE" and not container["is_carousel_item"]
    assert container["image_url"] == "https://storage.googleapis.com/demo-bucket/single/photo-1.jpg"
    extra = container["extra"]
    assert extra["alt_text"] == "A red leaf"
    assert extra["user_tags"] == [{"username": "friend", "x": 0.5, "y": 0.25}]
    assert (extra["collaborators"], extra["location_id"]) == (["partner"], "110843418940484")
    # Two calls make the post: the container, then media_publish (and the permalink read).
    counts = instagram_sandbox.calls.counts
    assert (counts["create_container"], counts["media_publish"]) == (1, 1)


async def test_a_video_is_published_as_a_reel_with_its_options(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/autumn-1080x1920.mp4")

    response = await publish_media(
        publishing, media_id=video_id, instagram_account_id=account.id, caption="Autumn reel",
        thumb_offset_ms=1500, share_to_feed=False, collaborators=["partner"],
    )

    assert (response.state, response.kind) == (publish_pb2.PUBLISH_STATE_PUBLISHED, publish_pb2.PUBLISH_KIND_REEL)
    [post] = instagram_sandbox.posts(IG_USER)
    assert post["media_type"] == "VIDEO" and post["id"] == response.ig_media_id
    container = instagram_sandbox.container(response.instagram_container_id)
    assert container is not None and container["media_type"] == "REELS"
    extra = container["extra"]
    assert extra["video_url"] == "https://storage.googleapis.com/demo-bucket/reels/autumn-1080x1920.mp4"
    assert (extra["thumb_offset"], extra["share_to_feed"], extra["collaborators"]) == (1500, False, ["partner"])
    assert "cover_url" not in extra and "alt_text" not in extra
    record = await publishing.GetPublish(GetPublishRequest(id=response.instagram_publish_id))
    assert record.publish.kind == publish_pb2.PUBLISH_KIND_REEL
    options = record.publish.instagram_options
    assert (options.thumb_offset_ms, options.share_to_feed) == (1500, False)
    types = [e.type for e in record.events]
    assert types[:3] == ["CREATED", "PROCESSING_STARTED", "CONTAINER_CREATED"]
    assert "PUBLISHED" in types and "CAROUSEL_CONTAINER_CREATED" not in types


async def test_a_reel_outliving_the_callers_deadline_is_answered_processing_and_still_completes(
    accounts, media, publishing, instagram_sandbox
) -> None:
    # Long enough that any loaded machine answers within the deadline first; ended below.
    instagram_sandbox.config.reel_processing_delay = 600.0
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/long-processing.mp4")

    response = await publishing.PublishInstagramMedia(
        PublishInstagramMediaRequest(media_id=video_id, instagram_account_id=account.id), timeout=2.0
    )

    # Answered before the deadline, with the id to watch: no DEADLINE_EXCEEDED, no lost id.
    assert response.state == publish_pb2.PUBLISH_STATE_PROCESSING
    assert response.kind == publish_pb2.PUBLISH_KIND_REEL and response.instagram_publish_id
    container_id = response.instagram_container_id
    assert container_id and instagram_sandbox.posts() == []

    async def processing_recorded() -> bool:
        record = await publishing.GetPublish(GetPublishRequest(id=response.instagram_publish_id))
        return "REEL_PROCESSING" in [e.type for e in record.events]

    await eventually(processing_recorded, "the Reel's processing in the timeline", every=0.05)
    instagram_sandbox.state.containers[container_id].ready_at = 0.0  # processing ends now
    await eventually(instagram_sandbox.posts, "the Reel to be published after the caller left", every=0.05)

    async def published() -> bool:
        record = await publishing.GetPublish(GetPublishRequest(id=response.instagram_publish_id))
        return record.publish.state == publish_pb2.PUBLISH_STATE_PUBLISHED

    await eventually(published, "the record to say PUBLISHED", every=0.05)
    assert len(instagram_sandbox.posts()) == 1
    assert instagram_sandbox.calls.counts["create_container"] == 1  # never re-created


@pytest.mark.parametrize(
    ("name", "extra", "code", "reason", "subcode"),
    [
        # Unread (media fetch off), so only Instagram's processing can tell.
        ("film-15fps.mp4", {}, grpc.StatusCode.UNAVAILABLE, "INSTAGRAM_VIDEO_UPLOAD_FAILED", "2207053"),
        ("old-mpeg4.mp4", {}, grpc.StatusCode.INVALID_ARGUMENT, "INSTAGRAM_VIDEO_FORMAT_UNSUPPORTED", "2207026"),
        ("clip-4s.mp4", {"thumb_offset_ms": 60_000}, grpc.StatusCode.INVALID_ARGUMENT,
         "INSTAGRAM_THUMB_OFFSET_INVALID", "2207057"),
    ],
)
async def test_a_reel_the_platform_cannot_process_fails_with_its_subcode(
    accounts, media, publishing, instagram_sandbox, name, extra, code, reason, subcode
) -> None:
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/" + name)
    err = await expect_error(publishing, code, media_id=video_id, instagram_account_id=account.id, **extra)
    assert (err.reason, err.metadata["platform_subcode"]) == (reason, subcode)
    assert f"error code {subcode}" in err.message
    assert instagram_sandbox.posts() == []


async def test_kind_specific_options_are_refused_on_the_other_kind(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    image_id, video_id = await register(media, BUCKET + "single/photo-2.jpg", BUCKET + "reels/clip.mp4")
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_id=image_id, instagram_account_id=account.id,
        cover_url="https://cdn.example.com/cover.jpg", share_to_feed=True,
    )
    assert set(err.violations) == {"cover_url", "share_to_feed"}
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_id=video_id, instagram_account_id=account.id,
        alt_text="words", cover_url="ftp://x/cover.jpg", thumb_offset_ms=-1, user_tags=[publish_pb2.UserTag(
            username="ok", x=2.0, y=0.5)],
    )
    assert {"cover_url", "thumb_offset_ms", "user_tags[0].x"} <= set(err.violations)
    assert instagram_sandbox.calls.total() == 0


async def test_missing_or_malformed_media_id_names_media_id(accounts, publishing, instagram_sandbox):
    account = await connect(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.NOT_FOUND, media_id="9b2f8c1e-0000-4000-8000-000000000000",
        instagram_account_id=account.id,
    )
    assert err.metadata["field"] == "media_id"
    err = await expect_error(publishing, grpc.StatusCode.INVALID_ARGUMENT, instagram_account_id=account.id)
    assert set(err.violations) == {"media_id"}
    assert instagram_sandbox.calls.total() == 0


async def test_validate_only_previews_the_reel_and_records_nothing(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/preview.mp4")
    response = await publish_media(publishing, media_id=video_id, instagram_account_id=account.id, validate_only=True)
    assert response.kind == publish_pb2.PUBLISH_KIND_REEL
    assert response.state == publish_pb2.PUBLISH_STATE_UNSPECIFIED and not response.instagram_publish_id
    assert response.media.id == video_id
    assert (await publishing.ListPublishes(ListPublishesRequest())).publishes == []
    assert instagram_sandbox.calls.counts.get("create_container", 0) == 0


async def test_history_filters_by_kind(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    image_id, video_id = await register(media, BUCKET + "single/photo-3.jpg", BUCKET + "reels/kind.mp4")
    image = await publish_media(publishing, media_id=image_id, instagram_account_id=account.id)
    reel = await publish_media(publishing, media_id=video_id, instagram_account_id=account.id)
    reels = await publishing.ListPublishes(ListPublishesRequest(kind=publish_pb2.PUBLISH_KIND_REEL))
    assert [p.id for p in reels.publishes] == [reel.instagram_publish_id]
    images = await publishing.ListPublishes(ListPublishesRequest(kind=publish_pb2.PUBLISH_KIND_IMAGE))
    assert [p.id for p in images.publishes] == [image.instagram_publish_id]
    carousels = await publishing.ListPublishes(ListPublishesRequest(kind=publish_pb2.PUBLISH_KIND_CAROUSEL))
    assert carousels.publishes == []


@pytest.fixture
async def inspecting(start_service):
    service = await start_service(media_fetch="sandbox", media_fetch_timeout=20.0)
    async with grpc.aio.insecure_channel(service.address) as channel:
        yield Stubs.on(channel)


@pytest.mark.parametrize(
    ("name", "reason", "words"),
    [
        ("short-2s.mp4", "DURATION", "lasts 2.005 s; Instagram Reels take at least 3 s"),
        ("web.webm", "FORMAT", "is WebM; Instagram Reels take MP4 or MOV"),
        ("old-mpeg4.mp4", "VIDEO_CODEC", "is encoded as MPEG-4 Part 2"),
        ("film-15fps.mp4", "FRAME_RATE", "runs at 15 frames a second"),
        ("wide-2560x1440.mp4", "WIDTH", "is 2560 px wide"),
    ],
)
async def test_the_reel_limits_are_checked_on_the_inspected_video_naming_media_id(
    inspecting, instagram_sandbox, name, reason, words
) -> None:
    accounts, media, publishing = inspecting
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/" + name)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_id=video_id, instagram_account_id=account.id
    )
    assert err.reason == "MEDIA_NOT_ALLOWED"
    assert list(err.violations) == ["media_id"], err.violations  # every problem names it (WebM has three)
    assert f"media_id: {words}" in err.message
    assert instagram_sandbox.calls.total() == 0


async def test_a_reels_cover_is_inspected_too(inspecting, instagram_sandbox) -> None:
    accounts, media, publishing = inspecting
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/covered.mp4")
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_id=video_id, instagram_account_id=account.id,
        cover_url=BUCKET + "covers/cover-as-png.jpg",
    )
    assert err.violations == {"cover_url": "is image/png; a Reel's cover is a JPEG"}
    err = await expect_error(
        publishing, grpc.StatusCode.FAILED_PRECONDITION, media_id=video_id, instagram_account_id=account.id,
        cover_url="https://unreachable.example.com/cover.jpg",
    )
    assert list(err.violations) == ["cover_url"] and err.reason == "MEDIA_UNREACHABLE"
    assert instagram_sandbox.calls.counts.get("create_container", 0) == 0
    response = await publish_media(
        publishing, media_id=video_id, instagram_account_id=account.id, cover_url=BUCKET + "covers/cover.jpg"
    )
    extra = instagram_sandbox.container(response.instagram_container_id)["extra"]
    assert extra["cover_url"] == "https://storage.googleapis.com/demo-bucket/covers/cover.jpg"


async def test_an_inspected_9_16_reel_with_its_index_at_the_end_is_published(inspecting, instagram_sandbox) -> None:
    accounts, media, publishing = inspecting
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/tall-1080x1920-moov-end.mp4")
    response = await publish_media(publishing, media_id=video_id, instagram_account_id=account.id)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


async def test_watching_a_reel_shows_its_processing_then_its_end(accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.reel_processing_delay = 600.0  # ended by the test once the watch sees it
    account = await connect(accounts)
    [video_id] = await register(media, BUCKET + "reels/watched.mp4")
    answer = await publishing.PublishInstagramMedia(
        PublishInstagramMediaRequest(media_id=video_id, instagram_account_id=account.id), timeout=1.5
    )
    assert answer.state == publish_pb2.PUBLISH_STATE_PROCESSING
    seen: list[int] = []
    async for message in publishing.WatchPublish(WatchPublishRequest(id=answer.instagram_publish_id), timeout=30):
        seen.append(message.publish.state)
        if message.publish.state == publish_pb2.PUBLISH_STATE_PROCESSING:
            record = await publishing.GetPublish(GetPublishRequest(id=answer.instagram_publish_id))
            if "REEL_PROCESSING" in [e.type for e in record.events]:
                instagram_sandbox.state.containers[answer.instagram_container_id].ready_at = 0.0
    assert seen[0] == publish_pb2.PUBLISH_STATE_PROCESSING
    assert seen[-1] == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


async def test_a_first_comment_is_posted_on_the_live_image(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    [image_id] = await register(media, BUCKET + "single/commented.jpg")
    response = await publish_media(
        publishing, media_id=image_id, instagram_account_id=account.id, first_comment="#autumn #leaves"
    )
    assert response.first_comment.state == publish_pb2.FIRST_COMMENT_STATE_POSTED
    [post] = instagram_sandbox.posts(IG_USER)
    assert [c["text"] for c in post["comments"]] == ["#autumn #leaves"]
