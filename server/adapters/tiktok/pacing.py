"""Client-side pacing: stay inside TikTok's per-token request limits by waiting, not failing.

The call windows themselves are kept by the store (RateWindows), so every replica sharing a
database counts against the same limit: six inits a minute per token in all, not per replica.

A slot is taken when a call is let go, but TikTok counts the call when it arrives, some
time later (a connection to open, a database round trip, a busy event loop). When the
first call of a window took longer to arrive than a later one, the two arrivals are
closer than the grants were; so the window kept here is TikTok's plus a margin at least
as long as that difference can be (RateLimits.margin, DISTRIBUTION_TIKTOK_PACING_MARGIN;
docs/platforms.md, "TikTok rate limits").
"""

from __future__ import annotations

import asyncio
import hashlib

from server.domain.ports import RateWindows


class Pacer:
    """At most `limit` calls per `window` + `margin` seconds per token for one endpoint; a
    call over the limit waits its turn. Tokens are hashed, so none is ever a key in memory
    or the store."""

    def __init__(
        self, windows: RateWindows, endpoint: str, limit: int, window: float = 60.0, margin: float = 0.0
    ) -> None:
        self.endpoint = endpoint
        self.limit = limit
        self.window = window
        self.margin = margin
        self._windows = windows
        self._locks: dict[str, asyncio.Lock] = {}
        self.waits = 0  # how many calls had to wait, for metrics and tests

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()[:24]

    async def acquire(self, token: str) -> float:
        """Waits until a call for this token fits in the window; returns the seconds waited."""
        if self.limit <= 0:
            return 0.0
        key = f"tiktok:{self.endpoint}:{self.key(token)}"
        waited = 0.0
        async with self._locks.setdefault(key, asyncio.Lock()):  # first come, first served here
            while (delay := await self._windows.take(key, self.limit, self.window + self.margin)) > 0:
                await asyncio.sleep(delay)
                waited += delay
        if waited:
            self.waits += 1
        return waited
