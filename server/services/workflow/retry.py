"""Retries of platform calls that failed transiently: exponential backoff with full jitter,
honouring Retry-After, within a total time budget. Other failures are raised at once.

Whether a failed call may be sent again is the adapter's judgement, made once per platform
and endpoint (`PlatformFailure.retryable`); this module only decides when.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from server.domain.platforms import PlatformFailure
from server.domain.ports import Clock

T = TypeVar("T")

log = logging.getLogger("distribution.retry")


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 20.0
    budget: float = 60.0  # total seconds spent waiting between attempts
    max_attempts: int = 6

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


DEFAULT_RETRY = RetryPolicy()


class Retrier:
    """A retry policy, the clock it waits on, and who hears of each retry (metrics)."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        on_retry: Callable[[PlatformFailure], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._on_retry = on_retry
        self._rng = rng or random.Random()

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Runs `call`, sending it again after retryable failures while attempts and the
        waiting budget last; the last failure is raised."""
        policy = self.policy
        waited = 0.0
        attempt = 0
        while True:
            try:
                return await call()
            except PlatformFailure as failure:
                if not failure.retryable or attempt + 1 >= policy.max_attempts:
                    raise
                delay = policy.backoff(attempt, self._rng)
                if failure.retry_after is not None:
                    delay = max(delay, failure.retry_after)
                if waited + delay > policy.budget:
                    raise
                if self._on_retry is not None:
                    self._on_retry(failure)
                log.info("retrying platform call", extra={"error": str(failure), "delay_s": round(delay, 3)})
                started = self._clock.monotonic()
                await self._clock.sleep(delay)
                waited += self._clock.monotonic() - started
                attempt += 1
