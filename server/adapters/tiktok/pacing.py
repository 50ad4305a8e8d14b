"""Client-side pacing: stay inside a platform's per-token request limits by waiting, not failing."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time


class SlidingWindowPacer:
    """At most `limit` calls per `window` seconds per key; a call over the limit waits its turn.

    Keys are hashed so tokens are never held as dictionary keys in memory dumps or logs.
    """

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._sent: dict[str, collections.deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.waits = 0  # how many calls had to wait, for metrics and tests

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()[:24]

    async def acquire(self, token: str) -> float:
        """Waits until a call for this token fits in the window; returns the seconds waited."""
        if self.limit <= 0:
            return 0.0
        key = self.key(token)
        sent = self._sent.setdefault(key, collections.deque())
        waited = 0.0
        async with self._locks.setdefault(key, asyncio.Lock()):  # first come, first served
            while True:
                now = time.monotonic()
                while sent and now - sent[0] >= self.window:
                    sent.popleft()
                if len(sent) < self.limit:
                    sent.append(now)
                    if waited:
                        self.waits += 1
                    return waited
                delay = sent[0] + self.window - now
                await asyncio.sleep(delay)
                waited += delay
