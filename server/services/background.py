"""One background loop of a replica (the scheduler's timer, the reconciler, the webhook
dispatcher, the readiness watch): started once, cancelled and awaited at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class BackgroundLoop:
    def __init__(self, name: str, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._name = name  # the asyncio task's name: what a task dump or a profile shows
        self._body = body
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._body(), name=self._name)

    async def stop(self) -> None:
        """Cancels the loop and waits until it has ended; a second call does nothing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
