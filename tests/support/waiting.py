"""Waiting for something a service does in the background: a bounded poll on a condition,
never a guessed sleep. A condition that never holds fails the test naming what was awaited
(it neither hangs nor lets the test go on as if it had held)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Long enough for a loaded 2-core CI machine; a condition that holds returns at once.
DEFAULT_WITHIN = 20.0
DEFAULT_EVERY = 0.01


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    what: str,
    *,
    within: float = DEFAULT_WITHIN,
    every: float = DEFAULT_EVERY,
) -> T:
    """Polls `condition` (sync or async) until it returns a truthy value, which is returned;
    fails with `what` once `within` seconds of the loop's clock have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s (last value {result!r})")
        await asyncio.sleep(every)


def eventually_sync(
    condition: Callable[[], T], what: str, *, within: float = DEFAULT_WITHIN, every: float = 0.05
) -> T:
    """`eventually` for a test without an event loop (the browser tests drive a synchronous
    Playwright): blocks between polls."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s (last value {result!r})")
        time.sleep(every)
