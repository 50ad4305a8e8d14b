"""The rules that state an account's health from what is known of it (health.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.domain.health import CreatorStatus, HealthFacts, HealthPolicy, HealthState, QuotaStatus
from server.domain.models import Account, AccountState, Platform


def expiring_token(account: Account, now: datetime, within: timedelta) -> tuple[str, datetime] | None:
    """Which token Distribution cannot renew itself stops working within `within`, and when
    ("refresh_token" or "access_token"): the refresh token; or the access token of an account
    with no refresh token (an Instagram long-lived token is renewed in its last week, so it
    is still this close only when its renewal failed). None when neither is."""
    horizon = now + within
    refresh = account.refresh_token_expires_at
    if account.has_refresh_token and refresh is not None and refresh <= horizon:
        return "refresh_token", refresh
    access = account.access_token_expires_at
    if access is None or access > horizon:
        return None
    if account.platform == Platform.INSTAGRAM or not account.has_refresh_token:
        return "access_token", access
    return None


def expiring(account: Account, now: datetime, within: timedelta) -> bool:
    return expiring_token(account, now, within) is not None


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
