"""The spec page's conformance suite ("Distribution Publishing": the Instagram carousel and
TikTok photo carousel request tables and their responses), over HTTP and over gRPC.

Every request table is sent (a) with only its required fields and (b) with every field, in
the spec's own names and spellings (`mediaIds`, `coverIndex`, `"SELF_ONLY"`, `"direct"`,
`"inbox"`), at the limits the spec states (2 to 10 Instagram images, 2 to 35 TikTok ones,
captions of 2200 and 90 characters, counted as characters even where the platform counts
UTF-16 units or bytes). Each must be published, the defaults the spec states
must reach the platform (read from the emulator's record of the calls it served, not from
our own record: SELF_ONLY, a direct post, cover 0; privacy ignored in inbox mode), and each
response must carry the spec's fields under exactly the spec's names.

A spec-valid request must never be refused by default. A future rule (a platform guideline,
an issue's wish) that refuses one of these requests must fail this suite: make such a rule an
operator's opt-in setting instead (as DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT,
_REQUIRE_CAPTION_FITS_TITLE and _REQUIRE_DISABLE_COMMENT are).
"""

from __future__ import annotations

import re
from typing import Any

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1 import publishing_service_pb2 as pb
from google.protobuf import json_format

from tests.support.client import INSTAGRAM_USER_ID, Stubs, connect, images, register
from tests.support.http import HttpApi

INSTAGRAM = "/api/v1/publish/instagram/carousel"
TIKTOK = "/api/v1/publish/tiktok/carousel"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The spec's response fields, by name, with their JSON type.
INSTAGRAM_RESPONSE = {"instagramPublishId": str, "igMediaId": str, "permalink": str, "imageCount": int}
TIKTOK_RESPONSE = {"tiktokPublishId": str, "publishId": str, "tiktokMediaId": str, "imageCount": int}
# What the contract answers beside them (documented in proto/); never a second spelling of a spec field.
CONTRACT_EXTRAS = {"state", "media", "firstComment"}
SPEC_PRIVACY_LEVELS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
# The sandbox creator who may use each level: a public creator, or a private one (token says so).
CREATOR_TOKEN = {"FOLLOWER_OF_CREATOR": "sandbox-private-token"}


def assert_spec_response(body: dict[str, Any], spec: dict[str, type], image_count: int) -> None:
    assert set(spec) <= set(body), f"spec fields missing: {set(spec) - set(body)}"
    assert set(body) - set(spec) <= CONTRACT_EXTRAS, f"not the spec's names: {set(body) - set(spec) - CONTRACT_EXTRAS}"
    for name, kind in spec.items():
        assert isinstance(body[name], kind), (name, body[name])
    assert body["imageCount"] == image_count
    publish_id = body.get("instagramPublishId") or body.get("tiktokPublishId")
    assert UUID.match(publish_id), publish_id  # "string (UUID)" as the spec shows it


@pytest.fixture
async def service(start_service):
    return await start_service(http_listen="127.0.0.1:0")


@pytest.fixture
async def http(service):
    async with HttpApi(service.http.origin) as api:
        yield api


async def http_account(http: HttpApi, platform: str, external: str, token: str) -> str:
    reply = await http.post(
        "/api/v1/accounts", {"platform": platform, "externalAccountId": external, "username": "spec",
                             "accessToken": token},
    )
    assert reply.status == 200, reply.body
    return str(reply.body["account"]["id"])


async def http_media(http: HttpApi, count: int, prefix: str) -> list[str]:
    ids = []
    for url in images(count, prefix=prefix):
        reply = await http.post("/api/v1/media", {"url": url})
        assert reply.status == 200, reply.body
        ids.append(reply.body["media"]["id"])
    return ids


# --- Instagram carousel publishing -------------------------------------------------------------


async def test_http_instagram_with_only_the_required_fields(http, instagram_sandbox):
    account = await http_account(http, "INSTAGRAM", INSTAGRAM_USER_ID, "sandbox-token")
    media_ids = await http_media(http, 2, "gs://spec/ig-min")
    reply = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account})
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, INSTAGRAM_RESPONSE, 2)
    [post] = instagram_sandbox.posts(INSTAGRAM_USER_ID)
    assert (post["id"], post["permalink"]) == (reply.body["igMediaId"], reply.body["permalink"])
    assert post["media_type"] == "CAROUSEL_ALBUM" and len(post["children"]) == 2
    assert not post["caption"]  # no caption sent: the spec's caption is optional


async def test_http_instagram_with_every_field_at_the_spec_s_limits(http, instagram_sandbox):
    account = await http_account(http, "INSTAGRAM", INSTAGRAM_USER_ID, "sandbox-token")
    media_ids = await http_media(http, 10, "gs://spec/ig-full")
    caption = ("Autumn in the sandbox. " * 100)[:2200]
    reply = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account, "caption": caption})
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, INSTAGRAM_RESPONSE, 10)
    [post] = instagram_sandbox.posts(INSTAGRAM_USER_ID)
    assert post["caption"] == caption and len(post["children"]) == 10
    assert post["image_urls"] == [url.replace("gs://", "https://storage.googleapis.com/")
                                  for url in images(10, prefix="gs://spec/ig-full")]


# The spec counts characters; a platform may count UTF-16 units (an emoji outside the BMP is 2)
# or bytes. Captions at the spec's limit that are long in every other count.
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 characters, 11 UTF-16 units
WIDE_CAPTIONS = {
    "emoji": "🍂" * 90,
    "joined-emoji": FAMILY * 12 + "🇫🇷" * 3,
    "accents-and-skin-tones": "e\u0301" * 30 + "\U0001f44d\U0001f3fd" * 15,
}


async def test_http_instagram_caption_of_2200_characters_however_they_are_encoded(http, instagram_sandbox):
    account = await http_account(http, "INSTAGRAM", INSTAGRAM_USER_ID, "sandbox-token")
    media_ids = await http_media(http, 2, "gs://spec/ig-wide")
    caption = "🍂" * 2199 + "a"  # 2200 characters, 4399 UTF-16 units, 8797 UTF-8 bytes
    reply = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account, "caption": caption})
    assert reply.status == 200, reply.body
    [post] = instagram_sandbox.posts(INSTAGRAM_USER_ID)
    assert post["caption"] == caption


# --- TikTok photo carousel publishing ----------------------------------------------------------


async def test_http_tiktok_with_only_the_required_fields_posts_with_the_spec_s_defaults(http, tiktok_sandbox):
    account = await http_account(http, "TIKTOK", "spec-open-id", "sandbox-tiktok-token")
    media_ids = await http_media(http, 2, "gs://spec/tt-min")
    reply = await http.post(TIKTOK, {"mediaIds": media_ids, "tiktokAccountId": account})
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, TIKTOK_RESPONSE, 2)
    [post] = tiktok_sandbox.posts()
    assert post["publish_id"] == reply.body["publishId"]
    # privacyLevel defaults to SELF_ONLY, postMode to direct, coverIndex to 0.
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == ("DIRECT_POST", "SELF_ONLY", 0)
    assert len(post["photo_images"]) == 2 and post["title"] == ""


@pytest.mark.parametrize("privacy_level", SPEC_PRIVACY_LEVELS)
async def test_http_tiktok_with_every_field_in_the_spec_s_spellings(http, tiktok_sandbox, privacy_level):
    token = CREATOR_TOKEN.get(privacy_level, "sandbox-tiktok-token")
    account = await http_account(http, "TIKTOK", f"spec-{privacy_level.lower()}", token)
    media_ids = await http_media(http, 35, f"gs://spec/tt-full-{privacy_level.lower()}")
    caption = "Autumn over HTTP " + "🍂" * 36  # 17 + 72 UTF-16 units: within the spec's 90
    reply = await http.post(TIKTOK, {
        "mediaIds": media_ids, "tiktokAccountId": account, "caption": caption,
        "privacyLevel": privacy_level, "postMode": "direct", "coverIndex": 34,
    })
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, TIKTOK_RESPONSE, 35)
    [post] = tiktok_sandbox.posts(token)
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == (
        "DIRECT_POST", privacy_level, 34)
    assert post["title"] == caption and len(post["photo_images"]) == 35


@pytest.mark.parametrize("kind", sorted(WIDE_CAPTIONS))
async def test_http_tiktok_caption_of_90_characters_is_posted_whole_however_tiktok_counts_it(
    http, tiktok_sandbox, kind
):
    """TikTok's title takes 90 UTF-16 units and the emulator refuses more with invalid_params,
    as TikTok does: the caption reaches TikTok whole as the description, under a title that
    fits; the record says what was sent."""
    caption = WIDE_CAPTIONS[kind]
    assert len(caption) <= 90 < len(caption.encode("utf-16-le")) // 2
    account = await http_account(http, "TIKTOK", f"spec-wide-{kind}", "sandbox-tiktok-token")
    media_ids = await http_media(http, 2, f"gs://spec/tt-wide-{kind}")
    reply = await http.post(TIKTOK, {"mediaIds": media_ids, "tiktokAccountId": account, "caption": caption})
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, TIKTOK_RESPONSE, 2)
    [post] = tiktok_sandbox.posts()
    assert post["description"] == caption
    title = post["title"]
    assert len(title.encode("utf-16-le")) // 2 <= 90 and title.endswith("…")
    assert caption.startswith(title.removesuffix("…"))
    record = await http.get(f"/api/v1/publishes/{reply.body['tiktokPublishId']}")
    options = record.body["publish"]["tiktokOptions"]
    assert (record.body["publish"]["caption"], options["platformTitle"], options["platformDescription"]) == (
        caption, title, caption)


async def test_http_tiktok_smallest_request_is_made_for_a_creator_who_turned_comments_off(http, tiktok_sandbox):
    """The spec has no disable_comment: a creator's own setting does not refuse its request.
    The post is sent with comments off, which is all TikTok lets such a creator's post have."""
    tiktok_sandbox.add_creator("spec-quiet-token", comment_disabled=True, nickname="Quiet")
    account = await http_account(http, "TIKTOK", "spec-quiet", "spec-quiet-token")
    media_ids = await http_media(http, 2, "gs://spec/tt-quiet")
    reply = await http.post(TIKTOK, {"mediaIds": media_ids, "tiktokAccountId": account})
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, TIKTOK_RESPONSE, 2)
    [post] = tiktok_sandbox.posts("spec-quiet-token")
    assert (post["post_mode"], post["privacy_level"], post["disable_comment"]) == ("DIRECT_POST", "SELF_ONLY", True)
    record = await http.get(f"/api/v1/publishes/{reply.body['tiktokPublishId']}")
    options = record.body["publish"]["tiktokOptions"]
    assert (options["disableComment"], options["commentsDisabledByCreator"]) == (True, True)


async def test_http_tiktok_inbox_ignores_the_privacy_level_as_the_spec_says(http, tiktok_sandbox):
    account = await http_account(http, "TIKTOK", "spec-inbox", "sandbox-tiktok-token")
    media_ids = await http_media(http, 3, "gs://spec/tt-inbox")
    reply = await http.post(TIKTOK, {
        "mediaIds": media_ids, "tiktokAccountId": account, "caption": "For the inbox",
        "privacyLevel": "PUBLIC_TO_EVERYONE", "postMode": "inbox", "coverIndex": 2,
    })
    assert reply.status == 200, reply.body
    assert_spec_response(reply.body, TIKTOK_RESPONSE, 3)
    [post] = tiktok_sandbox.posts()
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == ("MEDIA_UPLOAD", None, 2)


# --- the same requests over gRPC -----------------------------------------------------------------


@pytest.fixture
def stubs(channel: grpc.aio.Channel) -> Stubs:
    return Stubs.on(channel)


def as_json(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


async def test_grpc_instagram_smallest_and_fullest(stubs, instagram_sandbox):
    account = await connect(stubs.accounts)
    smallest = await stubs.publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
        media_ids=await register(stubs.media, *images(2, prefix="gs://spec/grpc-ig-min")),
        instagram_account_id=account.id,
    ))
    assert_spec_response(as_json(smallest), INSTAGRAM_RESPONSE, 2)
    caption = "c" * 2200
    fullest = await stubs.publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
        media_ids=await register(stubs.media, *images(10, prefix="gs://spec/grpc-ig-full")),
        instagram_account_id=account.id, caption=caption,
    ))
    assert_spec_response(as_json(fullest), INSTAGRAM_RESPONSE, 10)
    posts = instagram_sandbox.posts(INSTAGRAM_USER_ID)
    assert [len(p["children"]) for p in posts] == [2, 10]
    assert [p["id"] for p in posts] == [smallest.ig_media_id, fullest.ig_media_id]
    assert posts[1]["caption"] == caption


async def test_grpc_tiktok_smallest_posts_with_the_spec_s_defaults(stubs, tiktok_sandbox):
    account = await connect(stubs.accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="grpc-spec",
                            access_token="sandbox-tiktok-token")
    smallest = await stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=await register(stubs.media, *images(2, prefix="gs://spec/grpc-tt-min")),
        tiktok_account_id=account.id,
    ))
    assert smallest.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert_spec_response(as_json(smallest), TIKTOK_RESPONSE, 2)
    [post] = tiktok_sandbox.posts()
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == ("DIRECT_POST", "SELF_ONLY", 0)


@pytest.mark.parametrize("privacy_level", SPEC_PRIVACY_LEVELS)
async def test_grpc_tiktok_fullest(stubs, tiktok_sandbox, privacy_level):
    token = CREATOR_TOKEN.get(privacy_level, "sandbox-tiktok-token")
    account = await connect(stubs.accounts, platform=account_pb2.PLATFORM_TIKTOK,
                            external_account_id=f"grpc-{privacy_level.lower()}", access_token=token)
    fullest = await stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=await register(stubs.media, *images(35, prefix=f"gs://spec/grpc-tt-{privacy_level.lower()}")),
        tiktok_account_id=account.id, caption=WIDE_CAPTIONS["emoji"],
        privacy_level=publish_pb2.PrivacyLevel.Value(f"PRIVACY_LEVEL_{privacy_level}"),
        post_mode=publish_pb2.POST_MODE_DIRECT, cover_index=34,
    ))
    assert fullest.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert_spec_response(as_json(fullest), TIKTOK_RESPONSE, 35)
    [post] = tiktok_sandbox.posts(token)
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == (
        "DIRECT_POST", privacy_level, 34)
    assert (post["title"], post["description"]) == ("🍂" * 44 + "…", WIDE_CAPTIONS["emoji"])


async def test_grpc_tiktok_inbox(stubs, tiktok_sandbox):
    account = await connect(stubs.accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="grpc-inbox",
                            access_token="sandbox-tiktok-token")
    inbox = await stubs.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(
        media_ids=await register(stubs.media, *images(2, prefix="gs://spec/grpc-tt-inbox")),
        tiktok_account_id=account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
        post_mode=publish_pb2.POST_MODE_INBOX,
    ))
    assert inbox.state == publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX
    assert_spec_response(as_json(inbox), TIKTOK_RESPONSE, 2)
    [post] = tiktok_sandbox.posts()
    assert (post["post_mode"], post["privacy_level"]) == ("MEDIA_UPLOAD", None)
