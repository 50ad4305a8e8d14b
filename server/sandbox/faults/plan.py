"""``FaultPlan``: an emulator's fault rules and the seeded draws that apply them."""

from __future__ import annotations

import collections
import random
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from server.sandbox.common import check_endpoint
from server.sandbox.faults.rules import (
    DEFAULT_RETRY_AFTER,
    DEFAULT_STALL_SECONDS,
    Fault,
    FaultRule,
    check_seed,
    make_rule,
    rule_from_json,
    with_rule,
)
from server.sandbox.faults.serving import (
    FaultInjected,
    Render,
    Stalls,
    apply_after_serving,
    middleware,
)

SERVER_ERROR_STATUSES = (500, 502, 503)
TIMEOUT_STATUS = 504
HISTORY = 1000  # events kept


class FaultPlan:
    """Per-endpoint probabilistic fault rules drawn from seeded streams (README.md#faults)."""

    def __init__(self, endpoints: Iterable[str], *, seed: int | str = 0) -> None:
        self.endpoints = tuple(endpoints)
        self._rules: dict[str, list[FaultRule]] = {}
        self._seed: int | str = check_seed(seed)
        self._streams: dict[str, random.Random] = {}
        self._calls: collections.Counter[str] = collections.Counter()
        self._seq = 0
        self._stalls = Stalls()
        self.injected: collections.Counter[tuple[str, str]] = collections.Counter()
        self.events: collections.deque[Fault] = collections.deque(maxlen=HISTORY)

    # --- rules -----------------------------------------------------------------------------

    @property
    def seed(self) -> int | str:
        return self._seed

    def set(
        self,
        endpoint: str,
        kind: str,
        rate: float,
        *,
        after_serving: bool = False,
        retry_after: int = DEFAULT_RETRY_AFTER,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        status: int | None = None,
    ) -> FaultRule | None:
        """Adds or replaces the (endpoint, kind, after_serving) rule; rate 0 removes it."""
        rule = make_rule(
            self.endpoints,
            endpoint,
            kind,
            rate,
            after_serving=after_serving,
            retry_after=retry_after,
            stall_seconds=stall_seconds,
            status=status,
        )
        self._rules = with_rule(self._rules, rule)
        return rule if rule.rate > 0 else None

    def clear(self, endpoint: str | None = None) -> None:
        """Removes every rule, or those of one endpoint. Counters and streams stay."""
        if endpoint is None:
            self._rules = {}
        else:
            check_endpoint(endpoint, self.endpoints)
            self._rules.pop(endpoint, None)

    def rules(self, endpoint: str | None = None) -> list[FaultRule]:
        if endpoint is not None:
            return list(self._rules.get(endpoint, ()))
        return [rule for name in self._rules for rule in self._rules[name]]

    def reseed(self, seed: int | str | None = None) -> None:
        """Restarts every endpoint's random stream and call numbering from `seed`."""
        if seed is not None:
            self._seed = check_seed(seed)
        self._streams.clear()
        self._calls.clear()

    def configure(self, body: Any) -> None:
        """Applies a ``POST /_sandbox/faults`` body; validates it whole first (ValueError, or
        TypeError for a value of the wrong type)."""
        if not isinstance(body, dict):
            raise TypeError("body must be a JSON object")
        unknown = set(body) - {"seed", "rules", "replace"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; expected seed, rules, replace")
        replace = body.get("replace", True)
        if not isinstance(replace, bool):
            raise TypeError("replace must be a boolean")
        seed = body.get("seed")
        if seed is not None:
            check_seed(seed)
        rules = self._rules if "rules" in body and not replace else {}
        if "rules" in body:
            raw_rules = body["rules"]
            if not isinstance(raw_rules, list):
                raise TypeError("rules must be a list of objects")
            for index, raw in enumerate(raw_rules):
                try:
                    rules = with_rule(rules, rule_from_json(self.endpoints, raw))
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"rules[{index}]: {exc}") from None
            self._rules = rules
        if seed is not None:
            self.reseed(seed)

    def snapshot(self) -> dict[str, Any]:
        """The plan as ``GET /_sandbox/faults`` answers it."""
        return {
            "seed": self._seed,
            "rules": [rule.to_json() for rule in self.rules()],
            "injected": [
                {"endpoint": endpoint, "kind": kind, "count": count}
                for (endpoint, kind), count in sorted(self.injected.items())
            ],
            "events": [fault.to_json() for fault in self.events],
        }

    # --- drawing ---------------------------------------------------------------------------

    def draw(self, endpoint: str) -> Fault | None:
        """Counts one call of `endpoint` and decides whether it gets a fault."""
        self._calls[endpoint] += 1
        rules = self._rules.get(endpoint)
        if not rules:
            return None
        stream = self._streams.get(endpoint)
        if stream is None:
            stream = self._streams[endpoint] = random.Random(f"{self._seed}:{endpoint}")
        point, bound = stream.random(), 0.0
        for rule in rules:
            bound += rule.rate
            if point < bound:
                return self._record(rule, self._status(rule, stream))
        return None

    def inject(self, request: web.Request, endpoint: str) -> Fault | None:
        """Draws for this call: raises FaultInjected for a before-serving fault; an
        after-serving fault is left on the request for the middleware to apply."""
        fault = self.draw(endpoint)
        if fault is not None:
            if not fault.after_serving:
                raise FaultInjected(fault)
            apply_after_serving(request, fault)
        return fault

    def _record(self, rule: FaultRule, status: int | None) -> Fault:
        self._seq += 1
        fault = Fault(
            seq=self._seq,
            endpoint=rule.endpoint,
            call=self._calls[rule.endpoint],
            kind=rule.kind,
            after_serving=rule.after_serving,
            status=status,
            retry_after=rule.retry_after,
            stall_seconds=rule.stall_seconds,
        )
        self.injected[(rule.endpoint, rule.kind)] += 1
        self.events.append(fault)
        return fault

    @staticmethod
    def _status(rule: FaultRule, stream: random.Random) -> int | None:
        if rule.kind == "5xx":
            return rule.status if rule.status is not None else stream.choice(SERVER_ERROR_STATUSES)
        if rule.kind == "error_after_live":
            return rule.status if rule.status is not None else 500
        if rule.kind == "timeout" and not rule.after_serving:
            return rule.status if rule.status is not None else TIMEOUT_STATUS
        return rule.status  # 429: None = the platform default; reset / late answer: None

    # --- serving ---------------------------------------------------------------------------

    def middleware(self, render: Render) -> Middleware:
        """The aiohttp middleware applying injected faults; must be the outermost one."""
        return middleware(self._stalls, render)

    async def stall(self, seconds: float) -> bool:
        """Sleeps `seconds`; False if ``release()`` ended the stall early."""
        return await self._stalls.stall(seconds)

    def release(self) -> None:
        """Ends every running stall now (their connections are reset)."""
        self._stalls.release()
