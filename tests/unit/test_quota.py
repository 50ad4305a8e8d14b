"""Instagram's publishing quota, read before any container is spent, cached and counted down
(server/services/quota.py)."""

from __future__ import annotations

import pytest

from server.domain.errors import ResourceExhausted
from server.services.quota import FRESH_SECONDS, InstagramQuota
from server.services.workflow.retry import DEFAULT_RETRY, Retrier
from tests.fakes import FakeClock, FakeInstagram, FakeStore, IgFailure

ACCOUNT, IG_USER, TOKEN = "account-1", "17841400000000001", "ig-token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def instagram(clock: FakeClock) -> FakeInstagram:
    return FakeInstagram(clock)


@pytest.fixture
def quota(instagram: FakeInstagram, clock: FakeClock) -> InstagramQuota:
    # The readings live in the store, shared by every replica.
    return InstagramQuota(instagram, FakeStore(clock.now).quotas, Retrier(DEFAULT_RETRY, clock), clock)


async def test_a_reading_is_reused_while_fresh_and_counted_down_by_our_publishes(
    quota: InstagramQuota, instagram: FakeInstagram, clock: FakeClock
) -> None:
    for _ in range(3):
        await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    assert instagram.methods() == ["publishing_limit"]
    assert instagram.calls[0].args == {"token": TOKEN, "ig_user_id": IG_USER}
    clock.advance(FRESH_SECONDS + 1)
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    assert instagram.count("publishing_limit") == 2
    await quota.reserve("another-account", IG_USER, TOKEN)
    assert instagram.count("publishing_limit") == 3


async def test_near_the_limit_every_publish_reads_the_quota_again(
    quota: InstagramQuota, instagram: FakeInstagram
) -> None:
    instagram.quota_usage, instagram.quota_total = 47, 50
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)  # reads 47: 48 after this one
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)  # 48 + 1 < 50: cached, 49 after
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)  # 49 + 1 >= 50: read again (47 really used)
    assert instagram.count("publishing_limit") == 2


async def test_a_used_up_quota_is_refused_with_when_to_try_again(
    quota: InstagramQuota, instagram: FakeInstagram
) -> None:
    instagram.quota_usage, instagram.quota_total = 49, 50
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    instagram.quota_usage = 50  # another app posted too
    with pytest.raises(ResourceExhausted) as caught:
        await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    assert caught.value.reason == "INSTAGRAM_PUBLISH_LIMIT_REACHED"
    assert caught.value.retry_after == 3600
    assert caught.value.metadata == {"quota_usage": "50", "quota_total": "50"}


async def test_a_quota_without_a_total_never_refuses(quota: InstagramQuota, instagram: FakeInstagram) -> None:
    instagram.quota_usage, instagram.quota_total = 99, 0
    for _ in range(3):
        await quota.reserve(ACCOUNT, IG_USER, TOKEN)


async def test_an_unreadable_quota_is_no_reason_to_refuse(quota: InstagramQuota, instagram: FakeInstagram) -> None:
    instagram.script("publishing_limit", IgFailure.answered("publishing_limit", code="10"))
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    await quota.reserve(ACCOUNT, IG_USER, TOKEN)  # nothing was cached: read again
    assert instagram.count("publishing_limit") == 2


async def test_a_quota_read_failing_transiently_is_retried(quota: InstagramQuota, instagram: FakeInstagram) -> None:
    instagram.quota_usage = 50
    instagram.script("publishing_limit", IgFailure.server_error("publishing_limit"))
    with pytest.raises(ResourceExhausted):
        await quota.reserve(ACCOUNT, IG_USER, TOKEN)
    assert instagram.count("publishing_limit") == 2


async def test_a_check_refuses_a_used_up_quota_and_passes_an_unreadable_one_counting_nothing(
    quota: InstagramQuota, instagram: FakeInstagram
) -> None:
    # The validate_only check: one read, no reservation either way.
    instagram.quota_usage, instagram.quota_total = 50, 50
    with pytest.raises(ResourceExhausted) as caught:
        await quota.check(IG_USER, TOKEN)
    assert caught.value.reason == "INSTAGRAM_PUBLISH_LIMIT_REACHED"
    instagram.script("publishing_limit", IgFailure.answered("publishing_limit", code="10"))
    await quota.check(IG_USER, TOKEN)  # unreadable: not refused
    instagram.quota_usage = 10
    await quota.check(IG_USER, TOKEN)
    await quota.check(IG_USER, TOKEN)
    assert instagram.count("publishing_limit") == 4  # nothing stored: each check reads it
