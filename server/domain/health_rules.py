"""The rules that state an account's health from what is known of it (health.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.health import CreatorStatus, HealthFacts, HealthPolicy, HealthState, QuotaStatus
from server.domain.models import Account, AccountState, Platform


def expiring(account: Account, now: datetime, within: timedelta) -> bool:
    """Whether a token Distribution cannot renew itself stops working within `within`: the
    refresh token; or the access token of an account with no refresh token (an Instagram
    long-lived token is renewed in its last week, so it is still this close only when its
    renewal failed)."""
    horizon = now + within
    refresh = account.refresh_token_expires_at
    if account.has_refresh_token and refresh is not None and refresh <= horizon:
        return True
    access = account.access_token_expires_at
    if access is None or access > horizon:
        return False
    return account.platform == Platform.INSTAGRAM or not account.has_refresh_token


def quota_low(quota: QuotaStatus | None, creator: CreatorStatus | None, remaining: int) -> bool:
    """Instagram: at most `remaining` API posts left; TikTok: the creator cannot post now."""
    if quota is not None and quota.total and quota.remaining <= remaining:
        return True
    return creator is not None and not creator.can_post


def health_state(
    account: Account, facts: HealthFacts, quota: QuotaStatus | None, now: datetime, policy: HealthPolicy
) -> HealthState:
    if account.state == AccountState.NEEDS_RECONNECT:
        return HealthState.NEEDS_RECONNECT
    if expiring(account, now, policy.expiring_within):
        return HealthState.EXPIRING
    if quota_low(quota, facts.creator, policy.quota_low_remaining):
        return HealthState.QUOTA_LOW
    return HealthState.HEALTHY
