"""The AccountHealthStore contract, and QuotaStore.latest: each account's health facts kept
as written, and a due check handed to one caller at a time (server/domain/ports.py)."""

from __future__ import annotations

import asyncio

from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote, QuotaStatus
from server.domain.models import Platform
from server.domain.ports import QuotaReading, Store
from tests.contracts.records import OTHER_WORKSPACE, WORKSPACE, at, new_account

CREATOR = CreatorStatus(
    read_at=at(5), can_post=True, privacy_level_options=("PUBLIC_TO_EVERYONE", "SELF_ONLY"),
    comment_disabled=False, max_video_post_duration_sec=600,
)


async def test_an_account_never_checked_has_no_facts(store: Store) -> None:
    account = await store.accounts.upsert(new_account())
    assert await store.account_health.facts([account.id]) == {}
    assert await store.account_health.facts([]) == {}


async def test_a_check_and_a_failure_are_kept_side_by_side(store: Store) -> None:
    account = await store.accounts.upsert(new_account(platform=Platform.TIKTOK, external_account_id="oid"))
    await store.account_health.record_check(account.id, at(10), at(910), CREATOR)
    failure = PlatformFailureNote("access_token_invalid", "TikTok refused creator_info", at(20))
    await store.account_health.record_failure(account.id, failure)
    assert (await store.account_health.facts([account.id]))[account.id] == HealthFacts(
        checked_at=at(10), creator=CREATOR, last_failure=failure
    )
    # A later check that could not read creator_info keeps what it said before.
    await store.account_health.record_check(account.id, at(30), at(930), None)
    facts = (await store.account_health.facts([account.id]))[account.id]
    assert (facts.checked_at, facts.creator, facts.last_failure) == (at(30), CREATOR, failure)
    cannot = CreatorStatus(read_at=at(40), can_post=False, cannot_post_reason="spam_risk_too_many_posts")
    await store.account_health.record_check(account.id, at(40), at(940), cannot)
    assert (await store.account_health.facts([account.id]))[account.id].creator == cannot


async def test_due_checks_are_claimed_once_never_checked_first(store: Store) -> None:
    first = await store.accounts.upsert(new_account("1"))
    second = await store.accounts.upsert(new_account("2", workspace_id=OTHER_WORKSPACE))
    gone = await store.accounts.upsert(new_account("3"))
    await store.accounts.disconnect(WORKSPACE, gone.id)
    await store.account_health.record_check(first.id, at(0), at(100), None)
    # At 50 only the account never checked is due; the disconnected one never is.
    assert await store.account_health.claim_due(at(50), at(170), 10) == [(OTHER_WORKSPACE, second.id)]
    assert await store.account_health.claim_due(at(50), at(170), 10) == []  # held until 170
    assert await store.account_health.claim_due(at(100), at(220), 10) == [(WORKSPACE, first.id)]
    assert await store.account_health.claim_due(at(200), at(320), 1) == [(OTHER_WORKSPACE, second.id)]


async def test_concurrent_claims_share_out_the_due_checks(store: Store) -> None:
    accounts = [await store.accounts.upsert(new_account(str(n))) for n in range(6)]
    claims = await asyncio.gather(*(store.account_health.claim_due(at(0), at(120), 2) for _ in range(4)))
    claimed = [account_id for claim in claims for _, account_id in claim]
    assert sorted(claimed) == sorted(a.id for a in accounts)


async def test_the_latest_quota_reading_is_read_with_the_publishes_counted_since(store: Store) -> None:
    account = await store.accounts.upsert(new_account())
    other = await store.accounts.upsert(new_account("17841400000000002"))
    assert await store.quotas.latest([account.id]) == {}
    await store.quotas.record(account.id, QuotaReading(usage=40, total=50), at(0))
    assert await store.quotas.reserve(account.id, at(-1)) == QuotaReading(41, 50)
    assert await store.quotas.latest([account.id, other.id]) == {account.id: QuotaStatus(41, 50, at(0))}
    assert await store.quotas.latest([]) == {}
