"""Switchable, seeded fault injection shared by the emulators (``sandbox.faults``).

README.md#faults (next to this module) is the reference: kinds, the Python API and the HTTP
control routes, which ``server.sandbox.control`` serves.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import random
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from server.sandbox.common import check_endpoint

__all__ = [
    "KINDS",
    "Fault",
    "FaultInjected",
    "FaultPlan",
    "FaultRule",
    "abort_connection",
]

KINDS = ("5xx", "429", "timeout", "reset", "error_after_live")
SERVER_ERROR_STATUSES = (500, 502, 503)
TIMEOUT_STATUS = 504
DEFAULT_RETRY_AFTER = 1
DEFAULT_STALL_SECONDS = 30.0
HISTORY = 1000

_RULE_FIELDS = frozenset(
    {"endpoint", "kind", "rate", "after_serving", "retry_after", "stall_seconds", "status"}
)
_FAULT_KEY = web.RequestKey("sandbox_fault", object)


@dataclass(frozen=True)
class FaultRule:
    """One probabilistic rule of a plan."""

    endpoint: str
    kind: str
    rate: float
    after_serving: bool = False
    retry_after: int = DEFAULT_RETRY_AFTER
    stall_seconds: float = DEFAULT_STALL_SECONDS
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    """One injected fault: which call of which endpoint got what."""

    seq: int  # 1-based, across the plan, in injection order
    endpoint: str
    call: int  # the n-th call of the endpoint since the last (re)seeding, 1-based
    kind: str
    after_serving: bool
    status: int | None  # the HTTP status answered; None: reset, late real answer, or default
    retry_after: int
    stall_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "endpoint": self.endpoint,
            "call": self.call,
            "kind": self.kind,
            "after_serving": self.after_serving,
            "status": self.status,
        }


class FaultInjected(Exception):
    """Raised by ``FaultPlan.inject`` for a before-serving fault; the middleware answers it.

    Emulator catch-alls must let it through (``except FaultInjected: raise``).
    """

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault.kind} on {fault.endpoint}")
        self.fault = fault


Render = Callable[[Fault], web.Response]
"""Builds an emulator's error response for a fault (kinds 5xx, 429, timeout, error_after_live).

``fault.status`` is the HTTP status to send; for 429 it may be None (the platform default).
"""


class FaultPlan:
    """Per-endpoint probabilistic fault rules drawn from seeded streams (README.md#faults)."""

    def __init__(self, endpoints: Iterable[str], *, seed: int | str = 0) -> None:
        self.endpoints = tuple(endpoints)
        self._rules: dict[str, list[FaultRule]] = {}
        self._seed: int | str = _check_seed(seed)
        self._streams: dict[str, random.Random] = {}
        self._calls: collections.Counter[str] = collections.Counter()
        self._seq = 0
        self._stalls: set[asyncio.Future[bool]] = set()
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
        rule = self._make_rule(
            endpoint,
            kind,
            rate,
            after_serving=after_serving,
            retry_after=retry_after,
            stall_seconds=stall_seconds,
            status=status,
        )
        rules = self._with_rule(self._rules, rule)
        self._rules = rules
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
            self._seed = _check_seed(seed)
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
            _check_seed(seed)
        rules = self._rules if "rules" in body and not replace else {}
        if "rules" in body:
            raw_rules = body["rules"]
            if not isinstance(raw_rules, list):
                raise TypeError("rules must be a list of objects")
            for index, raw in enumerate(raw_rules):
                try:
                    rules = self._with_rule(rules, self._rule_from_json(raw))
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
            request[_FAULT_KEY] = fault
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

    def middleware(self, render: Render) -> Any:
        """The aiohttp middleware applying injected faults; must be the outermost one."""

        @web.middleware
        async def fault_middleware(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            try:
                response = await handler(request)
            except FaultInjected as exc:
                return await self._before(request, exc.fault, render)
            fault = request.get(_FAULT_KEY)
            if not isinstance(fault, Fault):
                return response
            return await self._after(request, fault, response, render)

        return fault_middleware

    async def _before(
        self, request: web.Request, fault: Fault, render: Render
    ) -> web.StreamResponse:
        if fault.kind == "reset":
            return abort_connection(request)
        if fault.kind == "timeout":
            if not await self.stall(fault.stall_seconds) or _closing(request):
                return abort_connection(request)
            return render(fault)
        response = render(fault)
        if fault.kind == "429":
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    async def _after(
        self, request: web.Request, fault: Fault, response: web.StreamResponse, render: Render
    ) -> web.StreamResponse:
        if fault.kind == "reset":
            return abort_connection(request)
        if fault.kind == "timeout":
            if not await self.stall(fault.stall_seconds) or _closing(request):
                return abort_connection(request)
            return response
        return render(fault)  # error_after_live

    async def stall(self, seconds: float) -> bool:
        """Sleeps `seconds`; False if ``release()`` ended the stall early."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(seconds, _settle, waiter, True)
        self._stalls.add(waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._stalls.discard(waiter)

    def release(self) -> None:
        """Ends every running stall now (their connections are reset)."""
        for waiter in list(self._stalls):
            _settle(waiter, False)

    # --- validation ------------------------------------------------------------------------

    def _make_rule(
        self,
        endpoint: Any,
        kind: Any,
        rate: Any,
        *,
        after_serving: Any,
        retry_after: Any,
        stall_seconds: Any,
        status: Any,
    ) -> FaultRule:
        check_endpoint(endpoint, self.endpoints)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {list(KINDS)}")
        if not _is_number(rate) or not 0 <= rate <= 1:
            raise ValueError(f"rate must be a number from 0 to 1, got {rate!r}")
        if not isinstance(after_serving, bool):
            raise TypeError("after_serving must be a boolean")
        if kind == "error_after_live":
            after_serving = True
        elif after_serving and kind in ("5xx", "429"):
            raise ValueError(
                f"{kind} faults happen before serving; use error_after_live for an error "
                "after the call took effect"
            )
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError(f"retry_after must be a non-negative integer, got {retry_after!r}")
        if not _is_number(stall_seconds) or not 0 <= stall_seconds < math.inf:
            raise ValueError(f"stall_seconds must be a non-negative number, got {stall_seconds!r}")
        if status is not None:
            if isinstance(status, bool) or not isinstance(status, int):
                raise TypeError(f"status must be an integer HTTP status, got {status!r}")
            low, high = _status_range(kind, after_serving)
            if not low <= status <= high:
                raise ValueError(
                    f"status {status} does not fit a {kind} fault "
                    f"({'no status' if low > high else f'{low}..{high}'})"
                )
        return FaultRule(
            endpoint=endpoint,
            kind=kind,
            rate=float(rate),
            after_serving=after_serving,
            retry_after=retry_after,
            stall_seconds=float(stall_seconds),
            status=status,
        )

    def _rule_from_json(self, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise TypeError("a rule must be a JSON object")
        unknown = set(raw) - _RULE_FIELDS
        if unknown:
            raise ValueError(f"unknown rule field(s) {sorted(unknown)}")
        for name in ("endpoint", "kind", "rate"):
            if name not in raw:
                raise ValueError(f"missing rule field {name!r}")
        return self._make_rule(
            raw["endpoint"],
            raw["kind"],
            raw["rate"],
            after_serving=raw.get("after_serving", False),
            retry_after=raw.get("retry_after", DEFAULT_RETRY_AFTER),
            stall_seconds=raw.get("stall_seconds", DEFAULT_STALL_SECONDS),
            status=raw.get("status"),
        )

    @staticmethod
    def _with_rule(
        rules: dict[str, list[FaultRule]], rule: FaultRule
    ) -> dict[str, list[FaultRule]]:
        """A copy of `rules` with `rule` added or replacing its (kind, after_serving) twin."""
        out = {name: list(values) for name, values in rules.items()}
        current = out.setdefault(rule.endpoint, [])
        same = [
            i
            for i, r in enumerate(current)
            if (r.kind, r.after_serving) == (rule.kind, rule.after_serving)
        ]
        if same:
            if rule.rate > 0:
                current[same[0]] = rule
            else:
                del current[same[0]]
        elif rule.rate > 0:
            current.append(rule)
        total = sum(r.rate for r in current)
        if total > 1 + 1e-9:
            raise ValueError(
                f"the rates of {rule.endpoint!r} add up to {total:g}; at most 1 is possible"
            )
        if not current:
            del out[rule.endpoint]
        return out


# --- helpers ---------------------------------------------------------------------------------


def abort_connection(request: web.Request) -> web.Response:
    """Resets the request's connection (RST, no HTTP response) and returns a response that
    aiohttp will fail to send (it treats that as a client disconnection, quietly)."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError, TypeError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)


def _closing(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _settle(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _check_seed(seed: Any) -> int | str:
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f"seed must be an integer or a string, got {seed!r}")
    return seed


def _status_range(kind: str, after_serving: bool) -> tuple[int, int]:
    if kind == "429":
        return 400, 499
    if kind == "reset" or (kind == "timeout" and after_serving):
        return 1, 0  # no status: the answer is a reset or the real one
    return 500, 599
