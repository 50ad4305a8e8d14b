"""Account health on fakes and a fake clock: the state each account read shows
(server/domain/health_rules.py), and the background check that refreshes tokens before they
expire and reads Instagram's quota and TikTok's creator_info (server/services/account_health.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.errors import DomainError
from server.domain.health import CreatorStatus, HealthFacts, HealthPolicy, HealthState, QuotaStatus
from server.domain.health_rules import health_state
from server.domain.models import Account, AccountState, Platform
from tests.fakes import IgFailure, TikTokFailure
from tests.unit.conftest import World

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = HealthPolicy()


def account(platform: Platform = Platform.TIKTOK, *, refresh: bool = True, access_in: timedelta | None = DAY,
            refresh_in: timedelta | None = 300 * DAY, state: AccountState = AccountState.ACTIVE) -> Account:
    return Account(
        id="a", workspace_id="w", platform=platform, external_account_id="x", username="u", state=state,
        has_refresh_token=refresh, access_token_expires_at=NOW + access_in if access_in is not None else None,
        refresh_token_expires_at=NOW + refresh_in if refresh_in is not None and refresh else None,
        created_at=NOW, updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("subject", "quota", "creator", "state"),
    [
        pytest.param(account(), None, None, HealthState.HEALTHY, id="tiktok-renewable"),
        pytest.param(account(access_in=timedelta(hours=1)), None, None, HealthState.HEALTHY,
                     id="tiktok-access-token-expiring-is-refreshed-not-warned"),
        pytest.param(account(refresh_in=6 * DAY), None, None, HealthState.EXPIRING, id="refresh-token-expiring"),
        pytest.param(account(refresh=False, access_in=2 * DAY), None, None, HealthState.EXPIRING,
                     id="tiktok-access-token-without-refresh-token"),
        pytest.param(account(Platform.INSTAGRAM, refresh=False, access_in=3 * DAY), None, None,
                     HealthState.EXPIRING, id="instagram-token-not-renewed-in-its-last-week"),
        pytest.param(account(Platform.INSTAGRAM, refresh=False, access_in=30 * DAY), None, None,
                     HealthState.HEALTHY, id="instagram-token-far-from-expiry"),
        pytest.param(account(Platform.INSTAGRAM, refresh=False, access_in=None), QuotaStatus(45, 50, NOW), None,
                     HealthState.QUOTA_LOW, id="instagram-5-posts-left"),
        pytest.param(account(Platform.INSTAGRAM, refresh=False, access_in=None), QuotaStatus(44, 50, NOW), None,
                     HealthState.HEALTHY, id="instagram-6-posts-left"),
        pytest.param(account(), None, CreatorStatus(NOW, can_post=False, cannot_post_reason="spam_risk_too_many_posts"),
                     HealthState.QUOTA_LOW, id="tiktok-creator-cannot-post"),
        pytest.param(account(refresh_in=DAY), QuotaStatus(50, 50, NOW), None, HealthState.EXPIRING,
                     id="expiring-comes-before-quota"),
        pytest.param(account(state=AccountState.NEEDS_RECONNECT, refresh_in=DAY), None, None,
                     HealthState.NEEDS_RECONNECT, id="needs-reconnect-comes-first"),
    ],
)
def test_the_state_is_the_most_urgent_condition(
    subject: Account, quota: QuotaStatus | None, creator: CreatorStatus | None, state: HealthState
) -> None:
    assert health_state(subject, HealthFacts(creator=creator), quota, NOW, POLICY) == state


def test_the_warning_window_and_threshold_are_the_operators() -> None:
    wide = HealthPolicy(expiring_within=30 * DAY, quota_low_remaining=0)
    assert health_state(account(refresh_in=20 * DAY), HealthFacts(), None, NOW, wide) == HealthState.EXPIRING
    assert health_state(account(refresh_in=None), HealthFacts(), QuotaStatus(49, 50, NOW), NOW, wide) == (
        HealthState.HEALTHY
    )


# --- the background check ---------------------------------------------------------------------


async def shown(world: World, account_id: str) -> Account:
    return await world.services.accounts.get(world.workspace, account_id)


async def test_an_account_read_shows_its_health(world: World) -> None:
    ig = await world.instagram_account(access_token_expires_at=world.at(30 * 86400))
    seen = await shown(world, ig.id)
    assert seen.health is not None
    assert seen.health.state == HealthState.HEALTHY
    assert seen.health.quota is None and seen.health.facts == HealthFacts()  # not checked yet


async def test_a_check_reads_the_instagram_quota_and_warns_when_little_is_left(world: World) -> None:
    ig = await world.instagram_account()
    world.instagram.quota_usage = 46
    assert await world.services.account_health.run_once() == 1
    seen = await shown(world, ig.id)
    assert seen.health is not None
    assert seen.health.quota == QuotaStatus(46, 50, world.clock.now())
    assert seen.health.state == HealthState.QUOTA_LOW
    assert seen.health.facts.checked_at == world.clock.now()
    assert world.instagram.methods() == ["publishing_limit"]


async def test_a_check_reads_creator_info_and_records_a_creator_who_cannot_post(world: World) -> None:
    tt = await world.tiktok_account()
    await world.services.account_health.run_once()
    seen = await shown(world, tt.id)
    assert seen.health is not None and seen.health.facts.creator is not None
    assert seen.health.facts.creator.can_post
    assert seen.health.state == HealthState.HEALTHY
    world.clock.advance(POLICY.check_every)
    world.tiktok.script("creator_info", TikTokFailure.answered("creator_info", code="spam_risk_too_many_posts"))
    await world.services.account_health.run_once()
    seen = await shown(world, tt.id)
    assert seen.health is not None and seen.health.facts.creator is not None
    assert (seen.health.facts.creator.can_post, seen.health.facts.creator.cannot_post_reason) == (
        False, "spam_risk_too_many_posts"
    )
    assert seen.health.state == HealthState.QUOTA_LOW


async def test_each_account_is_checked_once_per_interval(world: World) -> None:
    await world.tiktok_account()
    await world.instagram_account()
    assert await world.services.account_health.run_once() == 2
    assert await world.services.account_health.run_once() == 0
    world.clock.advance(POLICY.check_every - 1)
    assert await world.services.account_health.run_once() == 0
    world.clock.advance(1)
    assert await world.services.account_health.run_once() == 2
    assert world.tiktok.count("creator_info") == 2


async def test_a_token_that_would_expire_before_the_next_check_is_refreshed_now(world: World) -> None:
    # Twelve minutes left: outside the ten-minute margin of a publish, inside the next check's.
    tt = await world.tiktok_account(access_token_expires_at=world.at(12 * 60))
    await world.services.account_health.run_once()
    assert world.tiktok.methods() == ["refresh", "creator_info"]
    assert [c.args["token"] for c in world.tiktok.calls_to("creator_info")] == ["tt-access-1"]
    stored = await world.store.accounts.get(world.workspace, tt.id)
    assert stored is not None and stored.access_token_expires_at == world.at(86400)


async def test_a_token_rejected_is_refreshed_once_then_the_account_is_marked(world: World) -> None:
    tt = await world.tiktok_account()
    world.tiktok.script("creator_info", *[TikTokFailure.token_rejected("creator_info")] * 2)
    await world.services.account_health.run_once()
    assert world.tiktok.methods() == ["creator_info", "refresh", "creator_info"]
    seen = await shown(world, tt.id)
    assert seen.state == AccountState.NEEDS_RECONNECT
    assert seen.health is not None and seen.health.state == HealthState.NEEDS_RECONNECT
    failure = seen.health.facts.last_failure
    assert failure is not None
    assert (failure.platform_code, failure.time) == ("access_token_invalid", world.clock.now())
    assert "tt-" not in failure.message  # never a token
    # A marked account is not checked again until it is reconnected.
    world.clock.advance(POLICY.check_every)
    assert await world.services.account_health.run_once() == 0


async def test_a_failure_that_says_nothing_of_the_token_leaves_the_account_active(world: World) -> None:
    ig = await world.instagram_account()
    world.instagram.script("publishing_limit", *[IgFailure.server_error("publishing_limit")] * 10)
    await world.services.account_health.run_once()
    seen = await shown(world, ig.id)
    assert seen.state == AccountState.ACTIVE
    assert seen.health is not None and seen.health.facts.last_failure is not None
    assert seen.health.state == HealthState.HEALTHY



async def test_a_publish_failed_by_the_platform_is_the_accounts_last_failure(world: World) -> None:
    account = await world.tiktok_account(refresh_token=None)
    world.tiktok.script("init_photo_post", TikTokFailure.token_rejected("init_photo_post"))
    with pytest.raises(DomainError):
        await world.publish(await world.tiktok_request(2, account))
    seen = await shown(world, account.id)
    assert seen.health is not None and seen.health.facts.last_failure is not None
    assert seen.health.facts.last_failure.platform_code == "access_token_invalid"
    assert seen.health.facts.last_failure.message.startswith("TikTok refused init: access_token_invalid")
    assert seen.health.state == HealthState.NEEDS_RECONNECT
