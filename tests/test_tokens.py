"""TikTok token refresh: ahead of expiry, rotated refresh token saved, never restarting a
publish, and a refused refresh marking the account for reconnection."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1.account_service_pb2 import GetAccountRequest
from distribution.v1.publishing_service_pb2 import GetPublishRequest, PublishTikTokCarouselRequest
from google.protobuf import timestamp_pb2

from tests.conftest import connect, images, register
from tests.rich_errors import rich_error


def in_(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(datetime.now(timezone.utc) + timedelta(seconds=seconds))
    return ts


async def tiktok_account(accounts, tiktok_sandbox, access="tt-old-access", refresh="tt-refresh-1", expires_in=60.0):
    tiktok_sandbox.add_creator(access, open_id="oid-refresh")
    tiktok_sandbox.add_refresh_token(refresh, access)
    return await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-refresh",
        access_token=access, refresh_token=refresh, access_token_expire_time=in_(expires_in),
    )


async def publish(publishing, media, account_id, prefix="gs://b/tok"):
    return await publishing.PublishTikTokCarousel(
        PublishTikTokCarouselRequest(media_ids=await register(media, *images(2, prefix=prefix)), tiktok_account_id=account_id)
    )


async def test_token_about_to_expire_is_refreshed_before_publishing(accounts, media, publishing, tiktok_sandbox):
    account = await tiktok_account(accounts, tiktok_sandbox, expires_in=60)  # inside the 10-minute margin
    result = await publish(publishing, media, account.id)
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert tiktok_sandbox.calls.counts["token"] == 1
    refreshed = (await accounts.GetAccount(GetAccountRequest(id=account.id))).account
    assert refreshed.access_token_expire_time.ToDatetime(tzinfo=timezone.utc) > datetime.now(timezone.utc) + timedelta(hours=1)
    assert refreshed.state == account_pb2.ACCOUNT_STATE_ACTIVE
    # The old token is dead from now on; the stored fresh one is used as is, with no second refresh.
    tiktok_sandbox.revoke_token("tt-old-access")
    again = await publish(publishing, media, account.id, prefix="gs://b/tok2")
    assert again.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert tiktok_sandbox.calls.counts["token"] == 1


async def test_rotated_refresh_token_is_the_one_used_next(accounts, media, publishing, tiktok_sandbox, service):
    account = await tiktok_account(accounts, tiktok_sandbox, expires_in=60)
    await publish(publishing, media, account.id)
    # Force a second refresh: only the rotated refresh token can succeed (the first one is spent).
    stored = await service.adapters.store.accounts.get("default", account.id)
    token = await service.services.tokens.access_token(stored, refresh=True)
    assert token and tiktok_sandbox.calls.counts["token"] == 2
    assert (await accounts.GetAccount(GetAccountRequest(id=account.id))).account.state == account_pb2.ACCOUNT_STATE_ACTIVE


async def test_refused_refresh_marks_the_account_and_later_publishes_fail_fast(accounts, media, publishing, tiktok_sandbox):
    tiktok_sandbox.add_creator("tt-doomed", open_id="oid-doomed")
    account = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-doomed",
        access_token="tt-doomed", refresh_token="never-issued", access_token_expire_time=in_(30),
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(publishing, media, account.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(info.value).reason == "ACCOUNT_REFRESH_FAILED"
    fetched = (await accounts.GetAccount(GetAccountRequest(id=account.id))).account
    assert fetched.state == account_pb2.ACCOUNT_STATE_NEEDS_RECONNECT
    calls = tiktok_sandbox.calls.total()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(publishing, media, account.id, prefix="gs://b/again")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(info.value).reason == "ACCOUNT_NOT_CONNECTED"
    assert "reconnect" in info.value.details()
    assert tiktok_sandbox.calls.total() == calls  # failed fast, no platform call
    assert tiktok_sandbox.posts() == []


async def test_token_rejected_mid_publish_is_refreshed_without_restarting(accounts, media, publishing, tiktok_sandbox):
    tiktok_sandbox.config.processing_delay = 0.6
    account = await tiktok_account(accounts, tiktok_sandbox, expires_in=3600)  # not expiring: no early refresh
    call = publishing.PublishTikTokCarousel(
        PublishTikTokCarouselRequest(media_ids=await register(media, *images(2)), tiktok_account_id=account.id)
    )
    for _ in range(200):
        if tiktok_sandbox.posts():
            break
        await asyncio.sleep(0.01)
    tiktok_sandbox.revoke_token("tt-old-access")  # expires while TikTok is still processing
    result = await call
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(tiktok_sandbox.posts()) == 1
    assert tiktok_sandbox.calls.counts["init"] == 1
    assert tiktok_sandbox.calls.counts["token"] == 1
    events = (await publishing.GetPublish(GetPublishRequest(id=result.tiktok_publish_id))).events
    assert "TOKEN_REFRESHED" in [e.type for e in events]


async def test_instagram_long_lived_token_is_refreshed_in_its_last_week(accounts, media, publishing, instagram_sandbox):
    from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest

    account = await connect(accounts, access_token="ig-long-lived", access_token_expire_time=in_(3 * 86400))

    async def publish_ig(prefix):
        return await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(media_ids=await register(media, *images(2, prefix=prefix)),
                                            instagram_account_id=account.id)
        )

    assert (await publish_ig("gs://b/ig1")).state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert instagram_sandbox.calls.counts["token_refresh"] == 1
    refreshed = (await accounts.GetAccount(GetAccountRequest(id=account.id))).account
    assert refreshed.access_token_expire_time.ToDatetime(tzinfo=timezone.utc) > datetime.now(timezone.utc) + timedelta(days=59)
    # From now on the new token is used: the old one can die without harm, and no second refresh.
    instagram_sandbox.revoke_token("ig-long-lived")
    assert (await publish_ig("gs://b/ig2")).state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert instagram_sandbox.calls.counts["token_refresh"] == 1


async def test_instagram_token_far_from_expiry_is_not_refreshed(accounts, media, publishing, instagram_sandbox):
    from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest

    account = await connect(accounts, access_token="ig-fresh", access_token_expire_time=in_(30 * 86400))
    await publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(media_ids=await register(media, *images(2)), instagram_account_id=account.id)
    )
    assert instagram_sandbox.calls.counts["token_refresh"] == 0
