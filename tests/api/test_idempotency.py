"""Never post twice: request_id replay, the duplicate guard, retries of transient errors,
and the ambiguous media_publish that went live although the call failed."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1 import publishing_service_pb2 as pb

from tests.support.client import connect, images, register
from tests.support.errors import rich_error


def ig_request(account_id, media_ids, **kwargs):
    return pb.PublishInstagramCarouselRequest(media_ids=media_ids, instagram_account_id=account_id, **kwargs)


async def test_same_request_id_returns_the_original_result_and_posts_once(
    accounts, media, publishing, instagram_sandbox
):
    account = await connect(accounts)
    ids = await register(media, *images(3))
    request = ig_request(account.id, ids, request_id=str(uuid.uuid4()))
    first = await publishing.PublishInstagramCarousel(request)
    again = await publishing.PublishInstagramCarousel(request)
    assert again == first
    assert len(instagram_sandbox.posts()) == 1


async def test_concurrent_calls_with_one_request_id_post_once(accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.processing_delay = 0.2
    account = await connect(accounts)
    ids = await register(media, *images(2))
    request = ig_request(account.id, ids, request_id=str(uuid.uuid4()))
    results = await asyncio.gather(*(publishing.PublishInstagramCarousel(request) for _ in range(8)))
    assert len({r.instagram_publish_id for r in results}) == 1
    assert all(r.state == publish_pb2.PUBLISH_STATE_PUBLISHED for r in results)
    assert len(instagram_sandbox.posts()) == 1
    assert instagram_sandbox.calls.counts["media_publish"] == 1


async def test_same_request_id_with_a_different_request_is_refused(accounts, media, publishing):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    request_id = str(uuid.uuid4())
    first = await publishing.PublishInstagramCarousel(ig_request(account.id, ids, request_id=request_id))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(ig_request(account.id, ids, request_id=request_id, caption="other"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    err = rich_error(info.value)
    assert err.reason == "REQUEST_ID_REUSED"
    assert err.metadata["publish_id"] == first.instagram_publish_id


async def test_malformed_request_id_is_invalid(accounts, media, publishing):
    account = await connect(accounts)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            ig_request(account.id, await register(media, *images(2)), request_id="retry-1")
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in rich_error(info.value).violations


async def test_a_retry_after_the_deadline_attaches_to_the_running_publish(
    accounts, media, publishing, instagram_sandbox
):
    instagram_sandbox.config.processing_delay = 0.5
    account = await connect(accounts)
    request = ig_request(account.id, await register(media, *images(2)), request_id=str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(request, timeout=0.2)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    result = await publishing.PublishInstagramCarousel(request)
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


async def test_duplicate_guard_without_request_id(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    first = await publishing.PublishInstagramCarousel(ig_request(account.id, ids, caption="Same"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(ig_request(account.id, ids, caption="Same"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    err = rich_error(info.value)
    assert err.reason == "DUPLICATE_PUBLISH"
    assert err.metadata["publish_id"] == first.instagram_publish_id
    assert first.instagram_publish_id in err.message
    # A different caption, order or account is different content.
    await publishing.PublishInstagramCarousel(ig_request(account.id, ids[::-1], caption="Same"))
    # On purpose:
    again = await publishing.PublishInstagramCarousel(ig_request(account.id, ids, caption="Same", allow_duplicate=True))
    assert again.instagram_publish_id != first.instagram_publish_id
    assert len(instagram_sandbox.posts()) == 3


async def test_a_failed_publish_does_not_block_publishing_again(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    instagram_sandbox.fail_next("create_container", status=400, code=100, subcode=2207028, message="bad")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(ig_request(account.id, ids))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # subcode 2207028: carousel item count
    ok = await publishing.PublishInstagramCarousel(ig_request(account.id, ids))
    assert ok.state == publish_pb2.PUBLISH_STATE_PUBLISHED


async def test_transient_errors_are_retried_and_post_once(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    instagram_sandbox.fail_next("create_container", status=500, code=2, message="Service unavailable",
                                is_transient=True, count=2)
    instagram_sandbox.fail_next("batch_status", status=500, code=1, message="Unknown error", is_transient=True)
    result = await publishing.PublishInstagramCarousel(ig_request(account.id, await register(media, *images(3))))
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


async def test_final_errors_are_not_retried(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    instagram_sandbox.fail_next("create_container", status=400, code=10, message="Permission denied")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(ig_request(account.id, await register(media, *images(2))))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(info.value).reason == "INSTAGRAM_PERMISSION_MISSING"
    # Two items were created concurrently: one refused, one not retried beyond its own call.
    assert instagram_sandbox.calls.counts["create_container"] == 2


async def test_error_after_media_publish_went_live_is_not_posted_twice(
    accounts, media, publishing, instagram_sandbox
):
    account = await connect(accounts)
    # The post goes live, then the platform answers 500: the duplicate trap.
    instagram_sandbox.fail_next("media_publish", status=500, code=2, message="Service unavailable",
                                is_transient=True, after_serving=True)
    result = await publishing.PublishInstagramCarousel(ig_request(account.id, await register(media, *images(2))))
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    posts = instagram_sandbox.posts()
    assert len(posts) == 1
    assert instagram_sandbox.calls.counts["media_publish"] == 1
    assert result.ig_media_id == posts[0]["id"]  # found through the account's recent media


async def test_tiktok_init_rate_limit_answer_is_retried_and_posts_once(accounts, media, publishing, tiktok_sandbox):
    account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    tiktok_sandbox.fail_next("init", http_status=429, code="rate_limit_exceeded")
    result = await publishing.PublishTikTokCarousel(
        pb.PublishTikTokCarouselRequest(media_ids=await register(media, *images(2)),
            creator_consent_obtained=True, tiktok_account_id=account.id)
    )
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(tiktok_sandbox.posts()) == 1
    assert tiktok_sandbox.calls.counts["init"] == 2


async def test_tiktok_init_server_error_after_accepting_is_never_sent_again(
    accounts, media, publishing, tiktok_sandbox
):
    """Found by the soak: TikTok accepted the post, then answered 500. Retrying posted twice."""
    account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    tiktok_sandbox.faults.set("init", "error_after_live", 1.0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishTikTokCarousel(
            pb.PublishTikTokCarouselRequest(media_ids=await register(media, *images(2)),
                creator_consent_obtained=True, tiktok_account_id=account.id)
        )
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert rich_error(info.value).reason == "PUBLISH_UNCONFIRMED"
    assert tiktok_sandbox.calls.counts["init"] == 1
    assert len(tiktok_sandbox.posts()) == 1


async def test_instagram_container_published_by_the_last_failed_attempt_is_published_not_unconfirmed(
    accounts, media, publishing, instagram_sandbox
):
    """Found by the soak: after the last ambiguous media_publish the container was not looked at again."""
    account = await connect(accounts)
    instagram_sandbox.fail_next("media_publish", status=500, code=1, message="x", is_transient=True, count=2)
    instagram_sandbox.fail_next("media_publish", status=500, code=1, message="x", is_transient=True,
                                after_serving=True)
    result = await publishing.PublishInstagramCarousel(ig_request(account.id, await register(media, *images(2))))
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1
    assert result.ig_media_id == instagram_sandbox.posts()[0]["id"]


async def test_recovered_publish_finds_its_own_post_among_others(accounts, media, publishing, instagram_sandbox):
    """Found by the soak: with other posts on the account, the recovered publish got no media id."""
    account = await connect(accounts)
    earlier = ig_request(account.id, await register(media, *images(2)), caption="earlier")
    await publishing.PublishInstagramCarousel(earlier)
    instagram_sandbox.fail_next("media_publish", status=500, code=2, message="x", is_transient=True,
                                after_serving=True)
    result = await publishing.PublishInstagramCarousel(
        ig_request(account.id, await register(media, *images(2, prefix="gs://b/second")), caption="mine")
    )
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    mine = [p for p in instagram_sandbox.posts() if p["caption"] == "mine"]
    assert len(mine) == 1 and result.ig_media_id == mine[0]["id"]


async def test_instagram_quota_used_up_is_refused_before_any_container(accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.publish_quota = 1
    account = await connect(accounts)
    await publishing.PublishInstagramCarousel(ig_request(account.id, await register(media, *images(2))))
    containers = instagram_sandbox.calls.counts["create_container"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            ig_request(account.id, await register(media, *images(2, prefix="gs://b/next")))
        )
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    err = rich_error(info.value)
    assert err.reason == "INSTAGRAM_PUBLISH_LIMIT_REACHED"
    assert err.retry_delay_seconds and err.retry_delay_seconds > 0
    assert instagram_sandbox.calls.counts["create_container"] == containers  # none spent
    assert len(instagram_sandbox.posts()) == 1


async def test_transient_faults_at_30_percent_still_publish_every_post_exactly_once(
    accounts, media, publishing, instagram_sandbox, tiktok_sandbox
):
    """Seeded 5xx/429/reset-before-serving faults on every endpoint of both platforms."""
    instagram_sandbox.faults.reseed(3)
    tiktok_sandbox.faults.reseed(3)
    for endpoint in ("create_container", "container_status", "batch_status", "media_publish", "media_read",
                     "publishing_limit"):
        instagram_sandbox.faults.set(endpoint, "5xx", 0.2)
        instagram_sandbox.faults.set(endpoint, "429", 0.1, retry_after=0)
    for endpoint in ("creator_info", "status"):
        tiktok_sandbox.faults.set(endpoint, "5xx", 0.2)
        tiktok_sandbox.faults.set(endpoint, "reset", 0.1)
    tiktok_sandbox.faults.set("init", "429", 0.3, retry_after=0)  # the only init error proving nothing happened
    ig = await connect(accounts)
    tt = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    results = []
    for i in range(4):
        results.append(await publishing.PublishInstagramCarousel(
            ig_request(ig.id, await register(media, *images(2, prefix=f"gs://b/f{i}")), request_id=str(uuid.uuid4()))
        ))
        results.append(await publishing.PublishTikTokCarousel(
            pb.PublishTikTokCarouselRequest(
                media_ids=await register(media, *images(2, prefix=f"gs://b/g{i}")),
                    creator_consent_obtained=True, tiktok_account_id=tt.id,
                request_id=str(uuid.uuid4()),
            )
        ))
    assert all(r.state == publish_pb2.PUBLISH_STATE_PUBLISHED for r in results)
    assert len(instagram_sandbox.posts()) == 4 and len(tiktok_sandbox.posts()) == 4
    assert instagram_sandbox.stats()["duplicate_posts"] == 0 and tiktok_sandbox.stats()["duplicate_posts"] == 0
    assert sum(instagram_sandbox.faults.injected.values()) > 0 and sum(tiktok_sandbox.faults.injected.values()) > 0
