"""Pieces shared by the platform emulators: counting calls."""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class CallLog:
    """Counts the calls an emulator served, per endpoint name, for tests and benchmarks."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(self, endpoint: str) -> None:
        self.counts[endpoint] += 1

    def total(self) -> int:
        return sum(self.counts.values())


def apply_config_update(
    config: Any,
    update: dict[str, Any],
    convert: Callable[[str, Any, Any], Any],
    error: type[Exception] = ValueError,
) -> None:
    """Validates every field of `update` first (`convert(name, value, typed_default)` returns
    the value or raises), then sets them all on the dataclass `config`: a bad body changes nothing."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    values: dict[str, Any] = {}
    for name, value in update.items():
        if name not in fields:
            raise error(f"unknown config field {name!r}")
        # The declared default gives the field's type (a config built with processing_delay=0
        # still takes 0.3 later).
        default = fields[name].default
        current = getattr(config, name) if default is dataclasses.MISSING else default
        values[name] = convert(name, value, current)
    for name, value in values.items():
        setattr(config, name, value)
