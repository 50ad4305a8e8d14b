"""The TikTok adapter reading the TikTok emulator's answers: each fail_reason mapped, media
not on GCS refused before any call, errors inside HTTP 200 answers, rate-limit answers retried within a
budget, the adapter's own per-token pacing, a revoked token. Each error is checked as the
caller would read it (the status the transport sends for it)."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest

from server.adapters.tiktok import RateLimits
from server.domain.commands import TikTokCarousel
from server.domain.errors import DomainError
from server.domain.models import Platform, PublishState
from tests.support.client import images
from tests.support.errors import RichError, rich_error_of
from tests.support.inprocess import open_core


async def tiktok_account(core, token: str = "tt-public-token", open_id: str = "open-id-public"):
    return await core.connect(platform=Platform.TIKTOK, external_account_id=open_id, access_token=token)


async def expect_error(core, code: grpc.StatusCode, request: TikTokCarousel) -> RichError:
    with pytest.raises(DomainError) as info:
        await core.publish(request)
    err = rich_error_of(info.value)
    assert err.code == code, err.message
    return err


async def two_images(core, account) -> TikTokCarousel:
    return TikTokCarousel(
        creator_consent_obtained=True, media_ids=await core.register(*images(2)), account_id=account.id)


@pytest.mark.parametrize(
    "fail_reason, code, reason",
    [
        ("picture_size_check_failed", grpc.StatusCode.INVALID_ARGUMENT, "TIKTOK_PICTURE_SIZE_CHECK_FAILED"),
        ("file_format_check_failed", grpc.StatusCode.INVALID_ARGUMENT, "TIKTOK_FILE_FORMAT_CHECK_FAILED"),
        ("photo_pull_failed", grpc.StatusCode.FAILED_PRECONDITION, "TIKTOK_PHOTO_PULL_FAILED"),
        ("spam_risk_text", grpc.StatusCode.FAILED_PRECONDITION, "TIKTOK_SPAM_RISK_TEXT"),
        ("spam_risk", grpc.StatusCode.FAILED_PRECONDITION, "TIKTOK_SPAM_RISK"),
        ("spam_risk_too_many_posts", grpc.StatusCode.RESOURCE_EXHAUSTED, "TIKTOK_DAILY_POST_CAP"),
        ("spam_risk_user_banned_from_posting", grpc.StatusCode.FAILED_PRECONDITION, "TIKTOK_USER_BANNED"),
        ("auth_removed", grpc.StatusCode.FAILED_PRECONDITION, "TIKTOK_AUTH_REMOVED"),
        ("internal", grpc.StatusCode.UNAVAILABLE, "TIKTOK_INTERNAL_ERROR"),
        ("publish_cancelled", grpc.StatusCode.ABORTED, "TIKTOK_PUBLISH_CANCELLED"),
    ],
)
async def test_failed_publish_maps_the_fail_reason(core, tiktok_sandbox, fail_reason, code, reason):
    account = await tiktok_account(core)
    tiktok_sandbox.script_fail_reason(fail_reason)
    err = await expect_error(core, code, await two_images(core, account))
    assert err.reason == reason
    assert err.metadata["platform_code"] == fail_reason
    assert err.metadata["platform_trace_id"]  # TikTok's log_id, for support
    assert err.metadata["publish_id"]
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        assert err.retry_delay_seconds


async def test_media_hosted_outside_gcs_fail_precondition_before_any_tiktok_call(core, tiktok_sandbox):
    # TikTok would refuse them at init (url_ownership_unverified): the contract says GCS only.
    account = await tiktok_account(core)
    ids = await core.register("https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg")
    err = await expect_error(
        core, grpc.StatusCode.FAILED_PRECONDITION, TikTokCarousel(
            creator_consent_obtained=True, media_ids=ids, account_id=account.id)
    )
    assert err.reason == "MEDIA_HOSTING_NOT_SUPPORTED"
    assert set(err.violations) == {"media_ids[0]", "media_ids[1]"}
    assert "cdn.example.com" in err.violations["media_ids[0]"]
    assert tiktok_sandbox.calls.total() == 0


async def test_http_200_error_from_creator_info_is_not_taken_for_success(core, tiktok_sandbox):
    account = await tiktok_account(core)
    tiktok_sandbox.fail_next("creator_info", http_status=200, code="spam_risk_too_many_posts", message="cap reached")
    err = await expect_error(core, grpc.StatusCode.RESOURCE_EXHAUSTED, await two_images(core, account))
    assert err.reason == "TIKTOK_DAILY_POST_CAP"
    assert err.retry_delay_seconds
    assert tiktok_sandbox.calls.counts["init"] == 0


async def test_http_200_error_from_init_is_not_taken_for_success(core, tiktok_sandbox):
    account = await tiktok_account(core)
    tiktok_sandbox.fail_next("init", http_status=200, code="reached_active_user_cap")
    err = await expect_error(core, grpc.StatusCode.RESOURCE_EXHAUSTED, await two_images(core, account))
    assert err.reason == "TIKTOK_ACTIVE_USER_CAP"
    assert tiktok_sandbox.posts() == []


async def test_rate_limit_answers_are_retried_then_resource_exhausted_with_retry_info(core, tiktok_sandbox):
    account = await tiktok_account(core)
    tiktok_sandbox.fail_next("init", http_status=429, code="rate_limit_exceeded", count=50)
    err = await expect_error(core, grpc.StatusCode.RESOURCE_EXHAUSTED, await two_images(core, account))
    assert err.reason == "TIKTOK_RATE_LIMITED"
    assert err.retry_delay_seconds and err.retry_delay_seconds > 0
    assert 1 < tiktok_sandbox.calls.counts["init"] < 50  # backed off and retried, within a budget
    assert tiktok_sandbox.posts() == []


async def test_init_calls_are_paced_per_token_instead_of_failing(settings, tiktok_sandbox):
    """Over TikTok's per-token init limit, calls queue for their turn rather than fail."""
    tiktok_sandbox.config.init_limit_per_minute = 0  # the limit under test is ours
    paced = dataclasses.replace(
        settings, tiktok_rate_limits=RateLimits(init=1, status=100, creator_info=100, window=0.3, margin=0.0)
    )
    async with open_core(paced) as core:
        account = await tiktok_account(core)
        batches = [await core.register(*images(2, prefix=f"gs://b/pace{i}")) for i in range(3)]
        results = await asyncio.gather(
            *(core.publish(TikTokCarousel(
                creator_consent_obtained=True, media_ids=ids, account_id=account.id)) for ids in batches)
        )
        assert all(r.state == PublishState.PUBLISHED for r in results)
        assert len(tiktok_sandbox.posts()) == 3
        pacer = core.adapters.tiktok.pacers["init"]
        assert pacer.waits == 2


async def test_twenty_publishes_on_one_account_draw_no_rate_limit_from_a_server_counting_at_arrival(
    settings, tiktok_sandbox
):
    """TikTok counts a call when it arrives, the pacer when it lets it go: with the margin,
    no window of the emulator's (counted at arrival, shortened to a second here) ever holds
    more than six inits. The emulator's own records say so: every init it saw was admitted."""
    window = 1.0
    tiktok_sandbox.config.rate_window = window
    tiktok_sandbox.config.init_limit_per_minute = 6
    tiktok_sandbox.config.status_limit_per_minute = tiktok_sandbox.config.creator_info_limit_per_minute = 0
    # A margin in proportion to the shortened window: a loaded test machine's event loop
    # delays some calls more than others, as a network does.
    paced = dataclasses.replace(
        settings, tiktok_rate_limits=RateLimits(init=6, status=0, creator_info=0, window=window, margin=0.25)
    )
    async with open_core(paced) as core:
        account = await tiktok_account(core)
        batches = [await core.register(*images(2, prefix=f"gs://b/burst{i}-")) for i in range(20)]
        results = await asyncio.gather(
            *(core.publish(TikTokCarousel(
                creator_consent_obtained=True, media_ids=ids, account_id=account.id)) for ids in batches)
        )
        assert [r.state for r in results] == [PublishState.PUBLISHED] * 20
        assert tiktok_sandbox.rate_limited() == {}
        assert tiktok_sandbox.calls.counts["init"] == 20  # none refused, none sent again
        assert len(tiktok_sandbox.posts()) == 20
        assert limited_answers(core, "init") == 0


def limited_answers(core, endpoint: str) -> float:
    metrics = core.adapters.metrics
    assert metrics is not None
    value = metrics.registry.get_sample_value(
        "distribution_platform_rate_limited_total", {"platform": "tiktok", "endpoint": endpoint}
    )
    return value or 0.0


async def test_a_rate_limit_answer_that_still_comes_is_counted(core, tiktok_sandbox):
    account = await tiktok_account(core)
    tiktok_sandbox.fail_next("init", http_status=429, code="rate_limit_exceeded", count=2)
    result = await core.publish(await two_images(core, account))
    assert result.state == PublishState.PUBLISHED  # retried after TikTok's answers
    assert limited_answers(core, "init") == 2
    assert limited_answers(core, "status") == 0


async def test_revoked_token_fails_precondition(core, tiktok_sandbox):
    account = await tiktok_account(core, token="tt-revoked")
    tiktok_sandbox.revoke_token("tt-revoked")
    err = await expect_error(core, grpc.StatusCode.FAILED_PRECONDITION, await two_images(core, account))
    assert err.reason == "TIKTOK_TOKEN_INVALID"
    assert "tt-revoked" not in err.message
