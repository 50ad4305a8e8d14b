"""Polling schedules: check at once, then back off, within an overall bound."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator


@dataclass(frozen=True)
class PollPolicy:
    initial_interval: float  # wait after the first (immediate) check
    multiplier: float
    max_interval: float
    timeout: float  # overall bound, seconds

    async def ticks(self) -> AsyncIterator[int]:
        """Yields attempt numbers: the first at once, then after growing sleeps, until timeout."""
        deadline = time.monotonic() + self.timeout
        interval = self.initial_interval
        attempt = 0
        while True:
            yield attempt
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * self.multiplier, self.max_interval)


# Image containers are usually ready in seconds; the Graph guide bounds waiting at 5 minutes.
INSTAGRAM_CONTAINERS = PollPolicy(initial_interval=0.25, multiplier=1.5, max_interval=5.0, timeout=300.0)
# TikTok downloads take seconds to minutes; status reads are limited to 30/min per token.
TIKTOK_STATUS = PollPolicy(initial_interval=1.0, multiplier=1.5, max_interval=10.0, timeout=600.0)
