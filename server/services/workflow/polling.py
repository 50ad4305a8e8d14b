"""Polling schedules: check at once, then back off, within an overall bound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from server.domain.ports import Clock

# Late facts the reconciler can fetch after a publish ended.
PERMALINK = "permalink"
TIKTOK_POST_ID = "tiktok_post_id"
# Not a fact but a step after the post went live: an Instagram first comment not yet in a
# final state. Listed with the facts so that the reconciler finishes it after a crash.
FIRST_COMMENT = "first_comment"


@dataclass(frozen=True)
class PollPolicy:
    initial_interval: float  # wait after the first (immediate) check
    multiplier: float
    max_interval: float
    timeout: float  # overall bound, seconds

    async def ticks(self, clock: Clock) -> AsyncIterator[int]:
        """Yields attempt numbers: the first at once, then after growing sleeps, until timeout."""
        deadline = clock.monotonic() + self.timeout
        interval = self.initial_interval
        attempt = 0
        while True:
            yield attempt
            attempt += 1
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                return
            await clock.sleep(min(interval, remaining))
            interval = min(interval * self.multiplier, self.max_interval)


# Image containers are usually ready in seconds; the Graph guide bounds waiting at 5 minutes.
INSTAGRAM_CONTAINERS = PollPolicy(initial_interval=0.25, multiplier=1.5, max_interval=5.0, timeout=300.0)
# Reel containers process the video, for far longer than an image (minutes for a long one):
# the guide's once a minute is approached gradually, with a longer horizon than images'.
INSTAGRAM_REELS = PollPolicy(initial_interval=1.0, multiplier=1.5, max_interval=30.0, timeout=1800.0)
# TikTok downloads take seconds to minutes; status reads are limited to 30/min per token.
TIKTOK_STATUS = PollPolicy(initial_interval=0.5, multiplier=1.5, max_interval=10.0, timeout=600.0)


@dataclass(frozen=True)
class ReconcileSchedule:
    first_delay: float = 30.0  # seconds after the publish ended
    multiplier: float = 2.0
    max_interval: float = 1800.0
    # How long each fact is worth waiting for, counted from the publish time.
    horizons: tuple[tuple[str, float], ...] = ((PERMALINK, 86400.0), (TIKTOK_POST_ID, 3 * 86400.0))
    batch: int = 50

    def horizon(self, fact: str) -> float:
        return dict(self.horizons).get(fact, 86400.0)

    def delay(self, attempts: int) -> float:
        return min(self.first_delay * self.multiplier**attempts, self.max_interval)
