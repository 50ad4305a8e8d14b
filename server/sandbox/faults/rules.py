"""Fault rules and records, and the checks a rule passes (no aiohttp: plain data)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from server.sandbox.common import check_endpoint

KINDS = ("5xx", "429", "timeout", "reset", "error_after_live")
DEFAULT_RETRY_AFTER = 1
DEFAULT_STALL_SECONDS = 30.0

_RULE_FIELDS = frozenset(
    {"endpoint", "kind", "rate", "after_serving", "retry_after", "stall_seconds", "status"}
)


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


def make_rule(
    endpoints: tuple[str, ...],
    endpoint: Any,
    kind: Any,
    rate: Any,
    *,
    after_serving: Any,
    retry_after: Any,
    stall_seconds: Any,
    status: Any,
) -> FaultRule:
    """A rule for one of `endpoints`, checked: ValueError for a value out of range or an
    option that does not fit the kind, TypeError for a value of the wrong type."""
    check_endpoint(endpoint, endpoints)
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


def rule_from_json(endpoints: tuple[str, ...], raw: Any) -> FaultRule:
    """A rule from its JSON form (``POST /_sandbox/faults``), checked like ``make_rule``."""
    if not isinstance(raw, dict):
        raise TypeError("a rule must be a JSON object")
    unknown = set(raw) - _RULE_FIELDS
    if unknown:
        raise ValueError(f"unknown rule field(s) {sorted(unknown)}")
    for name in ("endpoint", "kind", "rate"):
        if name not in raw:
            raise ValueError(f"missing rule field {name!r}")
    return make_rule(
        endpoints,
        raw["endpoint"],
        raw["kind"],
        raw["rate"],
        after_serving=raw.get("after_serving", False),
        retry_after=raw.get("retry_after", DEFAULT_RETRY_AFTER),
        stall_seconds=raw.get("stall_seconds", DEFAULT_STALL_SECONDS),
        status=raw.get("status"),
    )


def with_rule(rules: dict[str, list[FaultRule]], rule: FaultRule) -> dict[str, list[FaultRule]]:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def check_seed(seed: Any) -> int | str:
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f"seed must be an integer or a string, got {seed!r}")
    return seed


def _status_range(kind: str, after_serving: bool) -> tuple[int, int]:
    if kind == "429":
        return 400, 499
    if kind == "reset" or (kind == "timeout" and after_serving):
        return 1, 0  # no status: the answer is a reset or the real one
    return 500, 599
