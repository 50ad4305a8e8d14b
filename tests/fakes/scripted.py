"""What the fake platform APIs share: every call recorded, answers scripted per call.

A test scripts a method's next answers with `script(method, *outcomes)`; each call takes
the next one, and once they are used up the fake answers as a healthy platform would.
An outcome is:

- a `PlatformFailure`: raised, and the platform did nothing (build them with the
  `IgFailure` / `TikTokFailure` helpers, which ask the real adapters' error tables);
- `Applied(failure)`: the platform did the work, then its answer was lost (the
  "it went live although the call failed" case);
- a `Hold`: the call waits there until the test releases it (for a call in flight);
- any other exception: raised as is (a bug, not a platform answer);
- `NORMAL`: answered as the healthy platform would (to script a later call only);
- anything else: returned as the answer, with no effect on the fake platform.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from server.domain.platforms import PlatformFailure

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One call to a platform port: its method name and arguments (token included)."""

    method: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Applied:
    """The platform acted on the call, then `failure` is what the caller saw."""

    failure: PlatformFailure


class _Normal:
    def __repr__(self) -> str:
        return "NORMAL"


NORMAL = _Normal()


class Hold:
    """Stops a call until `release()`: `reached` is set once the call has arrived."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def wait(self) -> None:
        self.reached.set()
        await self._released.wait()


class ScriptedApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripts: dict[str, deque[object]] = {}

    def script(self, method: str, *outcomes: object) -> None:
        """Queues the next answers of `method` (see the module docstring)."""
        if not hasattr(self, method):
            raise AttributeError(f"{type(self).__name__} has no method {method}")
        self._scripts.setdefault(method, deque()).extend(outcomes)

    def unscript(self, method: str) -> None:
        """Drops the answers still queued for `method`: it answers normally again."""
        self._scripts.pop(method, None)

    def hold(self, method: str) -> Hold:
        """Holds the next call of `method` until released."""
        hold = Hold()
        self.script(method, hold)
        return hold

    def scripted(self, method: str) -> int:
        """How many scripted answers of `method` are still unused."""
        return len(self._scripts.get(method, ()))

    def methods(self) -> list[str]:
        """Every call so far, by method name, in order."""
        return [call.method for call in self.calls]

    def count(self, method: str) -> int:
        return sum(1 for call in self.calls if call.method == method)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def _answer(self, method: str, args: dict[str, Any], effect: Callable[[], T]) -> T:
        """Records the call, then answers it with the next scripted outcome or `effect()`."""
        self.calls.append(Call(method, args))
        await asyncio.sleep(0)  # an answer never arrives in the same step as its call
        script = self._scripts.get(method)
        while script and isinstance(script[0], Hold):
            hold = script.popleft()
            assert isinstance(hold, Hold)
            await hold.wait()
        if not script:
            return effect()
        outcome = script.popleft()
        if outcome is NORMAL:
            return effect()
        if isinstance(outcome, Applied):
            effect()
            raise outcome.failure
        if isinstance(outcome, BaseException):
            raise outcome
        result: T = outcome  # type: ignore[assignment]
        return result
