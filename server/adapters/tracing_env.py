"""Whether the standard OTEL_* variables ask for traces, and over which OTLP protocol: read
without importing the OpenTelemetry SDK, which a service without tracing never loads."""

from __future__ import annotations

from collections.abc import Mapping

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the variables name an endpoint to export traces to (and neither
    OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none turns the export off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def otlp_protocol(environ: Mapping[str, str]) -> tuple[str, str]:
    """(protocol, the variable that named it); http/protobuf, the OTLP default, when none did."""
    for name in PROTOCOL_VARIABLES:
        if value := environ.get(name, "").strip():
            return value, name
    return "http/protobuf", ""
