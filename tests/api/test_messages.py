"""What a caller reads when a request is refused: grammatical English that names the field,
the value it got and what would work. Exact texts, over a real socket."""

from __future__ import annotations

import uuid

import grpc
import pytest
from distribution.v1 import account_pb2, account_service_pb2, media_pb2, media_service_pb2
from distribution.v1.publishing_service_pb2 import (
    ListPublishesRequest,
    PublishInstagramCarouselRequest,
    PublishTikTokCarouselRequest,
)

from tests.support.client import connect, images, register
from tests.support.errors import rich_error

UUID_EXAMPLE = "a UUID such as 0b3f6c1e-4a8d-4f0e-9c1a-2d7e5b8a9f10 (any letter case)"


async def refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_an_account_of_the_other_platform_says_which_rpc_takes_it(accounts, media, publishing):
    instagram = await connect(accounts)
    tiktok = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id", access_token="tt"
    )
    ids = await register(media, *images(2))

    err = rich_error(await refused(publishing.PublishTikTokCarousel(
        PublishTikTokCarouselRequest(media_ids=ids, creator_consent_obtained=True, tiktok_account_id=instagram.id)
    )))
    assert err.violations == {
        "tiktok_account_id": f"names an Instagram account ({instagram.id}); give a TikTok account, "
        "or publish to this one with PublishInstagramCarousel"
    }
    err = rich_error(await refused(publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=tiktok.id)
    )))
    assert err.violations == {
        "instagram_account_id": f"names a TikTok account ({tiktok.id}); give an Instagram account, "
        "or publish to this one with PublishTikTokCarousel"
    }


async def test_not_found_names_the_id_and_where_to_look(accounts, media, publishing):
    unknown = str(uuid.uuid4())
    err = await refused(accounts.GetAccount(account_service_pb2.GetAccountRequest(id=unknown)))
    assert err.details() == f"No account {unknown} in this workspace; check the id (ListAccounts lists them)"
    err = await refused(media.GetMedia(media_service_pb2.GetMediaRequest(id=unknown)))
    assert err.details() == f"No media {unknown} in this workspace; check the id (ListMedia lists them)"

    account = await connect(accounts)
    [known] = await register(media, "gs://b/known.jpg")
    err = await refused(publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(media_ids=[known, unknown], instagram_account_id=account.id)
    ))
    assert err.details() == (
        f"No media in this workspace for media_ids[1] ({unknown}); check the ids (ListMedia lists them)"
    )
    err = await refused(publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(media_ids=[known, known], instagram_account_id=unknown)
    ))
    assert err.details() == (
        f"No account {unknown} in this workspace for instagram_account_id; check the id (ListAccounts lists them)"
    )


async def test_field_violations_name_the_value_they_got(accounts, media, publishing):
    err = rich_error(await refused(accounts.ListAccounts(account_service_pb2.ListAccountsRequest(page_size=-1))))
    assert err.violations == {"page_size": "must not be negative; got -1 (0 asks for 50; at most 1000 are given)"}

    err = rich_error(await refused(media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url="ftp://b/x.jpg"))))
    assert err.violations == {"url": "must be an https, gs or s3 URL, e.g. gs://bucket/photo.jpg; got scheme 'ftp'"}

    err = rich_error(await refused(media.RegisterMedia(
        media_service_pb2.RegisterMediaRequest(url="gs://b/x.bin", mime_type="text/plain")
    )))
    assert err.violations == {"mime_type": "must be an image/* or video/* type; got text/plain"}

    err = rich_error(await refused(media.RegisterMedia(
        media_service_pb2.RegisterMediaRequest(url="gs://b/x.jpg", kind=media_pb2.MEDIA_KIND_VIDEO)
    )))
    assert err.violations == {
        "kind": "is VIDEO, but the URL's extension gives image/jpeg, which is IMAGE; leave kind unset to infer it"
    }

    err = rich_error(await refused(publishing.ListPublishes(ListPublishesRequest(platform=99))))
    assert err.violations == {"platform": "must be one of PLATFORM_INSTAGRAM, PLATFORM_TIKTOK; got 99"}

    tiktok = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id", access_token="tt"
    )
    err = rich_error(await refused(publishing.PublishTikTokCarousel(PublishTikTokCarouselRequest(
        media_ids=await register(media, *images(2)),
            creator_consent_obtained=True, tiktok_account_id=tiktok.id, cover_index=5,
        request_id="retry-1",
    ))))
    assert err.violations == {
        "cover_index": "must be the index of one of media_ids, 0 to 1; got 5",
        "request_id": f"must be an idempotency key you choose: {UUID_EXAMPLE}",
    }
    assert err.message == (
        "Invalid request: cover_index: must be the index of one of media_ids, 0 to 1; got 5; "
        f"request_id: must be an idempotency key you choose: {UUID_EXAMPLE}"
    )


async def test_a_connect_with_a_bad_instagram_user_id_says_what_one_looks_like(accounts):
    err = rich_error(await refused(accounts.ConnectAccount(account_service_pb2.ConnectAccountRequest(
        platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id="@demo", access_token="t"
    ))))
    assert err.violations == {
        "external_account_id": "must be the account's Instagram user id, digits only (e.g. 17841400000000001)"
    }


async def test_a_wrong_api_key_says_what_to_send(start_service):
    service = await start_service(api_keys="alpha=a-key-of-sixteen-chars-or-more")
    async with grpc.aio.insecure_channel(service.address) as channel:
        err = await refused(
            channel.unary_unary("/distribution.v1.AccountService/ListAccounts")(
                b"", metadata=(("authorization", "Bearer not-the-key-0000000000"),)
            )
        )
    assert err.details() == "The API key is not valid; send a key configured for your workspace"


async def test_a_huge_value_is_echoed_only_in_part(media):
    # The whole status (message and details) travels in grpc's metadata, bounded at 16 KiB.
    huge = "image/" + "x" * 200_000
    err = rich_error(await refused(media.RegisterMedia(
        media_service_pb2.RegisterMediaRequest(url="gs://b/x.jpg", mime_type=huge)
    )))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violations == {"mime_type": f"must be a media type such as image/jpeg; got '{huge[:100]}...'"}
