"""A small OTLP trace receiver on loopback, as a collector would be: OTLP/HTTP (POST
/v1/traces, binary protobuf) or OTLP/gRPC (TraceService/Export), each request decoded as an
ExportTraceServiceRequest with the official opentelemetry-proto definitions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from server.http_server import AppServer


def value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value_of(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass(frozen=True)
class ReceivedSpan:
    """One exported span with its resource's attributes, ids in hex."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]
    links: list[tuple[str, str]]  # (trace id, span id)
    events: list[tuple[str, dict[str, Any]]]
    resource: dict[str, Any]


@dataclass
class OtlpReceiver:
    """Serves one protocol ("http/protobuf" or "grpc") on a free loopback port."""

    protocol: str
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    endpoint: str = ""
    _http: AppServer | None = None
    _grpc: grpc.aio.Server | None = None

    def take(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        self.requests += 1
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(_received(span, resource))

    async def start(self) -> OtlpReceiver:
        if self.protocol == "grpc":
            server = grpc.aio.server()
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            self._grpc = server
            self.endpoint = f"http://127.0.0.1:{port}"
        else:
            async def export(request: web.Request) -> web.Response:
                assert request.content_type == "application/x-protobuf", request.content_type
                self.take(trace_service_pb2.ExportTraceServiceRequest.FromString(await request.read()))
                body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                return web.Response(body=body, content_type="application/x-protobuf")

            app = web.Application()
            app.router.add_post("/v1/traces", export)
            self._http = AppServer(app, host="127.0.0.1", port=0)
            self.endpoint = await self._http.start()
        return self

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(0)
        if self._http is not None:
            await self._http.stop()

    async def until(self, name: str, within: float = 30.0, **attrs: Any) -> ReceivedSpan:
        """The first span received named `name` (with these attributes), waiting for it."""
        deadline = time.monotonic() + within
        while True:
            for span in self.spans:
                if span.name == name and all(span.attributes.get(k) == v for k, v in attrs.items()):
                    return span
            assert time.monotonic() < deadline, f"no span {name!r} received; got {sorted({s.name for s in self.spans})}"
            await asyncio.sleep(0.05)


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._receiver.take(request)
        return trace_service_pb2.ExportTraceServiceResponse()


def _received(span: Span, resource: dict[str, Any]) -> ReceivedSpan:
    return ReceivedSpan(
        name=span.name,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        kind=span.kind,
        attributes=attributes(span.attributes),
        links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
        events=[(event.name, attributes(event.attributes)) for event in span.events],
        resource=resource,
    )
