"""Tracing for tests: the SDK with an in-memory exporter, made once per process (the SDK's
tracer provider can be installed once per process), and the span trees it collected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from server.adapters.tracing import Tracing, with_processor

_made: tuple[Tracing, InMemorySpanExporter] | None = None


def in_memory() -> tuple[Tracing, InMemorySpanExporter]:
    """The process's test tracing and its exporter, emptied."""
    global _made  # noqa: PLW0603 - one provider per process
    if _made is None:
        exporter = InMemorySpanExporter()
        _made = (with_processor(SimpleSpanProcessor(exporter)), exporter)
    _made[1].clear()
    return _made


def hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def parent_of(span: ReadableSpan) -> str:
    return f"{span.parent.span_id:016x}" if span.parent is not None else ""


def named(spans: Iterable[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    found = named(spans, name)
    assert len(found) == 1, f"{len(found)} spans named {name!r}: {sorted({s.name for s in spans})}"
    return found[0]


def in_trace(spans: Iterable[ReadableSpan], trace_id: str) -> list[ReadableSpan]:
    return [s for s in spans if hex_trace(s) == trace_id]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if parent_of(s) == hex_span(parent)]


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    found: list[ReadableSpan] = []
    frontier = [root]
    while frontier:
        below = children(spans, frontier.pop())
        found.extend(below)
        frontier.extend(below)
    return found


def servers(spans: Iterable[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.kind == SpanKind.SERVER]


def recorded_text(spans: Iterable[ReadableSpan]) -> str:
    """Everything a span records that could leak: names, attributes, events, links, status."""
    parts: list[Any] = []
    for span in spans:
        parts += [span.name, dict(span.attributes or {}), span.status.description or ""]
        parts += [(e.name, dict(e.attributes or {})) for e in span.events]
        parts += [dict(link.attributes or {}) for link in span.links]
        parts.append(dict(span.resource.attributes))
    return repr(parts)
