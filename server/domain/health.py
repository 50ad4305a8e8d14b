"""An account's health: what its owner must do soon, read from what is known of it (token
expiry times, the last Instagram quota reading, TikTok's creator_info, the last failed
platform call). The values here; the rules that state it in health_rules.py. The health
check (server/services/account_health.py) gathers the facts, and every read of an account
states its health from them at that moment.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

# TikTok's answers to creator_info that mean "this creator cannot post now" (HTTP 200
# errors, documented as intentional): the creator's daily cap, a posting ban, the app's cap.
CANNOT_POST_CODES = frozenset({
    "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap",
})


class HealthState(str, enum.Enum):
    """Most urgent first: an account in several conditions shows the first."""

    NEEDS_RECONNECT = "NEEDS_RECONNECT"
    EXPIRING = "EXPIRING"
    QUOTA_LOW = "QUOTA_LOW"
    HEALTHY = "HEALTHY"


@dataclass(frozen=True)
class HealthPolicy:
    """When to warn: a token Distribution cannot renew expiring within `expiring_within`
    (DISTRIBUTION_ACCOUNT_EXPIRY_WARNING_DAYS); at most `quota_low_remaining` Instagram API
    posts left of the 24-hour quota (DISTRIBUTION_ACCOUNT_QUOTA_LOW_REMAINING). The health
    check runs every `check_every` seconds (DISTRIBUTION_ACCOUNT_CHECK_SECONDS)."""

    expiring_within: timedelta = timedelta(days=7)
    quota_low_remaining: int = 5
    check_every: float = 900.0


@dataclass(frozen=True)
class PlatformFailureNote:
    """The last platform call for an account that failed, as its health shows it."""

    platform_code: str
    message: str
    time: datetime


@dataclass(frozen=True)
class CreatorStatus:
    """What TikTok's creator_info said at `read_at`: whether the creator can post now (and,
    if not, TikTok's code for why), and the limits it states for their posts."""

    read_at: datetime
    can_post: bool
    cannot_post_reason: str = ""
    privacy_level_options: tuple[str, ...] = ()
    comment_disabled: bool | None = None
    max_video_post_duration_sec: int | None = None


@dataclass(frozen=True)
class QuotaStatus:
    """An Instagram content_publishing_limit reading (with our own publishes since)."""

    usage: int
    total: int
    read_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.total - self.usage, 0)


@dataclass(frozen=True)
class HealthFacts:
    """What the store keeps of an account's health besides its tokens' expiry."""

    checked_at: datetime | None = None
    creator: CreatorStatus | None = None
    last_failure: PlatformFailureNote | None = None


@dataclass(frozen=True)
class AccountHealth:
    """An account's health as a read shows it."""

    state: HealthState
    facts: HealthFacts
    quota: QuotaStatus | None = None
