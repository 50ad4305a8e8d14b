"""A recording Tracer (the Tracer port): the spans the use cases made, with their parents,
attributes, events and links, ids counted rather than random."""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from server.domain.ports import Span, SpanValue


@dataclass
class RecordedSpan:
    name: str
    trace_id: str
    span_id: str
    parent: RecordedSpan | None
    attributes: dict[str, SpanValue]
    links: list[str]
    events: list[tuple[str, dict[str, SpanValue]]] = field(default_factory=list)
    failure: str = ""
    ended: bool = False

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"

    def set(self, key: str, value: SpanValue) -> None:
        self.attributes[key] = value

    def event(self, name: str, attributes: Mapping[str, SpanValue] | None = None) -> None:
        self.events.append((name, dict(attributes or {})))

    def failed(self, description: str) -> None:
        self.failure = description


class RecordingTracer:
    enabled = True

    def __init__(self) -> None:
        self.spans: list[RecordedSpan] = []
        self._current: contextvars.ContextVar[RecordedSpan | None] = contextvars.ContextVar("span", default=None)
        self._ids = itertools.count(1)

    @contextmanager
    def span(
        self, name: str, attributes: Mapping[str, SpanValue] | None = None, links: Sequence[str] = ()
    ) -> Iterator[Span]:
        parent = self._current.get()
        number = next(self._ids)
        trace_id = parent.trace_id if parent is not None else f"{number:032x}"
        recorded = RecordedSpan(name, trace_id, f"{number:016x}", parent, dict(attributes or {}), list(links))
        self.spans.append(recorded)
        token = self._current.set(recorded)
        try:
            yield recorded
        finally:
            self._current.reset(token)
            recorded.ended = True

    def traceparent(self) -> str | None:
        current = self._current.get()
        return current.traceparent if current is not None else None

    def trace_id(self) -> str:
        current = self._current.get()
        return current.trace_id if current is not None else ""

    def named(self, name: str) -> list[RecordedSpan]:
        return [s for s in self.spans if s.name == name]
