"""TikTok's per-token, per-endpoint rate limits: a sliding window of admitted requests,
counted when a request ARRIVES (as any server counts), not when its client decided to send it."""

from __future__ import annotations

import collections

RATE_WINDOW = 60.0


class SlidingWindowLimiter:
    """At most `limit` admitted hits per key in any `window` seconds; what it refused is
    counted per endpoint (`refused`), for tests and benchmarks to read."""

    def __init__(self) -> None:
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.refused: collections.Counter[str] = collections.Counter()

    def admit(self, key: str, limit: int, now: float, window: float = RATE_WINDOW, endpoint: str = "") -> bool:
        """Whether a hit at `now` is let through (only those count); a limit of 0 disables it."""
        if limit <= 0:
            return True
        hits = self._hits[key]
        while hits and now - hits[0] >= window:
            hits.popleft()
        if len(hits) >= limit:
            self.refused[endpoint] += 1
            return False
        hits.append(now)
        return True
