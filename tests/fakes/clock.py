"""A virtual clock (the Clock port) for the unit layer.

`sleep()` moves time forward at once and only yields to the event loop, so a poll timeout
of ten minutes, a retry budget or a reconciler horizon of three days runs in microseconds.
Every task shares the one clock: concurrent sleeps each add their own time (virtual time
only ever moves forward, it never runs two waits side by side).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

# A fixed, arbitrary start, so timelines and platform timestamps are the same on every run.
START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._monotonic = 1_000.0
        self.sleeps: list[float] = []  # every sleep asked for, in order

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Moves both clocks forward (a negative or zero step changes nothing)."""
        if seconds > 0:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds

    @property
    def slept(self) -> float:
        """Seconds of virtual time spent in sleep() so far."""
        return sum(s for s in self.sleeps if s > 0)
