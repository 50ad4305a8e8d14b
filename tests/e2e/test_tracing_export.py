"""Traces as a collector receives them: `python -m server` configured only through the
standard OTEL_* variables exports to an OTLP receiver on loopback (OTLP/HTTP and OTLP/gRPC),
and a publish taken over on two PostgreSQL replicas continues the trace that created it
(span links), with the takeover in its timeline and metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography.fernet import Fernet
from distribution.v1 import publish_pb2
from distribution.v1 import publishing_service_pb2 as pb

from server.services.workflow.runner import LeasePolicy
from tests.api.test_metrics import scrape, value
from tests.support import settings as fast
from tests.support.client import Stubs, connect, images, register
from tests.support.inprocess import InProcessServices
from tests.support.otlp import OtlpReceiver
from tests.support.postgres import fresh_database
from tests.support.processes import EmulatorProcess, ServiceProcess, service_env
from tests.support.tracing import hex_span, hex_trace, in_memory, one

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = (("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),)
TOKEN = "EAAGe2e-secret-token-777"
CAPTION = "An e2e caption no span may carry"
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER


def otel_env(receiver: OtlpReceiver, service_name: str) -> dict[str, str]:
    """Only standard OTEL_* variables: the endpoint, its protocol, the service's name, the
    sampler, and a short batch delay so spans arrive while the test waits."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": receiver.protocol,
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }


@pytest.fixture(params=["http/protobuf", "grpc"])
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[OtlpReceiver]:
    started = await OtlpReceiver(request.param).start()
    yield started
    await started.stop()


async def test_the_service_exports_its_spans_over_otlp_configured_only_by_otel_variables(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    service = ServiceProcess(
        service_env(tmp_path, **otel_env(receiver, "distribution-e2e")), tmp_path / "service.log"
    )
    await service.astart()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            accounts, media, publishing = Stubs.on(channel)
            account = await connect(accounts, access_token=TOKEN)
            ids = await register(media, *images(2))
            reply = await publishing.PublishInstagramCarousel(
                pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption=CAPTION),
                metadata=TRACEPARENT, timeout=60,
            )
        assert reply.state == publish_pb2.PUBLISH_STATE_PUBLISHED
        run = await receiver.until("publish.run", **{"distribution.publish_id": reply.instagram_publish_id})
        await receiver.until("instagram media_publish")
    finally:
        service.stop()
    server = next(
        s for s in receiver.spans if s.kind == SERVER_KIND and s.name.endswith("/PublishInstagramCarousel")
    )
    assert (server.trace_id, server.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert run.trace_id == CALLER_TRACE and run.parent_span_id == server.span_id
    assert {s.resource["service.name"] for s in receiver.spans} == {"distribution-e2e"}
    published = next(s for s in receiver.spans if s.name == "instagram media_publish")
    assert published.attributes["http.response.status_code"] == 200
    assert published.trace_id == CALLER_TRACE
    text = repr([(s.name, s.attributes, s.events) for s in receiver.spans])
    assert TOKEN not in text and CAPTION not in text and "access_token" not in text
    # The log lines written inside the call's spans carry its trace.
    rpc = [line for line in service.json_logs() if line.get("message") == "rpc" and "Publish" in line["method"]]
    assert rpc and rpc[-1]["trace_id"] == CALLER_TRACE and len(rpc[-1]["span_id"]) == 16


async def _until(check, within: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not (found := await check()):
        assert time.monotonic() < deadline, "never reached"
        await asyncio.sleep(0.05)
    return found


async def test_a_takeover_on_two_postgresql_replicas_links_to_the_trace_that_created_the_publish(
    tmp_path: Path, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> None:
    instagram, tiktok = platforms
    key = Fernet.generate_key().decode()
    receiver = await OtlpReceiver("http/protobuf").start()
    tracing, exporter = in_memory()
    async with fresh_database() as database:
        # Replica A: a process exporting over OTLP; it dies with the publish half done.
        first = ServiceProcess(
            service_env(
                tmp_path / "a", instagram.base_url, tiktok.base_url, DISTRIBUTION_DB=database,
                DISTRIBUTION_SECRET_KEYS=key, DISTRIBUTION_LEASE_SECONDS="2", **otel_env(receiver, "replica-a"),
            ),
            tmp_path / "a.log",
        )
        (tmp_path / "a").mkdir()
        await first.astart()
        services = None
        try:
            async with grpc.aio.insecure_channel(first.address) as channel:
                accounts, media, publishing = Stubs.on(channel)
                account = await connect(accounts, access_token=TOKEN)
                ids = await register(media, *images(3, prefix="gs://takeover/photo"))
                call = publishing.PublishInstagramCarousel(
                    pb.PublishInstagramCarouselRequest(
                        media_ids=ids, instagram_account_id=account.id, caption=CAPTION,
                        request_id=str(uuid.uuid4()),
                    ),
                    metadata=TRACEPARENT, timeout=60,
                )
                pending = asyncio.ensure_future(call)
                created = await receiver.until("publish_log.create")
                await _until(lambda: _calls_at_least(instagram, "create_container", 3))
                first.kill()
                with pytest.raises(grpc.aio.AioRpcError):
                    await pending
            publish_id = created.attributes["distribution.publish_id"]

            # Replica B: in process, tracing to the in-memory exporter; it takes the publish over.
            settings = fast.fast_settings(
                tmp_path, instagram.base_url, tiktok.base_url, database_url=database, secret_keys=key,
                leases=LeasePolicy(ttl=2.0, renew_every=0.6, sweep_every=0.2),
            )
            services = InProcessServices(settings)
            second = await services.start(adapters={"tracing": tracing})
            async with grpc.aio.insecure_channel(second.address) as channel:
                _, _, publishing = Stubs.on(channel)

                async def published():  # type: ignore[no-untyped-def]
                    found = await publishing.GetPublish(pb.GetPublishRequest(id=publish_id))
                    return found if found.publish.state == publish_pb2.PUBLISH_STATE_PUBLISHED else None

                record = await _until(published)
            samples = await scrape(second)
        finally:
            if services is not None:
                await services.stop_all()
            first.kill()
            await receiver.stop()

    # The timeline: who let the lease lapse, when, and who took over.
    [takeover] = [e for e in record.events if e.type == "TAKEN_OVER"]
    details = dict(takeover.details)
    assert details["owner"] == second.core.services.runner.owner != details["lapsed_owner"]
    assert details["lapsed_owner"] in takeover.message and second.core.services.runner.owner in takeover.message
    assert details["lapsed_at"]
    assert value(samples, "distribution_publish_takeovers_total", platform="INSTAGRAM") == 1

    # B's run: a trace of its own, linked to the span that created the publish on A (the
    # request's, in the caller's trace), which A exported over OTLP.
    spans = exporter.get_finished_spans()
    run = one([s for s in spans if s.attributes.get("distribution.publish_id") == publish_id], "publish.run")
    assert run.parent is None and hex_trace(run) != CALLER_TRACE
    [link] = run.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (CALLER_TRACE, created.parent_span_id)
    assert takeover.trace_id == hex_trace(run)
    steps = [s.name for s in spans if s.parent is not None and f"{s.parent.span_id:016x}" == hex_span(run)]
    assert "publish_log.apply" in steps and "step publish" in steps
    # A's spans before it died are in the caller's trace, its PostgreSQL queries among them
    # (the asyncpg instrumentation: the SQL text with placeholders, never the values).
    assert created.trace_id == CALLER_TRACE
    queries = [
        s for s in receiver.spans if "postgresql" in (s.attributes.get("db.system"), s.attributes.get("db.system.name"))
    ]
    assert any(q.trace_id == CALLER_TRACE for q in queries)
    text = repr([(s.name, s.attributes, s.events) for s in receiver.spans])
    assert TOKEN not in text and CAPTION not in text and key not in text


async def _calls_at_least(emulator: EmulatorProcess, endpoint: str, count: int) -> bool:
    return (await emulator.acalls()).get(endpoint, 0) >= count
