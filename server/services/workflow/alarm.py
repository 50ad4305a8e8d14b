"""Alarms: how the publish log wakes a background loop for work it just made due sooner
than the loop planned to look (a schedule added or moved, a late-fact check set).

One object both sides are given at construction: the publish log rings it, the loop sleeps
on it. Most changes ring for a time after the loop's next planned look, and wake nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime


class Alarm:
    def __init__(self) -> None:
        self._rung = asyncio.Event()
        # When the loop next looks by itself; None while it is looking (or plans nothing),
        # when any ring wakes it.
        self.wakes_at: datetime | None = None

    def ring(self, at: datetime) -> None:
        """Work is due at `at`: wakes the loop if that is before it would look anyway."""
        if self.wakes_at is None or at < self.wakes_at:
            self._rung.set()

    @property
    def rung(self) -> bool:
        return self._rung.is_set()

    def reset(self) -> None:
        """The loop is about to look: a ring from here on wakes its next sleep."""
        self._rung.clear()
        self.wakes_at = None

    async def sleep_until(self, at: datetime | None, longest: float | None) -> None:
        """Sleeps until rung, or for `longest` seconds (None: until rung); `at` is when the
        loop looks again by itself (rings for later times wake nothing)."""
        self.wakes_at = at
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(longest):
                await self._rung.wait()
        self.wakes_at = None


@dataclass
class Alarms:
    """The loops the publish log wakes: the scheduler and the reconciler."""

    schedules: Alarm = field(default_factory=Alarm)
    late_facts: Alarm = field(default_factory=Alarm)
