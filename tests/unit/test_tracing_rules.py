"""Tracing's rules that need no socket: when the OTEL_* variables turn it on and with which
protocol, and the trace ids on log lines."""

from __future__ import annotations

import json
import logging
from contextlib import AsyncExitStack

import pytest

from server.adapters.tracing_env import otlp_protocol, tracing_wanted
from server.bootstrap import _open_tracing
from server.config import ConfigError
from server.domain.ports import NO_TRACER
from server.logs import JsonFormatter, current_trace_id, trace_ids_from


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_is_on_only_when_an_endpoint_is_named(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(environ) is wanted


def test_the_protocol_is_the_traces_one_then_the_general_one_then_http_protobuf() -> None:
    assert otlp_protocol({}) == ("http/protobuf", "")
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == ("grpc", "OTEL_EXPORTER_OTLP_PROTOCOL")
    assert otlp_protocol(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
    ) == ("http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")


async def test_a_protocol_the_service_cannot_export_with_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigError) as raised:
            _open_tracing(stack)
    assert raised.value.variable == "OTEL_EXPORTER_OTLP_PROTOCOL"
    assert str(raised.value).startswith("OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not an OTLP protocol")


async def test_no_endpoint_means_no_tracing_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    async with AsyncExitStack() as stack:
        assert _open_tracing(stack) is None
    with NO_TRACER.span("anything", {"k": 1}, links=["00-" + "1" * 32 + "-" + "2" * 16 + "-01"]) as span:
        span.set("k", 2)
        span.event("e")
    assert NO_TRACER.traceparent() is None and NO_TRACER.trace_id() == ""


def test_log_lines_made_inside_a_span_carry_its_trace_and_span_ids() -> None:
    record_outside = logging.getLogger("t").makeRecord("t", logging.INFO, "f", 1, "outside", None, None)
    trace_ids_from(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
    try:
        inside = logging.getLogger("t").makeRecord("t", logging.INFO, "f", 1, "inside", None, None)
        assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
    finally:
        trace_ids_from(None)
    line = json.loads(JsonFormatter().format(inside))
    assert (line["trace_id"], line["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert "trace_id" not in json.loads(JsonFormatter().format(record_outside))
    assert current_trace_id() == ""
