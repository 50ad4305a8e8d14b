"""Account events: what an account's owner must act on, sent on the workspace stream and to
webhooks beside publish events (server/domain/events.py), each ONCE PER CONDITION, never once
per pass of the health check:

- account.token_expiring: once per token expiry. The condition's marker is the expiring
  token and its expiry time, so a new token (a reconnect, or a renewal that moved the expiry)
  re-arms it by itself.
- account.quota_low: once per crossing of the threshold (Instagram: at most
  DISTRIBUTION_ACCOUNT_QUOTA_LOW_REMAINING posts left; TikTok: creator_info says the creator
  cannot post now); re-armed when a check finds the quota above it again.
- account.reauth_required: when the account enters NEEDS_RECONNECT (a publish's rejected
  token, a refused refresh, the health check): written with that state change, which happens
  once (only an ACTIVE account changes).
- account.reconnected: when ConnectAccount or CompleteAccountConnection reconnects an
  existing account, with the state it had before (NEEDS_RECONNECT: the fix of a
  reauth_required).

The stores write each event in the transaction of the change that causes it (a marker moved by
compare-and-set, a state changed), so replicas racing on one condition send it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from server.domain.events import AccountEvent
from server.domain.health import AccountHealth, HealthPolicy
from server.domain.health_rules import expiring_token, quota_low
from server.domain.models import Account, AccountState
from server.domain.webhooks import EventKind

ConditionName = Literal["token_expiring", "quota_low"]

# Why an account needs reconnecting when its caller says no more.
REJECTED = "the platform rejected the token"


@dataclass(frozen=True)
class Condition:
    """A condition the health check notes for an account. `marker` names the instance that
    holds now (None: the condition does not hold, which re-arms it); a store keeps the last
    marker and writes `event` only when the marker it holds changes to this one."""

    name: ConditionName
    marker: str | None
    event: AccountEvent | None


def conditions(account: Account, health: AccountHealth, now: datetime, policy: HealthPolicy) -> list[Condition]:
    """What the health check notes for an ACTIVE account whose health was just stated. An
    expiry no longer in the window leaves its marker (nothing is noted): the same expiry
    coming back into the window is not news; a new one is."""
    noted: list[Condition] = []
    token = expiring_token(account, now, policy.expiring_within)
    if token is not None:
        which, expires_at = token
        noted.append(Condition(
            "token_expiring", f"{which}@{expires_at.isoformat()}", token_expiring(which, expires_at, now),
        ))
    low = quota_low(health.quota, health.facts.creator, policy.quota_low_remaining)
    noted.append(Condition("quota_low", "low" if low else None, quota_low_event(health, now) if low else None))
    return noted


def token_expiring(which: str, expires_at: datetime, now: datetime) -> AccountEvent:
    days = (expires_at - now).total_seconds() / 86400
    words = "refresh token" if which == "refresh_token" else "access token"
    return AccountEvent(
        EventKind.ACCOUNT_TOKEN_EXPIRING, now,
        f"The account's {words} expires at {expires_at.isoformat(timespec='seconds')} (in {max(days, 0):.1f} days)"
        " and Distribution cannot renew it: reconnect the account before then",
        {"token": which, "expire_time": expires_at.isoformat()},
    )


def quota_low_event(health: AccountHealth, now: datetime) -> AccountEvent:
    quota, creator = health.quota, health.facts.creator
    if creator is not None and not creator.can_post:
        return AccountEvent(
            EventKind.ACCOUNT_QUOTA_LOW, now,
            f"TikTok's creator_info says the creator cannot post now ({creator.cannot_post_reason})",
            {"tiktok_cannot_post_reason": creator.cannot_post_reason},
        )
    assert quota is not None
    return AccountEvent(
        EventKind.ACCOUNT_QUOTA_LOW, now,
        f"{quota.remaining} of Instagram's {quota.total} API posts per 24 hours are left",
        {"instagram_quota_usage": quota.usage, "instagram_quota_total": quota.total},
    )


def reauth_required(reason: str, now: datetime, platform_code: str = "") -> AccountEvent:
    """The event of an account entering NEEDS_RECONNECT, and why."""
    details: dict[str, str] = {"reason": reason}
    if platform_code:
        details["platform_code"] = platform_code
    return AccountEvent(
        EventKind.ACCOUNT_REAUTH_REQUIRED, now,
        f"Publishing to the account fails until it is reconnected: {reason}",
        details,
    )


def reconnected(previous: AccountState, now: datetime) -> AccountEvent:
    """The event of an existing account connected again (new tokens, ACTIVE)."""
    was = {
        AccountState.NEEDS_RECONNECT: "it needed reconnecting",
        AccountState.DISCONNECTED: "it was disconnected",
        AccountState.ACTIVE: "its tokens were replaced",
    }[previous]
    return AccountEvent(
        EventKind.ACCOUNT_RECONNECTED, now, f"The account was reconnected ({was})",
        {"previous_state": previous.value},
    )
