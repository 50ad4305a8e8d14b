"""Post options over the wire, against the platform emulators: each option accepted and read
back from the emulated post and from GetPublish / ListPublishes, and refused with the field
and item named, before any platform call."""

from __future__ import annotations

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1 import publishing_service_pb2 as pb

from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error

IG_USER = "17841400000000001"
TIKTOK = account_pb2.PLATFORM_TIKTOK


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


# --- Instagram ------------------------------------------------------------------------------


async def test_instagram_options_reach_the_post_and_the_record(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    response = await publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
        media_ids=ids, instagram_account_id=account.id, caption="Autumn",
        images=[
            publish_pb2.InstagramImageOptions(
                alt_text="A red maple leaf on wet stone",
                user_tags=[publish_pb2.UserTag(username="@maple.fan", x=0.5, y=0.25)],
            ),
            publish_pb2.InstagramImageOptions(),
        ],
        collaborators=["@alice", "bob_2"], location_id="110843418940484", first_comment="More at the link #autumn",
    ))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    post = instagram_sandbox.posts(IG_USER)[0]
    assert response.first_comment.state == publish_pb2.FIRST_COMMENT_STATE_POSTED
    assert response.first_comment.comment_id == post["comments"][0]["id"]
    assert post["collaborators"] == ["alice", "bob_2"]
    assert post["location_id"] == "110843418940484"
    assert post["items"] == [
        {"alt_text": "A red maple leaf on wet stone", "user_tags": [{"username": "maple.fan", "x": 0.5, "y": 0.25}]},
        {"alt_text": "", "user_tags": []},
    ]
    assert [c["text"] for c in post["comments"]] == ["More at the link #autumn"]
    # Collaborators and location ride on the carousel container only.
    for child in post["children"]:
        extra = instagram_sandbox.container(child)["extra"]
        assert "collaborators" not in extra and "location_id" not in extra

    record = (await publishing.GetPublish(pb.GetPublishRequest(id=response.instagram_publish_id))).publish
    options = record.instagram_options
    assert options.images[0].alt_text == "A red maple leaf on wet stone"
    assert options.images[0].user_tags[0].username == "maple.fan"
    assert list(options.collaborators) == ["alice", "bob_2"]
    assert (options.location_id, options.first_comment) == ("110843418940484", "More at the link #autumn")
    assert record.first_comment.state == publish_pb2.FIRST_COMMENT_STATE_POSTED
    assert record.first_comment.comment_id == post["comments"][0]["id"]
    listed = (await publishing.ListPublishes(pb.ListPublishesRequest(account_id=account.id))).publishes[0]
    assert listed.instagram_options == options
    assert listed.first_comment == record.first_comment


async def test_bad_instagram_options_are_named_at_once_before_any_call(accounts, media, publishing,
                                                                       instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(3))
    calls_before = dict(instagram_sandbox.calls.counts)
    err = await refused(publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
        media_ids=ids, instagram_account_id=account.id,
        images=[
            publish_pb2.InstagramImageOptions(),
            publish_pb2.InstagramImageOptions(alt_text="a" * 1001),
            publish_pb2.InstagramImageOptions(user_tags=[publish_pb2.UserTag(username="x", x=1.2, y=0.0)]),
        ],
        collaborators=["one", "two", "three", "four"], location_id="not-a-page",
    )))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = rich_error(err).violations
    assert set(violations) == {
        "images[1].alt_text", "images[2].user_tags[0].x", "collaborators", "location_id",
    }
    assert "1000" in violations["images[1].alt_text"]
    assert dict(instagram_sandbox.calls.counts) == calls_before


async def test_a_failed_first_comment_leaves_the_publish_published(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    instagram_sandbox.fail_next("comment_create", status=400, code=10, message="Application does not have permission")
    response = await publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
        media_ids=await register(media, *images(2)), instagram_account_id=account.id, first_comment="Hi",
    ))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.first_comment.state == publish_pb2.FIRST_COMMENT_STATE_FAILED
    found = await publishing.GetPublish(pb.GetPublishRequest(id=response.instagram_publish_id))
    comment = found.publish.first_comment
    assert comment.state == publish_pb2.FIRST_COMMENT_STATE_FAILED
    assert (comment.error.platform_code, comment.error.reason) == ("10", "INSTAGRAM_PERMISSION_MISSING")
    assert found.publish.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert "FIRST_COMMENT_FAILED" in [e.type for e in found.events]
    assert instagram_sandbox.posts(IG_USER)[0]["comments"] == []


# --- TikTok ---------------------------------------------------------------------------------


async def tiktok_account(accounts, token: str = "tt-public-token"):
    return await connect(accounts, platform=TIKTOK, external_account_id=f"open-{token}", access_token=token)


async def test_tiktok_disclosure_reaches_the_post_and_the_record_keeps_the_evidence(
    accounts, media, publishing, tiktok_sandbox
):
    account = await tiktok_account(accounts)
    response = await publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=await register(media, *images(2)), tiktok_account_id=account.id,
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
        brand_content_toggle=True, brand_organic_toggle=True, creator_consent_obtained=True,
    ))
    post = tiktok_sandbox.posts("tt-public-token")[0]
    assert (post["brand_content_toggle"], post["brand_organic_toggle"]) == (True, True)
    record = (await publishing.GetPublish(pb.GetPublishRequest(id=response.tiktok_publish_id))).publish
    options = record.tiktok_options
    assert (options.brand_content_toggle, options.brand_organic_toggle) == (True, True)
    assert options.creator_consent_obtained is True
    assert options.creator_nickname == "Sandbox Creator"
    # One name, one meaning: TikTok's ids under their clear names, the old names still filled.
    assert record.tiktok_platform_publish_id == response.publish_id == post["publish_id"]
    assert record.tiktok_publish_id == record.tiktok_platform_publish_id
    assert record.id == response.tiktok_publish_id


async def test_tiktok_refusals_name_the_fields(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2))
    branded_private = await refused(publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=ids, tiktok_account_id=account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_SELF_ONLY,
        brand_content_toggle=True, creator_consent_obtained=True,
    )))
    assert branded_private.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(rich_error(branded_private).violations) == {"brand_content_toggle", "privacy_level"}

    assert tiktok_sandbox.calls.counts.get("init", 0) == 0


async def test_a_direct_post_without_a_consent_statement_is_made_and_its_record_says_not_stated(
    accounts, media, publishing, tiktok_sandbox
):
    account = await tiktok_account(accounts)
    ids = await register(media, *images(2))
    unstated = await publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=ids, tiktok_account_id=account.id))
    declared_false = await publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=ids, tiktok_account_id=account.id, creator_consent_obtained=False, allow_duplicate=True))
    assert unstated.state == declared_false.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert tiktok_sandbox.calls.counts["init"] == 2
    first = (await publishing.GetPublish(pb.GetPublishRequest(id=unstated.tiktok_publish_id))).publish
    second = (await publishing.GetPublish(pb.GetPublishRequest(id=declared_false.tiktok_publish_id))).publish
    assert not first.tiktok_options.HasField("creator_consent_obtained")  # not stated
    assert second.tiktok_options.HasField("creator_consent_obtained")
    assert second.tiktok_options.creator_consent_obtained is False
    assert first.tiktok_options.creator_nickname == second.tiktok_options.creator_nickname == "Sandbox Creator"


async def test_an_operator_can_require_the_consent_statement(start_service, tiktok_sandbox):
    service = await start_service(tiktok_require_creator_consent=True)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        account = await tiktok_account(stubs.accounts)
        ids = await register(stubs.media, *images(2))
        no_consent = await refused(stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
            media_ids=ids, tiktok_account_id=account.id)))
        assert no_consent.code() == grpc.StatusCode.FAILED_PRECONDITION
        error = rich_error(no_consent)
        assert (error.reason, error.metadata["field"]) == ("TIKTOK_CONSENT_REQUIRED", "creator_consent_obtained")
        assert "express consent" in no_consent.details()
        assert tiktok_sandbox.calls.counts.get("init", 0) == 0
        stated = await stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
            media_ids=ids, tiktok_account_id=account.id, creator_consent_obtained=True))
        assert stated.state == publish_pb2.PUBLISH_STATE_PUBLISHED


async def test_comments_a_creator_turned_off_are_turned_off_on_the_post(accounts, media, publishing, tiktok_sandbox):
    tiktok_sandbox.add_creator("tt-quiet-token", comment_disabled=True, nickname="Quiet")
    account = await tiktok_account(accounts, "tt-quiet-token")
    ids = await register(media, *images(2))
    response = await publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=ids, tiktok_account_id=account.id))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert tiktok_sandbox.posts("tt-quiet-token")[0]["disable_comment"] is True
    record = (await publishing.GetPublish(pb.GetPublishRequest(id=response.tiktok_publish_id))).publish
    assert (record.tiktok_options.disable_comment, record.tiktok_options.comments_disabled_by_creator) == (True, True)


async def test_an_operator_can_refuse_a_post_that_leaves_on_comments_the_creator_turned_off(
    start_service, tiktok_sandbox
):
    tiktok_sandbox.add_creator("tt-quiet-token", comment_disabled=True, nickname="Quiet")
    service = await start_service(tiktok_require_disable_comment=True)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        account = await tiktok_account(stubs.accounts, "tt-quiet-token")
        ids = await register(stubs.media, *images(2))
        err = await refused(stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
            media_ids=ids, tiktok_account_id=account.id)))
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert rich_error(err).metadata["field"] == "disable_comment"
        assert tiktok_sandbox.calls.counts.get("init", 0) == 0
        response = await stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
            media_ids=ids, tiktok_account_id=account.id, disable_comment=True))
        assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
        assert tiktok_sandbox.posts("tt-quiet-token")[0]["disable_comment"] is True
