"""Pieces both emulators' in-memory worlds use: the call log and scripted answers (fail_next).

No aiohttp here: the state modules import this.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class CallLog:
    """Counts the calls an emulator served, per endpoint name, for tests and benchmarks."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, endpoint: str) -> None:
        self.counts[endpoint] += 1

    def total(self) -> int:
        return sum(self.counts.values())


def check_endpoint(endpoint: Any, endpoints: tuple[str, ...]) -> None:
    """ValueError unless `endpoint` is one of the emulator's call-log names."""
    if endpoint not in endpoints:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {list(endpoints)}")


def check_count(count: Any) -> int:
    """`count` if it is a positive integer (True is refused, though Python counts it as 1)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return count


def check_http_status(name: str, status: Any) -> None:
    """ValueError unless `status` (the argument called `name`) is an HTTP status code."""
    if not 100 <= status <= 599:
        raise ValueError(f"{name} must be an HTTP status code, got {status!r}")


@dataclass
class _Entry(Generic[T]):
    answer: T
    remaining: int


class ScriptedAnswers(Generic[T]):
    """Per-endpoint queues of scripted answers (``fail_next()``); each answers `count` calls."""

    def __init__(self, endpoints: Iterable[str]) -> None:
        self.endpoints = tuple(endpoints)
        self._queues: dict[str, collections.deque[_Entry[T]]] = {
            name: collections.deque() for name in self.endpoints
        }

    def check_endpoint(self, endpoint: Any) -> None:
        check_endpoint(endpoint, self.endpoints)

    def add(self, endpoint: str, answer: T, count: int) -> None:
        self.check_endpoint(endpoint)
        self._queues[endpoint].append(_Entry(answer, check_count(count)))

    def take(self, endpoint: str) -> T | None:
        """The answer scripted for this call of `endpoint`, or None to serve it normally."""
        queue = self._queues[endpoint]
        if not queue:
            return None
        entry = queue[0]
        entry.remaining -= 1
        if entry.remaining <= 0:
            queue.popleft()
        return entry.answer
