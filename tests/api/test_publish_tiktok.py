"""PublishTikTokCarousel over the wire, against the TikTok emulator: direct and inbox posts,
their options, the request checks (each naming the offending field or item), the creator's
privacy options. How the adapter reads the platform's errors:
tests/integration/test_tiktok_platform.py."""

from __future__ import annotations

import grpc
import pytest
from distribution.v1 import account_pb2, media_service_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import PublishTikTokCarouselRequest
from google.protobuf import json_format

from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error

TIKTOK = account_pb2.PLATFORM_TIKTOK


async def tiktok_account(accounts, token: str = "tt-public-token", open_id: str = "open-id-public"):
    return await connect(accounts, platform=TIKTOK, external_account_id=open_id, access_token=token)


async def publish(publishing, **kwargs):
    return await publishing.PublishTikTokCarousel(PublishTikTokCarouselRequest(**kwargs))


async def expect_error(publishing, code: grpc.StatusCode, **kwargs):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(publishing, **kwargs)
    assert info.value.code() == code, info.value.details()
    return rich_error(info.value)


async def test_direct_post_defaults_to_self_only_and_publishes(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(3))

    response = await publish(publishing, media_ids=ids,
        creator_consent_obtained=True, tiktok_account_id=account.id, caption="Hello 👋")

    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.image_count == 3
    assert len(response.tiktok_publish_id) == 36
    posts = tiktok_sandbox.posts("tt-public-token")
    assert len(posts) == 1
    post = posts[0]
    assert response.publish_id == post["publish_id"]
    assert post["post_mode"] == "DIRECT_POST"
    assert post["privacy_level"] == "SELF_ONLY"
    assert post["title"] == "Hello 👋"
    assert post["photo_cover_index"] == 0
    assert post["photo_images"] == [
        f"https://storage.googleapis.com/demo-bucket/carousel/photo-{i}.jpg" for i in range(3)
    ]
    # SELF_ONLY posts never get a public post id.
    assert response.tiktok_media_id == ""


async def test_json_names_match_the_spec(accounts, media, publishing):
    account = await tiktok_account(accounts)
    response = await publish(publishing, media_ids=await register(media, *images(2)),
        creator_consent_obtained=True, tiktok_account_id=account.id)
    assert {"tiktokPublishId", "publishId", "imageCount", "state"} <= set(json_format.MessageToDict(response))


async def test_public_post_with_options_and_a_post_id_that_arrives_late(
    accounts, media, publishing, tiktok_sandbox, service
):
    account = await tiktok_account(accounts)
    response = await publish(
        publishing,
        media_ids=await register(media, *images(4)),
        creator_consent_obtained=True, tiktok_account_id=account.id,
        caption="Public",
        description="A longer description #fyp",
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
        cover_index=2,
        disable_comment=True,
        auto_add_music=True,
    )
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    post = tiktok_sandbox.posts()[0]
    assert (post["privacy_level"], post["photo_cover_index"], post["description"]) == (
        "PUBLIC_TO_EVERYONE", 2, "A longer description #fyp"
    )
    assert post["disable_comment"] is True and post["auto_add_music"] is True
    # Moderation has not finished when TikTok reports PUBLISH_COMPLETE: no post id yet,
    # and the record says why instead of leaving it blank without a reason.
    assert response.tiktok_media_id == ""
    events = await service.adapters.store.publishes.events(response.tiktok_publish_id)
    published = [e for e in events if e.type == "PUBLISHED"]
    assert published and "not reported a public post id yet" in published[0].message


async def test_inbox_mode_delivers_to_the_inbox_and_ignores_privacy(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts, token="tt-private-inbox", open_id="open-id-private")
    response = await publish(
        publishing,
        media_ids=await register(media, *images(2)),
        creator_consent_obtained=True, tiktok_account_id=account.id,
        post_mode=publish_pb2.POST_MODE_INBOX,
        # Not allowed for a private creator, but ignored in inbox mode.
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
    )
    assert response.state == publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX
    post = tiktok_sandbox.posts()[0]
    assert post["post_mode"] == "MEDIA_UPLOAD"
    assert post["privacy_level"] in (None, "")
    assert tiktok_sandbox.calls.counts["creator_info"] == 0


async def test_privacy_not_allowed_for_a_private_creator_is_refused_before_init(
    accounts, media, publishing, tiktok_sandbox
):
    account = await tiktok_account(accounts, token="tt-private-creator", open_id="open-id-private")
    err = await expect_error(
        publishing, grpc.StatusCode.FAILED_PRECONDITION,
        media_ids=await register(media, *images(2)), creator_consent_obtained=True, tiktok_account_id=account.id,
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
    )
    assert err.reason == "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"
    assert "PRIVACY_LEVEL_FOLLOWER_OF_CREATOR" in err.message
    assert set(err.metadata["allowed"].split(",")) == {"FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}
    assert tiktok_sandbox.calls.counts["init"] == 0


async def test_s3_item_fails_precondition_naming_it(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2), "s3://bucket/photo.jpg")
    err = await expect_error(
        publishing, grpc.StatusCode.FAILED_PRECONDITION, media_ids=ids,
            creator_consent_obtained=True, tiktok_account_id=account.id
    )
    assert err.reason == "MEDIA_HOSTING_NOT_SUPPORTED"
    assert "media_ids[2]" in err.message and "GCS" in err.message
    assert tiktok_sandbox.calls.total() == 0


async def test_png_item_is_invalid_naming_it(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    ids = await register(media, "gs://b/a.jpg", "gs://b/b.png", "gs://b/c.webp")
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=ids,
            creator_consent_obtained=True, tiktok_account_id=account.id
    )
    assert set(err.violations) == {"media_ids[1]"}
    assert "image/png" in err.violations["media_ids[1]"]
    assert tiktok_sandbox.calls.total() == 0


async def test_36_items_are_invalid(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(36)), creator_consent_obtained=True, tiktok_account_id=account.id,
    )
    assert "2 to 35" in err.violations["media_ids"]
    assert tiktok_sandbox.calls.total() == 0


async def test_35_items_publish(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    response = await publish(
        publishing, media_ids=await register(media, *images(35)),
            creator_consent_obtained=True, tiktok_account_id=account.id, cover_index=34
    )
    assert response.image_count == 35
    assert len(tiktok_sandbox.posts()[0]["photo_images"]) == 35


async def test_a_caption_counts_characters_and_the_title_tiktok_gets_fits_its_utf16_limit(
    accounts, media, publishing, tiktok_sandbox
):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2))
    too_long = "a" * 89 + "😀😀"  # 91 characters
    err = await expect_error(publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=ids,
                             tiktok_account_id=account.id, caption=too_long)
    assert err.violations["caption"] == "must be at most 90 characters (Unicode code points); got 91"
    assert tiktok_sandbox.calls.counts.get("init", 0) == 0
    caption = "a" * 89 + "😀"  # 90 characters, 91 UTF-16 code units: one over TikTok's title
    ok = await publish(publishing, media_ids=ids, tiktok_account_id=account.id, caption=caption)
    assert ok.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    [post] = tiktok_sandbox.posts()
    assert (post["title"], post["description"]) == ("a" * 89 + "…", caption)


async def test_an_operator_can_refuse_a_caption_tiktoks_title_cannot_hold(start_service, tiktok_sandbox):
    service = await start_service(tiktok_require_caption_fits_title=True)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        account = await tiktok_account(stubs.accounts)
        ids = await register(stubs.media, *images(2))
        err = await expect_error(stubs.publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=ids,
                                 tiktok_account_id=account.id, caption="a" * 89 + "😀")
        assert "got 91" in err.violations["caption"]
        assert tiktok_sandbox.calls.counts.get("init", 0) == 0
        ok = await publish(stubs.publishing, media_ids=ids, tiktok_account_id=account.id, caption="a" * 88 + "😀")
        assert ok.state == publish_pb2.PUBLISH_STATE_PUBLISHED
        assert tiktok_sandbox.posts()[0]["title"] == "a" * 88 + "😀"


@pytest.mark.parametrize("cover_index", [2, -1])
async def test_cover_index_outside_the_list_is_invalid(accounts, media, publishing, cover_index):
    account = await tiktok_account(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(2)),
            creator_consent_obtained=True, tiktok_account_id=account.id, cover_index=cover_index,
    )
    assert "cover_index" in err.violations


async def test_instagram_account_is_refused(accounts, media, publishing):
    instagram = await connect(accounts)
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT,
        media_ids=await register(media, *images(2)), creator_consent_obtained=True, tiktok_account_id=instagram.id,
    )
    assert "Instagram account" in err.violations["tiktok_account_id"]


async def test_webp_items_are_accepted(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2, ext="webp"))
    response = await publish(publishing, media_ids=ids, creator_consent_obtained=True, tiktok_account_id=account.id)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED


async def test_video_item_is_invalid(accounts, media, publishing):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2))
    video = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url="gs://b/clip.mp4"))
    err = await expect_error(
        publishing, grpc.StatusCode.INVALID_ARGUMENT, media_ids=[*ids, video.media.id],
            creator_consent_obtained=True, tiktok_account_id=account.id
    )
    assert set(err.violations) == {"media_ids[2]"}
