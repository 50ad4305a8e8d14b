"""PublishInstagramCarousel over the wire, against the Graph API emulator: every field of the
answer, the request checks (each naming the offending field or item), the caller's deadline.
How the adapter reads the platform's errors: tests/integration/test_instagram_platform.py."""

from __future__ import annotations

import grpc
import pytest
from distribution.v1 import account_pb2, media_service_pb2, publish_pb2
from distribution.v1.account_service_pb2 import DisconnectAccountRequest
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest
from google.protobuf import json_format

from tests.support.client import connect, images, register
from tests.support.errors import rich_error
from tests.support.waiting import eventually


async def publish(publishing, **kwargs):
    return await publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(**kwargs))


async def expect_error(publishing, code: grpc.StatusCode, **kwargs):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(publishing, **kwargs)
    assert info.value.code() == code, info.value.details()
    return rich_error(info.value)


async def test_publishes_a_carousel_and_returns_every_field(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    media_ids = await register(media, *images(4))

    response = await publish(
        publishing, media_ids=media_ids, instagram_account_id=account.id, caption="Autumn #demo @friend"
    )

    assert response.image_count == 4
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(response.instagram_publish_id) == 36
    posts = instagram_sandbox.posts("17841400000000001")
    assert len(posts) == 1
    post = posts[0]
    assert response.ig_media_id == post["id"]
    assert response.permalink == post["permalink"]
    assert response.permalink.startswith("https://www.instagram.com/p/")
    # The caption rides on the carousel container only, never on the items.
    assert post["caption"] == "Autumn #demo @friend"
    children = [instagram_sandbox.container(cid) for cid in post["children"]]
    assert [c["image_url"] for c in children] == [
        f"https://storage.googleapis.com/demo-bucket/carousel/photo-{i}.jpg" for i in range(4)
    ]
    assert all(not c.get("caption") for c in children)


async def test_json_names_match_the_spec(accounts, media, publishing):
    account = await connect(accounts)
    response = await publish(publishing, media_ids=await register(media, *images(2)), instagram_account_id=account.id)
    as_json = json_format.MessageToDict(response)
    assert {"instagramPublishId", "igMediaId", "permalink", "imageCount"} <= set(as_json)


@pytest.mark.parametrize("count", [1, 11])
async def test_item_count_outside_2_to_10_is_invalid(accounts, media, publishing, instagram_sandbox, count):
    account = await connect(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(count)), instagram_account_id=account.id,
    )
    assert "media_ids" in err.violations
    assert f"got {count}" in err.violations["media_ids"]
    assert instagram_sandbox.calls.total() == 0


async def test_unknown_media_is_not_found_naming_the_item(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(3))
    ids[2] = "9b2f8c1e-0000-4000-8000-000000000000"
    err = await expect_error(publishing, grpc.StatusCode.NOT_FOUND, media_ids=ids, instagram_account_id=account.id)
    assert err.reason == "MEDIA_NOT_FOUND"
    assert err.metadata["field"] == "media_ids[2]"
    assert "media_ids[2]" in err.message
    assert instagram_sandbox.calls.total() == 0


async def test_malformed_media_id_is_invalid_naming_the_item(accounts, media, publishing):
    account = await connect(accounts)
    ids = await register(media, *images(3))
    ids[1] = "not-a-uuid"
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=ids, instagram_account_id=account.id
    )
    assert set(err.violations) == {"media_ids[1]"}


async def test_video_item_is_invalid_naming_the_item(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    video = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url="https://cdn.example.com/clip.mp4"))
    ids.insert(1, video.media.id)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=ids, instagram_account_id=account.id
    )
    assert set(err.violations) == {"media_ids[1]"}
    assert "images only" in err.violations["media_ids[1]"]
    assert instagram_sandbox.calls.total() == 0


async def test_unknown_account_is_not_found(media, publishing):
    err = await expect_error(
        publishing, grpc.StatusCode.NOT_FOUND,
        media_ids=await register(media, *images(2)),
        instagram_account_id="2f1c7a52-5d1e-4c4f-9d0a-8f6b1b2e3c4d",
    )
    assert err.reason == "ACCOUNT_NOT_FOUND"
    assert err.metadata["field"] == "instagram_account_id"


async def test_tiktok_account_is_refused(accounts, media, publishing):
    tiktok = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id-1")
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(2)), instagram_account_id=tiktok.id,
    )
    assert "instagram_account_id" in err.violations
    assert "TikTok" in err.violations["instagram_account_id"]


async def test_disconnected_account_fails_precondition(accounts, media, publishing):
    account = await connect(accounts)
    await accounts.DisconnectAccount(DisconnectAccountRequest(id=account.id))
    err = await expect_error(
        publishing, grpc.StatusCode.FAILED_PRECONDITION,
        media_ids=await register(media, *images(2)), instagram_account_id=account.id,
    )
    assert err.reason == "ACCOUNT_NOT_CONNECTED"


@pytest.mark.parametrize(
    "caption, needle",
    [
        ("x" * 2201, "2200 characters"),
        (" ".join(f"#tag{i}" for i in range(31)), "30 hashtags"),
        (" ".join(f"@user{i}" for i in range(21)), "20 @mentions"),
    ],
)
async def test_caption_limits(accounts, media, publishing, instagram_sandbox, caption, needle):
    account = await connect(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(2)), instagram_account_id=account.id, caption=caption,
    )
    assert needle in err.violations["caption"]
    assert instagram_sandbox.calls.total() == 0


async def test_caption_at_the_limits_is_accepted(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    caption = " ".join([*(f"#t{i}" for i in range(30)), *(f"@u{i}" for i in range(20))])
    caption += " " + "x" * (2200 - len(caption) - 1)
    assert len(caption) == 2200
    response = await publish(
        publishing, media_ids=await register(media, *images(2)), instagram_account_id=account.id, caption=caption
    )
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED


async def test_caller_deadline_does_not_cancel_the_publish(accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.processing_delay = 0.5
    account = await connect(accounts)
    ids = await register(media, *images(2))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id), timeout=0.2
        )
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await eventually(instagram_sandbox.posts, "the publish to go on after the caller's deadline", every=0.05)
    assert len(instagram_sandbox.posts()) == 1
