"""TikTok's per-token, per-endpoint rate limits: a sliding window of admitted requests."""

from __future__ import annotations

import collections

RATE_WINDOW = 60.0


class SlidingWindowLimiter:
    """At most `limit` admitted hits per key in any RATE_WINDOW seconds."""

    def __init__(self) -> None:
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def admit(self, key: str, limit: int, now: float) -> bool:
        """Whether a hit at `now` is let through (only those count); a limit of 0 disables it."""
        if limit <= 0:
            return True
        hits = self._hits[key]
        while hits and now - hits[0] >= RATE_WINDOW:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True
