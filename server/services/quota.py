"""Instagram's content publishing limit, checked before any container is spent.

Instagram enforces a per-account quota of posts per rolling 24 hours at `media_publish`
(50 at the time of writing; read, never hard-coded). Finding out there would waste up to
11 containers of the account's separate 400-a-day container budget, so the quota is read
first. The reading is kept per account in the store (shared by every replica) and counted
down by our own publishes, and read again once stale or when the account is near its limit
(other apps may post too).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from server.domain.errors import ResourceExhausted
from server.domain.health import QuotaStatus
from server.domain.limits import ROLLING_DAY_RETRY_AFTER_SECONDS
from server.domain.platforms import PlatformFailure
from server.domain.ports import Clock, InstagramApi, QuotaReading, QuotaStore
from server.services.workflow.retry import Retrier

log = logging.getLogger("distribution.quota")

# How long a quota reading is trusted.
FRESH_SECONDS = 300.0


class InstagramQuota:
    def __init__(
        self,
        client: InstagramApi,
        readings: QuotaStore,
        retrier: Retrier,
        clock: Clock,
        fresh_seconds: float = FRESH_SECONDS,
    ) -> None:
        self._client = client
        self._readings = readings
        self._retrier = retrier
        self._clock = clock
        self._fresh = timedelta(seconds=fresh_seconds)

    async def reserve(self, account_id: str, ig_user_id: str, token: str) -> None:
        """Counts one publish against the account's quota, or refuses with RESOURCE_EXHAUSTED.
        The reading is shared by every replica (the store counts each one's publishes)."""
        now = self._clock.now()
        if await self._readings.reserve(account_id, now - self._fresh) is not None:
            return
        try:
            limit = await self._retrier.run(lambda: self._client.publishing_limit(token, ig_user_id))
        except PlatformFailure as failure:
            # The quota is also enforced at media_publish; not knowing it is no reason to refuse.
            log.warning("publishing limit unreadable; publishing anyway", extra={"error": str(failure)})
            return
        usage, total = limit.quota_usage, limit.quota_total
        if total and usage >= total:
            await self._readings.record(account_id, QuotaReading(usage, total), now)
            raise _used_up(usage, total)
        await self._readings.record(account_id, QuotaReading(usage + 1, total), now)  # this publish counted

    async def read(self, account_id: str, ig_user_id: str, token: str) -> QuotaStatus:
        """Reads the quota from Instagram and keeps the reading (counting nothing), for the
        account's health. Raises the PlatformFailure when it cannot be read."""
        limit = await self._retrier.run(lambda: self._client.publishing_limit(token, ig_user_id))
        now = self._clock.now()
        await self._readings.record(account_id, QuotaReading(limit.quota_usage, limit.quota_total), now)
        return QuotaStatus(limit.quota_usage, limit.quota_total, now)

    async def check(self, ig_user_id: str, token: str) -> None:
        """Refuses with RESOURCE_EXHAUSTED when the account's quota is used up, counting
        nothing and storing nothing (validate_only): one read of content_publishing_limit."""
        try:
            limit = await self._retrier.run(lambda: self._client.publishing_limit(token, ig_user_id))
        except PlatformFailure as failure:
            log.warning("publishing limit unreadable; not refusing", extra={"error": str(failure)})
            return
        if limit.quota_total and limit.quota_usage >= limit.quota_total:
            raise _used_up(limit.quota_usage, limit.quota_total)


def _used_up(usage: int, total: int) -> ResourceExhausted:
    return ResourceExhausted.frees_with_time(
        reason="INSTAGRAM_PUBLISH_LIMIT_REACHED",
        message=f"This Instagram account has used its {total} API posts of the last 24 hours; "
        "publish again once older posts leave the window",
        retry_after=ROLLING_DAY_RETRY_AFTER_SECONDS,
        metadata={"quota_usage": str(usage), "quota_total": str(total)},
    )
