"""The Instagram adapter reading the Graph API emulator's answers: container errors, expiry,
the not-ready answer of media_publish, a failed permalink read, a revoked token. Each is
checked as the caller would read it (the status the transport sends for the error)."""

from __future__ import annotations

import grpc
import pytest

from server.domain.commands import InstagramCarousel
from server.domain.errors import DomainError
from server.domain.models import PublishState
from tests.support.client import images
from tests.support.errors import RichError, rich_error_of


async def expect_error(core, code: grpc.StatusCode, request: InstagramCarousel) -> RichError:
    with pytest.raises(DomainError) as info:
        await core.publish(request)
    err = rich_error_of(info.value)
    assert err.code == code, err.message
    return err


async def test_child_that_cannot_be_fetched_fails_naming_the_item(core, instagram_sandbox):
    account = await core.connect()
    ids = await core.register(
        "https://cdn.example.com/a.jpg", "https://unreachable.example.com/b.jpg", "https://cdn.example.com/c.jpg"
    )
    err = await expect_error(
        core, grpc.StatusCode.FAILED_PRECONDITION, InstagramCarousel(media_ids=ids, account_id=account.id)
    )
    assert err.reason == "INSTAGRAM_MEDIA_FETCH_FAILED"
    assert err.metadata["field"] == "media_ids[1]"
    assert err.metadata["platform_subcode"] == "2207052"
    assert err.metadata["publish_id"]
    assert instagram_sandbox.posts() == []


async def test_expired_containers_abort_without_posting(core, instagram_sandbox):
    instagram_sandbox.config.processing_delay = 0.3
    instagram_sandbox.config.container_ttl = 0.1
    account = await core.connect()
    err = await expect_error(
        core, grpc.StatusCode.ABORTED,
        InstagramCarousel(media_ids=await core.register(*images(2)), account_id=account.id),
    )
    assert err.reason == "INSTAGRAM_CONTAINER_EXPIRED"
    assert err.metadata["retryable"] == "true"
    assert instagram_sandbox.posts() == []


async def test_not_ready_answer_from_media_publish_waits_and_publishes_once(core, instagram_sandbox):
    account = await core.connect()
    instagram_sandbox.fail_next(
        "media_publish", status=400, code=9007, subcode=2207027, message="Media ID is not available"
    )
    publish = await core.publish(InstagramCarousel(media_ids=await core.register(*images(3)), account_id=account.id))
    assert publish.state == PublishState.PUBLISHED
    assert len(instagram_sandbox.posts()) == 1
    assert instagram_sandbox.calls.counts["media_publish"] == 2


async def test_permalink_read_failure_still_reports_the_live_post(core, instagram_sandbox):
    account = await core.connect()
    instagram_sandbox.fail_media_reads(1)
    publish = await core.publish(InstagramCarousel(media_ids=await core.register(*images(2)), account_id=account.id))
    assert publish.state == PublishState.PUBLISHED
    assert publish.ig_media_id == instagram_sandbox.posts()[0]["id"]
    assert not publish.permalink  # the caller's response shows it empty


async def test_revoked_token_fails_precondition_with_platform_code(core, instagram_sandbox):
    account = await core.connect(access_token="token-to-revoke")
    instagram_sandbox.revoke_token("token-to-revoke")
    err = await expect_error(
        core, grpc.StatusCode.FAILED_PRECONDITION,
        InstagramCarousel(media_ids=await core.register(*images(2)), account_id=account.id),
    )
    assert err.reason == "INSTAGRAM_TOKEN_INVALID"
    assert err.metadata["platform_code"] == "190"
    assert "token-to-revoke" not in err.message
