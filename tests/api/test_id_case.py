"""Ids in any letter case (macOS's uuidgen prints capitals) name the same records, in every
RPC and field that takes one: account, media and publish ids, the account_id filter,
media_ids and request_id. A request_id differing only in case replays the same publish."""

from __future__ import annotations

import uuid

import grpc
import pytest
from distribution.v1 import account_pb2, account_service_pb2, media_service_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import (
    GetPublishRequest,
    ListPublishesRequest,
    PublishInstagramCarouselRequest,
    PublishTikTokCarouselRequest,
    WatchPublishRequest,
)

from tests.support.client import connect, images, register
from tests.support.errors import rich_error


def upper(value: str) -> str:
    return value.upper()


def mixed(value: str) -> str:
    """Every other letter in capitals: neither the lower nor the upper form."""
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(value))


CASES = [upper, mixed]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
async def test_account_and_media_rpcs_take_any_case(accounts, media, case):
    account = await connect(accounts)
    [media_id] = await register(media, "gs://demo-bucket/case.jpg")

    got = await accounts.GetAccount(account_service_pb2.GetAccountRequest(id=case(account.id)))
    assert got.account.id == account.id  # answered in the canonical (lowercase) form
    got_media = await media.GetMedia(media_service_pb2.GetMediaRequest(id=case(media_id)))
    assert got_media.media.id == media_id

    gone = await accounts.DisconnectAccount(account_service_pb2.DisconnectAccountRequest(id=case(account.id)))
    assert gone.account.id == account.id
    after = await accounts.GetAccount(account_service_pb2.GetAccountRequest(id=account.id))
    assert after.account.state == account_pb2.ACCOUNT_STATE_DISCONNECTED


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
async def test_instagram_publish_takes_any_case_and_a_request_id_in_another_case_replays(
    accounts, media, publishing, instagram_sandbox, case
):
    account = await connect(accounts)
    media_ids = await register(media, *images(2))
    request_id = str(uuid.uuid4())

    def request(transform) -> PublishInstagramCarouselRequest:
        return PublishInstagramCarouselRequest(
            media_ids=[transform(m) for m in media_ids], instagram_account_id=transform(account.id),
            caption="case", request_id=transform(request_id),
        )

    first = await publishing.PublishInstagramCarousel(request(case))
    assert first.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    for transform in (str.lower, upper, mixed):
        again = await publishing.PublishInstagramCarousel(request(transform))
        assert again.instagram_publish_id == first.instagram_publish_id, transform
    assert len(instagram_sandbox.posts()) == 1

    # Without a request_id, the same media in another case is the same content: refused.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(
                media_ids=[case(m) for m in media_ids], instagram_account_id=case(account.id), caption="case"
            )
        )
    assert rich_error(info.value).reason == "DUPLICATE_PUBLISH"

    publish_id = first.instagram_publish_id
    got = await publishing.GetPublish(GetPublishRequest(id=case(publish_id)))
    assert got.publish.id == publish_id
    assert list(got.publish.media_ids) == media_ids  # stored in canonical form
    listed = await publishing.ListPublishes(ListPublishesRequest(account_id=case(account.id)))
    assert [p.id for p in listed.publishes] == [publish_id]
    watched = [m async for m in publishing.WatchPublish(WatchPublishRequest(id=case(publish_id)))]
    assert watched[-1].publish.id == publish_id


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
async def test_tiktok_publish_takes_any_case_and_a_request_id_in_another_case_replays(
    accounts, media, publishing, tiktok_sandbox, case
):
    account = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id", access_token="tt-case"
    )
    media_ids = await register(media, *images(2))
    request_id = str(uuid.uuid4())

    def request(transform) -> PublishTikTokCarouselRequest:
        return PublishTikTokCarouselRequest(
            media_ids=[transform(m) for m in media_ids],
                creator_consent_obtained=True, tiktok_account_id=transform(account.id),
            request_id=transform(request_id),
        )

    first = await publishing.PublishTikTokCarousel(request(case))
    assert first.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    for transform in (str.lower, upper, mixed):
        again = await publishing.PublishTikTokCarousel(request(transform))
        assert again.tiktok_publish_id == first.tiktok_publish_id, transform
    assert len(tiktok_sandbox.posts()) == 1
    listed = await publishing.ListPublishes(ListPublishesRequest(account_id=case(account.id)))
    assert [p.id for p in listed.publishes] == [first.tiktok_publish_id]


async def test_an_unknown_id_in_capitals_is_not_found_not_invalid(accounts, media, publishing):
    unknown = str(uuid.uuid4()).upper()
    for call in (
        accounts.GetAccount(account_service_pb2.GetAccountRequest(id=unknown)),
        media.GetMedia(media_service_pb2.GetMediaRequest(id=unknown)),
        publishing.GetPublish(GetPublishRequest(id=unknown)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert unknown.lower() in info.value.details()


@pytest.mark.parametrize(
    "field, call",
    [
        ("id", lambda s, bad: s["accounts"].GetAccount(account_service_pb2.GetAccountRequest(id=bad))),
        ("id", lambda s, bad: s["media"].GetMedia(media_service_pb2.GetMediaRequest(id=bad))),
        ("id", lambda s, bad: s["publishing"].GetPublish(GetPublishRequest(id=bad))),
        ("account_id", lambda s, bad: s["publishing"].ListPublishes(ListPublishesRequest(account_id=bad))),
        ("request_id", lambda s, bad: s["publishing"].PublishInstagramCarousel(PublishInstagramCarouselRequest(
            media_ids=[str(uuid.uuid4()), str(uuid.uuid4())], instagram_account_id=str(uuid.uuid4()),
            request_id=bad))),
    ],
)
async def test_a_malformed_id_is_refused_alike_in_every_field(accounts, media, publishing, field, call):
    stubs = {"accounts": accounts, "media": media, "publishing": publishing}
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(stubs, "not-a-uuid")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    description = rich_error(info.value).violations[field]
    assert "lowercase" not in description
    assert description.endswith("a UUID such as 0b3f6c1e-4a8d-4f0e-9c1a-2d7e5b8a9f10 (any letter case)")
