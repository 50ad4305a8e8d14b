"""Instagram's content publishing limit, checked before any container is spent.

Instagram enforces a per-account quota of posts per rolling 24 hours at `media_publish`
(50 at the time of writing; read, never hard-coded). Finding out there would waste up to
11 containers of the account's separate 400-a-day container budget, so the quota is read
first. The reading is cached per account and counted down by our own publishes, and read
again once stale or when the account is near its limit (other apps may post too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from server.domain.errors import ResourceExhausted
from server.domain.platforms import PlatformFailure
from server.domain.ports import Clock, InstagramApi
from server.services.workflow.retry import Retrier

log = logging.getLogger("distribution.quota")

# How long a quota reading is trusted.
FRESH_SECONDS = 300.0
# What RetryInfo suggests when the quota is used up: the rolling window frees a slot when
# the oldest post of the last 24 hours ages out, which the API does not say; an hour is a
# conservative first wait.
RETRY_AFTER_SECONDS = 3600.0


@dataclass
class _Reading:
    usage: int
    total: int
    read_at: float


class InstagramQuota:
    def __init__(
        self, client: InstagramApi, retrier: Retrier, clock: Clock, fresh_seconds: float = FRESH_SECONDS
    ) -> None:
        self._client = client
        self._retrier = retrier
        self._clock = clock
        self._fresh = fresh_seconds
        self._readings: dict[str, _Reading] = {}

    async def reserve(self, account_id: str, ig_user_id: str, token: str) -> None:
        """Counts one publish against the account's quota, or refuses with RESOURCE_EXHAUSTED."""
        reading = self._readings.get(account_id)
        if reading is None or self._clock.monotonic() - reading.read_at > self._fresh or (
            reading.usage + 1 >= reading.total
        ):
            try:
                limit = await self._retrier.run(lambda: self._client.publishing_limit(token, ig_user_id))
            except PlatformFailure as failure:
                # The quota is also enforced at media_publish; not knowing it is no reason to refuse.
                log.warning("publishing limit unreadable; publishing anyway", extra={"error": str(failure)})
                return
            reading = _Reading(limit.quota_usage, limit.quota_total, self._clock.monotonic())
            self._readings[account_id] = reading
        if reading.total and reading.usage >= reading.total:
            raise ResourceExhausted(
                reason="INSTAGRAM_PUBLISH_LIMIT_REACHED",
                message=f"This Instagram account has used its {reading.total} API posts of the last 24 hours; "
                "publish again once older posts leave the window",
                metadata={"quota_usage": str(reading.usage), "quota_total": str(reading.total)},
                retry_after=RETRY_AFTER_SECONDS,
            )
        reading.usage += 1
