"""Token refresh against the platforms' token endpoints, with the tokens kept in the store:
TikTok ahead of expiry with the rotated refresh token saved, never restarting a publish, a
refused refresh marking the account for reconnection; a token rejected before any known
expiry refreshed once (across two PostgreSQL replicas too) and the rejected call sent once
more; Instagram long-lived tokens in their last week."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from server.domain.commands import InstagramCarousel, TikTokCarousel
from server.domain.errors import DomainError
from server.domain.models import AccountState, Platform, PublishState
from tests.support.client import images
from tests.support.errors import rich_error_of
from tests.support.inprocess import WORKSPACE, open_core
from tests.support.postgres import fresh_database
from tests.support.processing import LONG, finish_tiktok_processing
from tests.support.waiting import eventually


def in_(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def tiktok_account(core, tiktok_sandbox, access="tt-old-access", refresh="tt-refresh-1", expires_in=60.0):
    tiktok_sandbox.add_creator(access, open_id="oid-refresh")
    tiktok_sandbox.add_refresh_token(refresh, access)
    return await core.connect(
        platform=Platform.TIKTOK, external_account_id="oid-refresh",
        access_token=access, refresh_token=refresh, access_token_expires_at=in_(expires_in),
    )


async def publish(core, account_id, prefix="gs://b/tok"):
    media_ids = await core.register(*images(2, prefix=prefix))
    return await core.publish(TikTokCarousel(creator_consent_obtained=True, media_ids=media_ids, account_id=account_id))


async def test_token_about_to_expire_is_refreshed_before_publishing(core, tiktok_sandbox):
    account = await tiktok_account(core, tiktok_sandbox, expires_in=60)  # inside the 10-minute margin
    result = await publish(core, account.id)
    assert result.state == PublishState.PUBLISHED
    assert tiktok_sandbox.calls.counts["token"] == 1
    refreshed = await core.account(account.id)
    assert refreshed.access_token_expires_at is not None
    assert refreshed.access_token_expires_at > datetime.now(UTC) + timedelta(hours=1)
    assert refreshed.state == AccountState.ACTIVE
    # The old token is dead from now on; the stored fresh one is used as is, with no second refresh.
    tiktok_sandbox.revoke_token("tt-old-access")
    again = await publish(core, account.id, prefix="gs://b/tok2")
    assert again.state == PublishState.PUBLISHED
    assert tiktok_sandbox.calls.counts["token"] == 1


async def test_rotated_refresh_token_is_the_one_used_next(core, tiktok_sandbox):
    account = await tiktok_account(core, tiktok_sandbox, expires_in=60)
    await publish(core, account.id)
    # Force a second refresh: only the rotated refresh token can succeed (the first one is spent).
    stored = await core.adapters.store.accounts.get(WORKSPACE, account.id)
    assert stored is not None
    token = await core.services.tokens.access_token(stored, refresh=True)
    assert token and tiktok_sandbox.calls.counts["token"] == 2
    assert (await core.account(account.id)).state == AccountState.ACTIVE


async def test_refused_refresh_marks_the_account_and_later_publishes_fail_fast(core, tiktok_sandbox):
    tiktok_sandbox.add_creator("tt-doomed", open_id="oid-doomed")
    account = await core.connect(
        platform=Platform.TIKTOK, external_account_id="oid-doomed",
        access_token="tt-doomed", refresh_token="never-issued", access_token_expires_at=in_(30),
    )
    with pytest.raises(DomainError) as info:
        await publish(core, account.id)
    err = rich_error_of(info.value)
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "ACCOUNT_REFRESH_FAILED"
    assert (await core.account(account.id)).state == AccountState.NEEDS_RECONNECT
    calls = tiktok_sandbox.calls.total()
    with pytest.raises(DomainError) as info:
        await publish(core, account.id, prefix="gs://b/again")
    err = rich_error_of(info.value)
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "ACCOUNT_NOT_CONNECTED"
    assert "reconnect" in err.message
    assert tiktok_sandbox.calls.total() == calls  # failed fast, no platform call
    assert tiktok_sandbox.posts() == []


async def test_token_rejected_mid_publish_is_refreshed_without_restarting(core, tiktok_sandbox):
    tiktok_sandbox.config.processing_delay = LONG  # TikTok processes until the token is revoked
    account = await tiktok_account(core, tiktok_sandbox, expires_in=3600)  # not expiring: no early refresh
    call = asyncio.create_task(publish(core, account.id))
    await eventually(tiktok_sandbox.posts, "TikTok to accept the post")
    tiktok_sandbox.revoke_token("tt-old-access")  # expires while TikTok is still processing
    finish_tiktok_processing(tiktok_sandbox)
    result = await call
    assert result.state == PublishState.PUBLISHED
    assert len(tiktok_sandbox.posts()) == 1
    assert tiktok_sandbox.calls.counts["init"] == 1
    assert tiktok_sandbox.calls.counts["token"] == 1
    _, events = await core.services.history.get(WORKSPACE, result.id)
    assert "TOKEN_REFRESHED" in [e.type for e in events]


async def expired_without_expiry_known(core, tiktok_sandbox, open_id="oid-silent"):
    """A TikTok account connected with no access_token_expire_time whose access token has
    since expired on TikTok (revoked: TikTok answers access_token_invalid alike)."""
    tiktok_sandbox.add_creator("tt-silent", open_id=open_id)
    tiktok_sandbox.add_refresh_token("tt-silent-refresh", "tt-silent")
    tiktok_sandbox.revoke_token("tt-silent")
    return await core.connect(
        platform=Platform.TIKTOK, external_account_id=open_id, access_token="tt-silent",
        refresh_token="tt-silent-refresh",
    )


async def publish_inbox(core, account_id, prefix):
    media_ids = await core.register(*images(2, prefix=prefix))
    return await core.publish(TikTokCarousel(media_ids=media_ids, account_id=account_id, post_mode="INBOX"))


@pytest.mark.parametrize("post_mode", ["DIRECT", "INBOX"])
async def test_a_token_rejected_with_no_expiry_known_is_refreshed_once_and_the_call_sent_again(
    core, tiktok_sandbox, post_mode
):
    account = await expired_without_expiry_known(core, tiktok_sandbox)
    media_ids = await core.register(*images(2))
    result = await core.publish(TikTokCarousel(
        media_ids=media_ids, account_id=account.id, post_mode=post_mode, creator_consent_obtained=True,
    ))
    assert result.state in (PublishState.PUBLISHED, PublishState.DELIVERED_TO_INBOX)
    assert tiktok_sandbox.calls.counts["token"] == 1
    assert len(tiktok_sandbox.posts()) == 1
    # DIRECT: creator_info is the call rejected (before the publish is recorded); INBOX: init.
    assert tiktok_sandbox.calls.counts["init"] == (1 if post_mode == "DIRECT" else 2)
    stored = await core.account(account.id)
    assert stored.state == AccountState.ACTIVE
    assert stored.access_token_expires_at is not None  # the grant's lifetime is known from now on


async def test_a_rejected_token_whose_refresh_token_is_spent_marks_the_account(core, tiktok_sandbox):
    tiktok_sandbox.add_creator("tt-lost", open_id="oid-lost")
    tiktok_sandbox.revoke_token("tt-lost")
    account = await core.connect(platform=Platform.TIKTOK, external_account_id="oid-lost",
                                 access_token="tt-lost", refresh_token="never-issued")
    with pytest.raises(DomainError) as info:
        await publish_inbox(core, account.id, "gs://b/lost")
    assert rich_error_of(info.value).reason == "ACCOUNT_REFRESH_FAILED"
    assert tiktok_sandbox.calls.counts["token"] == 1
    assert (await core.account(account.id)).state == AccountState.NEEDS_RECONNECT
    assert tiktok_sandbox.posts() == []


async def test_two_postgresql_replicas_rejected_at_once_refresh_once(settings, tiktok_sandbox):
    async with fresh_database() as url:
        shared = dataclasses.replace(settings, database_url=url)
        async with open_core(shared) as first, open_core(shared) as second:
            account = await expired_without_expiry_known(first, tiktok_sandbox)
            results = await asyncio.gather(
                *(publish_inbox(replica, account.id, f"gs://b/replica{n}-")
                  for n, replica in enumerate((first, second, first, second)))
            )
            assert [r.state for r in results] == [PublishState.DELIVERED_TO_INBOX] * 4
            # The refresh token rotates: a second refresh would have spent a dead one and
            # marked the account; exactly one was made, and every replica used its token.
            assert tiktok_sandbox.calls.counts["token"] == 1
            assert len(tiktok_sandbox.posts()) == 4
            assert (await second.account(account.id)).state == AccountState.ACTIVE


async def test_instagram_long_lived_token_is_refreshed_in_its_last_week(core, instagram_sandbox):
    account = await core.connect(access_token="ig-long-lived", access_token_expires_at=in_(3 * 86400))

    async def publish_ig(prefix):
        media_ids = await core.register(*images(2, prefix=prefix))
        return await core.publish(InstagramCarousel(media_ids=media_ids, account_id=account.id))

    assert (await publish_ig("gs://b/ig1")).state == PublishState.PUBLISHED
    assert instagram_sandbox.calls.counts["token_refresh"] == 1
    refreshed = await core.account(account.id)
    assert refreshed.access_token_expires_at is not None
    assert refreshed.access_token_expires_at > datetime.now(UTC) + timedelta(days=59)
    # From now on the new token is used: the old one can die without harm, and no second refresh.
    instagram_sandbox.revoke_token("ig-long-lived")
    assert (await publish_ig("gs://b/ig2")).state == PublishState.PUBLISHED
    assert instagram_sandbox.calls.counts["token_refresh"] == 1


async def test_instagram_token_far_from_expiry_is_not_refreshed(core, instagram_sandbox):
    account = await core.connect(access_token="ig-fresh", access_token_expires_at=in_(30 * 86400))
    media_ids = await core.register(*images(2))
    await core.publish(InstagramCarousel(media_ids=media_ids, account_id=account.id))
    assert instagram_sandbox.calls.counts["token_refresh"] == 0
