"""validate_only (AIP-163) and the media checks before any platform call, over gRPC against
the emulators, with media inspected from the sandbox media host: every problem named at
once, no publish record, and no platform write call (the emulators' call logs say which
calls were made)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    media_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)
from distribution.v1 import account_service_pb2_grpc as accounts_grpc

from server.app import Service
from tests.support.client import connect, register
from tests.support.errors import rich_error

GOOD = ("gs://demo-bucket/a.jpg", "gs://demo-bucket/b-1080x1350.jpg", "gs://demo-bucket/c-1910x1000.jpg")


class Stubs:
    def __init__(self, service: Service, channel: grpc.aio.Channel) -> None:
        self.service = service
        self.accounts = accounts_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)

    @property
    def media_host_calls(self) -> int:
        assert self.service.sandboxes.media is not None
        return self.service.sandboxes.media.calls.total()

    async def records(self) -> list:
        page = await self.publishing.ListPublishes(publishing_service_pb2.ListPublishesRequest())
        return list(page.publishes)


@pytest.fixture
async def api(start_service) -> AsyncIterator[Stubs]:
    # Ample for any fetch from the loopback media host on a loaded machine; only its `slow` files reach it.
    service = await start_service(media_fetch="sandbox", media_fetch_timeout=2.0)
    async with grpc.aio.insecure_channel(service.address) as channel:
        yield Stubs(service, channel)


async def instagram(api: Stubs, *urls: str, **request) -> publishing_service_pb2.PublishInstagramCarouselResponse:
    account = await connect(api.accounts)
    ids = await register(api.media, *urls)
    message = publishing_service_pb2.PublishInstagramCarouselRequest(
        media_ids=ids, instagram_account_id=account.id, **request
    )
    return await api.publishing.PublishInstagramCarousel(message)


async def tiktok(api: Stubs, *urls: str, token: str = "tt-public-token", **request):
    account = await connect(
        api.accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id-1", access_token=token
    )
    ids = await register(api.media, *urls)
    return await api.publishing.PublishTikTokCarousel(
        publishing_service_pb2.PublishTikTokCarouselRequest(media_ids=ids,
            creator_consent_obtained=True, tiktok_account_id=account.id, **request)
    )


async def refused(call) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return rich_error(caught.value)


# --- Instagram -------------------------------------------------------------------------------------


async def test_instagram_validate_only_answers_what_would_be_published_and_writes_nothing(
    api: Stubs, instagram_sandbox
) -> None:
    response = await instagram(api, *GOOD, caption="Autumn", validate_only=True)
    assert response.instagram_publish_id == "" and response.ig_media_id == ""
    assert response.state == publish_pb2.PUBLISH_STATE_UNSPECIFIED
    assert response.image_count == 3
    assert [(m.width, m.height) for m in response.media] == [(1080, 1080), (1080, 1350), (1910, 1000)]
    assert all(m.inspection.outcome == media_pb2.INSPECTION_OUTCOME_READ for m in response.media)
    assert await api.records() == []
    # The one platform call: a read of the publishing quota. No container, no media_publish.
    assert dict(instagram_sandbox.calls.counts) == {"publishing_limit": 1}
    assert instagram_sandbox.posts() == []


async def test_instagram_validate_only_names_every_bad_slide_at_once(api: Stubs, instagram_sandbox) -> None:
    err = await refused(instagram(
        api, GOOD[0], "gs://demo-bucket/b.png", "gs://demo-bucket/c-3000x1000.jpg", "gs://demo-bucket/d-9mb.jpg",
        validate_only=True,
    ))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.reason == "MEDIA_NOT_ALLOWED"
    assert err.violations == {
        "media_ids[1]": "is PNG (image/png); Instagram takes JPEG only",
        "media_ids[2]": "3000x1000 is 3.00:1; Instagram takes aspect ratios from 4:5 (0.80:1) to 1.91:1",
        "media_ids[3]": "is 9,000,000 bytes; Instagram takes at most 8,000,000 bytes (8 MB)",
    }
    assert instagram_sandbox.calls.total() == 0
    assert await api.records() == []


async def test_instagram_publish_refuses_a_png_named_jpg_before_any_call(api: Stubs, instagram_sandbox) -> None:
    err = await refused(instagram(api, GOOD[0], "gs://demo-bucket/disguised-as-png.jpg"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(err.violations) == {"media_ids[1]"}
    assert "PNG" in err.violations["media_ids[1]"]
    assert instagram_sandbox.calls.total() == 0
    assert await api.records() == []


async def test_unreachable_and_not_image_items_are_refused_naming_them(api: Stubs, instagram_sandbox) -> None:
    err = await refused(instagram(api, GOOD[0], "gs://demo-bucket/unreachable.jpg", "gs://demo-bucket/slow.jpg"))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "MEDIA_UNREACHABLE"
    assert err.violations["media_ids[1]"] == "cannot be fetched: the host answered HTTP 404"
    assert "within 2 s" in err.violations["media_ids[2]"]
    err = await refused(instagram(api, GOOD[0], "gs://demo-bucket/page-as-text.jpg", "gs://demo-bucket/meta-2mib.jpg",
                                  validate_only=True))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violations["media_ids[1]"] == "is not an image: text"
    assert err.violations["media_ids[2]"].startswith("is too large to inspect: a JPEG file whose header")
    assert instagram_sandbox.calls.total() == 0


async def test_a_validated_carousel_then_publishes(api: Stubs, instagram_sandbox) -> None:
    account = await connect(api.accounts)
    ids = await register(api.media, *GOOD)
    request = publishing_service_pb2.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
    request.validate_only = True
    await api.publishing.PublishInstagramCarousel(request)
    request.validate_only = False  # nothing was recorded: no duplicate of the validation
    published = await api.publishing.PublishInstagramCarousel(request)
    assert published.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(await api.records()) == 1
    assert list(published.media) == []  # only validate_only fills it


async def test_media_older_than_the_maximum_age_are_inspected_again_first(start_service, instagram_sandbox) -> None:
    service = await start_service(media_fetch="sandbox", media_inspection_max_age=0.0)
    async with grpc.aio.insecure_channel(service.address) as channel:
        api = Stubs(service, channel)
        await instagram(api, *GOOD[:2], validate_only=True)
        assert api.media_host_calls == 4  # registered (2), then inspected again before publishing (2)


# --- TikTok ------------------------------------------------------------------------------------


async def test_tiktok_validate_only_reads_creator_info_and_never_inits(api: Stubs, tiktok_sandbox) -> None:
    response = await tiktok(
        api, GOOD[0], "https://storage.googleapis.com/demo-bucket/b-1080x1920.webp",
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE, validate_only=True,
    )
    assert response.tiktok_publish_id == "" and response.publish_id == ""
    assert response.state == publish_pb2.PUBLISH_STATE_UNSPECIFIED and response.image_count == 2
    assert [m.mime_type for m in response.media] == ["image/jpeg", "image/webp"]
    assert dict(tiktok_sandbox.calls.counts) == {"creator_info": 1}
    assert tiktok_sandbox.posts() == []
    assert await api.records() == []


async def test_tiktok_validate_only_checks_the_privacy_level(api: Stubs, tiktok_sandbox) -> None:
    err = await refused(tiktok(
        api, *GOOD[:2], token="tt-private-token", privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
        validate_only=True,
    ))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"
    assert dict(tiktok_sandbox.calls.counts) == {"creator_info": 1}


async def test_tiktok_validate_only_in_inbox_mode_calls_nothing(api: Stubs, tiktok_sandbox) -> None:
    response = await tiktok(api, *GOOD[:2], post_mode=publish_pb2.POST_MODE_INBOX, validate_only=True)
    assert response.image_count == 2
    assert tiktok_sandbox.calls.total() == 0


async def test_tiktok_names_format_size_and_hosting_problems_at_once(api: Stubs, tiktok_sandbox) -> None:
    err = await refused(tiktok(
        api, GOOD[0], "gs://demo-bucket/b.png", "gs://demo-bucket/c-1086x1448.jpg", "gs://demo-bucket/d-21mb.webp",
        "https://cdn.example.com/e.jpg", validate_only=True,
    ))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(err.violations) == {"media_ids[1]", "media_ids[2]", "media_ids[3]", "media_ids[4]"}
    assert "image/png" in err.violations["media_ids[1]"]
    assert "the shorter side is 1086 px" in err.violations["media_ids[2]"]
    assert "21,000,000 bytes" in err.violations["media_ids[3]"]
    assert "hosted on cdn.example.com" in err.violations["media_ids[4]"]
    assert tiktok_sandbox.calls.total() == 0


async def test_tiktok_publish_refuses_an_oversize_photo_before_init(api: Stubs, tiktok_sandbox) -> None:
    err = await refused(tiktok(api, GOOD[0], "gs://demo-bucket/wide-1254x1254.jpg"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(err.violations) == {"media_ids[1]"}
    assert tiktok_sandbox.calls.counts["init"] == 0
    assert await api.records() == []


# --- what a check the service does not make meets downstream -------------------------------------


async def test_without_inspection_the_emulators_still_refuse_what_the_platforms_refuse(
    accounts, media, publishing, instagram_sandbox, tiktok_sandbox
) -> None:
    """Media fetch off (the default of the in-process service): nothing is read up front, the
    emulators download (by the URL convention) and refuse as Instagram and TikTok do."""
    account = await connect(accounts)
    ids = await register(media, GOOD[0], "gs://demo-bucket/b-as-png.jpg")
    err = await refused(publishing.PublishInstagramCarousel(
        publishing_service_pb2.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
    ))
    assert err.reason == "INSTAGRAM_IMAGE_FORMAT_UNSUPPORTED"
    assert err.metadata["platform_subcode"] == "2207005"
    tiktok_account = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id-1", access_token="tt-token"
    )
    ids = await register(media, GOOD[0], "gs://demo-bucket/b-1086x1448.jpg")
    err = await refused(publishing.PublishTikTokCarousel(
        publishing_service_pb2.PublishTikTokCarouselRequest(media_ids=ids,
            creator_consent_obtained=True, tiktok_account_id=tiktok_account.id)
    ))
    assert err.reason == "TIKTOK_PICTURE_SIZE_CHECK_FAILED"
