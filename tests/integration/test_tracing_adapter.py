"""The Tracer port over the OpenTelemetry SDK (server/adapters/tracing.py), on a provider of
the test's own with the SDK's in-memory exporter: what a span records, how spans nest and
link, what an exception inside one leaves on it, and the resource every span carries."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode

from server.adapters.tracing import OtelTracer, _Resource

OTHER_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def traced(**provider_args: object) -> tuple[OtelTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(**provider_args)  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelTracer(provider), exporter


def test_a_span_records_its_attributes_children_events_and_links() -> None:
    tracer, exporter = traced()
    with tracer.span("publish.run", {"distribution.publish_id": "p-1"}, links=[OTHER_TRACE]) as run:
        run_traceparent = tracer.traceparent()
        with tracer.span("step publish", links=[str(run_traceparent)]) as step:
            step.set("distribution.step", "publish")
            step.event("retried", {"attempt": 2})
        run.set("distribution.publish_final_state", "PUBLISHED")
    step_span, run_span = exporter.get_finished_spans()
    assert run_span.attributes == {"distribution.publish_id": "p-1", "distribution.publish_final_state": "PUBLISHED"}
    assert [f"{link.context.trace_id:032x}" for link in run_span.links] == ["4bf92f3577b34da6a3ce929d0e0e4736"]
    assert step_span.parent is not None and step_span.parent.span_id == run_span.context.span_id
    assert step_span.links == ()  # a link into its own trace is left out: it is a child there
    assert step_span.attributes == {"distribution.step": "publish"}
    assert [(e.name, dict(e.attributes or {})) for e in step_span.events] == [("retried", {"attempt": 2})]
    assert str(run_traceparent).startswith(f"00-{run_span.context.trace_id:032x}-{run_span.context.span_id:016x}-")
    assert tracer.trace_id() == "" and tracer.traceparent() is None  # nothing current after the blocks


def test_an_exception_inside_a_span_ends_it_in_error_with_the_exception_and_passes_through() -> None:
    tracer, exporter = traced()
    with pytest.raises(KeyError), tracer.span("publish_log.apply"):
        raise KeyError("p-1")
    [span] = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "KeyError: 'p-1'"
    assert [e.name for e in span.events] == ["exception"]
    assert tracer.trace_id() == ""


def test_a_span_marked_failed_keeps_its_description() -> None:
    tracer, exporter = traced()
    with tracer.span("webhook.deliver") as span:
        span.failed("HTTP 503")
    [recorded] = exporter.get_finished_spans()
    assert (recorded.status.status_code, recorded.status.description) == (StatusCode.ERROR, "HTTP 503")


def test_inside_a_trace_the_sampler_dropped_no_child_span_is_made() -> None:
    tracer, exporter = traced(sampler=ALWAYS_OFF)
    with tracer.span("request"), tracer.span("step publish") as step:
        step.set("k", 1)
        assert tracer.traceparent() is None
    assert exporter.get_finished_spans() == ()


def test_the_resource_is_the_sdks_with_its_hash_computed_once() -> None:
    made = Resource.create({"service.name": "distribution", "deployment.environment": "test"})
    resource = _Resource(made)
    assert resource == made and hash(resource) == hash(made)
    assert dict(resource.attributes) == dict(made.attributes)
    assert {resource: 1}[made] == 1
