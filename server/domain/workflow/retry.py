"""Retries of transient platform errors: exponential backoff with full jitter, honouring
Retry-After, within a total time budget. Final errors are raised at once.

Which errors are transient is the platform table's call (`platform_errors.is_transient`);
whether a call may be repeated at all is the caller's: only calls that change nothing, or
whose failure proves nothing changed, go through here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from server.domain.platform_errors import is_transient
from server.platforms.errors import PlatformConnectionError, PlatformError

T = TypeVar("T")

log = logging.getLogger("distribution.retry")


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 20.0
    budget: float = 60.0  # total seconds spent waiting between attempts
    max_attempts: int = 6

    def backoff(self, attempt: int, rng: random.Random = random.Random()) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


DEFAULT_RETRY = RetryPolicy()


class Retrier:
    """A retry policy plus who hears of each retry (metrics)."""

    def __init__(
        self,
        policy: RetryPolicy = DEFAULT_RETRY,
        observe: Callable[[PlatformError | PlatformConnectionError], None] | None = None,
    ) -> None:
        self.policy = policy
        self._observe = observe

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        read_only: bool,
        retryable: Callable[[PlatformError | PlatformConnectionError], bool] | None = None,
    ) -> T:
        return await with_retries(
            call, read_only=read_only, policy=self.policy, on_retry=self._observe, retryable=retryable
        )


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    read_only: bool,
    policy: RetryPolicy = DEFAULT_RETRY,
    on_retry: Callable[[PlatformError | PlatformConnectionError], None] | None = None,
    retryable: Callable[[PlatformError | PlatformConnectionError], bool] | None = None,
) -> T:
    """Runs `call`, repeating it after transient failures. `read_only` says whether a
    connection error or timeout (which may have reached the platform) may be repeated;
    `retryable` replaces the platform table's judgement for calls that need a stricter one."""
    waited = 0.0
    attempt = 0
    while True:
        try:
            return await call()
        except (PlatformError, PlatformConnectionError) as exc:
            repeatable = retryable(exc) if retryable is not None else is_transient(exc, read_only=read_only)
            if not repeatable or attempt + 1 >= policy.max_attempts:
                raise
            delay = policy.backoff(attempt)
            if isinstance(exc, PlatformError) and exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            if waited + delay > policy.budget:
                raise
            if on_retry is not None:
                on_retry(exc)
            log.info("retrying platform call", extra={"error": str(exc), "delay_s": round(delay, 3)})
            started = time.monotonic()
            await asyncio.sleep(delay)
            waited += time.monotonic() - started
            attempt += 1
