"""OpenTelemetry tracing: the Tracer port over the official SDK, and the instrumentation
packages for what they cover (the gRPC server, asyncpg). The HTTP gateway's server span is
made here: its low-level aiohttp server is not the web.Application the aiohttp-server
instrumentation patches (which would also trace the /metrics endpoint). Platform calls have
their own span (server/adapters/http.py) with the operation, status and platform error code;
the aiohttp client instrumentation's span below it would repeat the status, and measured in
bench case 11 its hooks were the largest single cost of tracing.

Configured only by the standard OTEL_* variables, read by the SDK itself: tracing is on when
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set (and neither
OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none says otherwise); the exporter speaks
OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf, the
default, or grpc); the resource comes from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
sampling from OTEL_TRACES_SAMPLER(_ARG), batching from OTEL_BSP_*. Off, this module is not
imported at all (bootstrap), so a service without tracing pays nothing for the SDK.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.instrumentation.grpc.filters import any_of, health_check, negate, service_prefix
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from server.adapters.tracing_env import otlp_protocol
from server.domain.ports import Span, SpanValue
from server.http_server import ROUTE_KEY

_SCOPE = "distribution"
_PARSER = TraceContextTextMapPropagator()

# An HTTP handler as the gateway's low-level server calls it, and what wraps one.
Handler = Callable[[Any], Awaitable[Any]]
Middleware = Callable[[Any, Handler], Awaitable[Any]]


class _Resource(Resource):
    """The SDK's Resource, its hash computed once: the OTLP encoder groups every exported span
    by its resource, and Resource's own hash serialises all its attributes to JSON each time
    (4 us a span, a sixth of the encoding; bench/profiles/tracing.md). A resource never
    changes after the provider is made, so neither does its hash."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)


class ProtocolError(ValueError):
    """An OTEL_EXPORTER_OTLP_*PROTOCOL this service does not export with."""


def _exporter(environ: Mapping[str, str]) -> Any:
    protocol, _ = otlp_protocol(environ)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    raise ProtocolError(protocol)


class _OtelSpan:
    """A recorded span as the port's Span, and the block it is current in. A class rather
    than the SDK's start_as_current_span, whose two generator context managers cost a
    quarter of a span's creation (bench/profiles/tracing.md); what it does on an exception
    is done here the same way: the exception recorded as an event, the status ERROR."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: trace.Span) -> None:
        self._span = span
        self._token: object = None

    def __enter__(self) -> _OtelSpan:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(self, _kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        try:
            if isinstance(error, Exception):
                self._span.record_exception(error)
                self._span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        finally:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._span.end()

    def set(self, key: str, value: SpanValue) -> None:
        self._span.set_attribute(key, value)

    def event(self, name: str, attributes: Mapping[str, SpanValue] | None = None) -> None:
        self._span.add_event(name, dict(attributes or {}))

    def failed(self, description: str) -> None:
        self._span.set_status(Status(StatusCode.ERROR, description))


class _DroppedSpan:
    def set(self, key: str, value: SpanValue) -> None:
        pass

    def event(self, name: str, attributes: Mapping[str, SpanValue] | None = None) -> None:
        pass

    def failed(self, description: str) -> None:
        pass


_DROPPED: AbstractContextManager[Span] = nullcontext(_DroppedSpan())


def link_to(traceparent: str) -> Link | None:
    """A span link to the span a W3C traceparent names; None for a malformed one."""
    context = trace.get_current_span(_PARSER.extract({"traceparent": traceparent})).get_span_context()
    return Link(context) if context.is_valid else None


def traceparent_of(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


class OtelTracer:
    """The Tracer port over an OpenTelemetry tracer provider."""

    enabled = True

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer(_SCOPE)

    def span(
        self, name: str, attributes: Mapping[str, SpanValue] | None = None, links: Sequence[str] = ()
    ) -> AbstractContextManager[Span]:
        current = trace.get_current_span().get_span_context()
        if current.is_valid and not current.trace_flags.sampled:
            # Inside a trace the sampler dropped: a child would be dropped too (samplers decide
            # per trace), so none is even made. Measured in bench case 11 (sampled).
            return _DROPPED
        linked = [
            link for link in map(link_to, links)
            # A span already in the trace it would link to needs no link: it is a child there.
            if link is not None and link.context.trace_id != current.trace_id
        ] if links else None
        return _OtelSpan(self._tracer.start_span(name, attributes=attributes, links=linked))

    def traceparent(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return traceparent_of(context) if context.is_valid and context.trace_flags & TraceFlags.SAMPLED else None

    def trace_id(self) -> str:
        context = trace.get_current_span().get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else ""


def _http_server_spans(tracer: trace.Tracer) -> Middleware:
    """A SERVER span per HTTP request, continuing the caller's W3C traceparent, with the
    method, path (never the query string) and response status."""

    async def traced(request: Any, handler: Handler) -> Any:
        with tracer.start_as_current_span(
            request.method,
            context=propagate.extract(request.headers),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.path, "url.scheme": request.scheme},
        ) as span:
            response = await handler(request)
            # The route the gateway matched (its template, not the path with its ids), when it did.
            if route := request.get(ROUTE_KEY):
                span.update_name(f"{request.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(StatusCode.ERROR, f"HTTP {response.status}")
            return response

    return traced


def current_ids() -> tuple[str, str] | None:
    """The current span's (trace id, span id) in hex; None outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


@dataclass
class Tracing:
    """Tracing as the service wires it: the port, the gRPC server's interceptor, the HTTP
    gateway's middleware, and the provider to flush and shut down at stop."""

    provider: TracerProvider
    tracer: OtelTracer = field(init=False)
    grpc_interceptor: grpc.aio.ServerInterceptor = field(init=False)
    http_middleware: Middleware = field(init=False)
    owns_provider: bool = True

    def __post_init__(self) -> None:
        self.tracer = OtelTracer(self.provider)
        # Probes (grpc.health) and grpcurl's reflection calls are no one's request to follow.
        self.grpc_interceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
            tracer_provider=self.provider,
            filter_=negate(any_of(health_check(), service_prefix("grpc.reflection."))),
        )
        self.http_middleware = _http_server_spans(self.provider.get_tracer("distribution.http"))

    async def shutdown(self) -> None:
        """Exports what is still buffered, then stops (a provider handed in is left running)."""
        if self.owns_provider:
            self.provider.shutdown()


def from_environment(environ: Mapping[str, str]) -> Tracing:
    """The SDK configured by the OTEL_* variables (see the module's docstring), installed as
    the process's tracer provider; asyncpg's queries traced under it. Raises ProtocolError
    for a protocol other than http/protobuf and grpc."""
    exporter = _exporter(environ)  # first: a protocol it cannot export with starts nothing
    provider = TracerProvider(resource=_Resource(Resource.create()))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415

    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    return Tracing(provider)


def with_processor(processor: SpanProcessor) -> Tracing:
    """Tracing through one span processor (a test's in-memory exporter), installed as the
    process's tracer provider (which can be set once per process: a test suite makes one)."""
    provider = TracerProvider(resource=_Resource(Resource.create({"service.name": "distribution"})))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return Tracing(provider, owns_provider=False)
