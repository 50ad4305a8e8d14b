"""Pieces shared by the platform emulators: counting calls."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass
class CallLog:
    """Counts the calls an emulator served, per endpoint name, for tests and benchmarks."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, endpoint: str) -> None:
        self.counts[endpoint] += 1

    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()
