"""OpenTelemetry traces over the wire, collected by the SDK's in-memory exporter: the span
tree of an Instagram and a TikTok carousel continuing the caller's traceparent, a scheduled
publish's run linked to the request that created it, one server span per HTTP request, the
trace id in the timeline, the log lines and the errors' RequestInfo; and no token, secret or
caption in any span."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import timedelta

import aiohttp
import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    media_service_pb2,
    publish_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from distribution.v1 import publishing_service_pb2 as pb
from opentelemetry.trace import SpanKind, StatusCode

from server.domain.schedule import SchedulePolicy
from server.logs import JsonFormatter
from tests.api.test_scheduling import in_seconds, until_state
from tests.api.test_webhooks import FAST, Receiver
from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error
from tests.support.tracing import (
    children,
    descendants,
    hex_span,
    hex_trace,
    in_memory,
    in_trace,
    named,
    one,
    parent_of,
    recorded_text,
    servers,
)

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = (("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),)
TOKEN = "EAAGsecret-access-token-4242"
CAPTION = "Caption words nobody may trace #launch"
PUBLISH_IG = "/distribution.v1.PublishingService/PublishInstagramCarousel"
PUBLISH_TIKTOK = "/distribution.v1.PublishingService/PublishTikTokCarousel"


@pytest.fixture
def tracing():  # type: ignore[no-untyped-def]
    return in_memory()


@pytest.fixture
async def traced(start_service, tracing):  # type: ignore[no-untyped-def]
    """A service tracing into the in-memory exporter, with the HTTP gateway on, schedules
    allowed half a second ahead."""
    return await start_service(
        adapters={"tracing": tracing[0]}, http_listen="127.0.0.1:0",
        schedule=SchedulePolicy(tolerance=timedelta(seconds=0.5)),
    )


@pytest.fixture
async def stubs(traced):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(traced.address) as channel:
        yield Stubs.on(channel)


def assert_nothing_secret(spans) -> None:  # type: ignore[no-untyped-def]
    text = recorded_text(spans)
    for secret in (TOKEN, CAPTION, "Bearer", "access_token", "Authorization"):
        assert secret not in text


async def test_an_instagram_carousel_is_one_trace_continuing_the_callers(stubs, tracing, caplog):
    accounts, media, publishing = stubs
    exporter = tracing[1]
    account = await connect(accounts, access_token=TOKEN)
    ids = await register(media, *images(2))
    exporter.clear()
    with caplog.at_level(logging.DEBUG):
        reply = await publishing.PublishInstagramCarousel(
            pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption=CAPTION),
            metadata=TRACEPARENT,
        )
    assert reply.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    spans = exporter.get_finished_spans()

    # The server span continues the caller's trace; the run is its child; the steps the run's.
    server = one(servers(spans), PUBLISH_IG)
    assert hex_trace(server) == CALLER_TRACE and parent_of(server) == CALLER_SPAN
    run = one(spans, "publish.run")
    assert parent_of(run) == hex_span(server) and not run.links
    assert run.attributes["distribution.publish_id"] == reply.instagram_publish_id
    assert run.attributes["distribution.publish_final_state"] == "PUBLISHED"
    assert [s.name for s in children(spans, run)] == [
        "step create_children", "step wait_children", "step create_carousel", "step publish", "step read_permalink",
    ]
    assert set(in_trace(spans, CALLER_TRACE)) == set(spans)

    # Each platform call: its operation and HTTP status.
    create_children = one(spans, "step create_children")
    creates = named(children(spans, create_children), "instagram create_container")
    assert len(creates) == 2
    for call in creates:
        assert call.attributes["distribution.platform.operation"] == "create_container"
        assert call.attributes["http.response.status_code"] == 200
    assert len(named(children(spans, create_children), "publish_log.apply")) == 2
    polls = named(children(spans, one(spans, "step wait_children")), "poll children containers")
    assert polls and all(named(children(spans, p), "instagram batch_status") for p in polls)
    publish_step = one(spans, "step publish")
    assert named(children(spans, publish_step), "instagram media_publish")
    assert [s.attributes["distribution.event"] for s in named(children(spans, publish_step), "publish_log.apply")] \
        == ["PUBLISH_SENT", "PUBLISHED"]

    # The timeline and the log lines name the trace (and the log lines their span).
    found = await publishing.GetPublish(pb.GetPublishRequest(id=reply.instagram_publish_id))
    assert found.events and {e.trace_id for e in found.events} == {CALLER_TRACE}
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    platform_lines = [line for line in lines if line["message"] == "platform call"]
    assert platform_lines and all(line["trace_id"] == CALLER_TRACE for line in platform_lines)
    ids_of_spans = {hex_span(s) for s in spans}
    assert all(line["span_id"] in ids_of_spans for line in platform_lines)
    assert_nothing_secret(spans)


async def test_a_platform_error_is_on_its_calls_span_with_the_platforms_code(stubs, tracing, instagram_sandbox):
    accounts, media, publishing = stubs
    exporter = tracing[1]
    account = await connect(accounts, access_token=TOKEN)
    ids = await register(media, *images(2))
    instagram_sandbox.fail_next("create_container", status=500, code=2, message="down", is_transient=True)
    exporter.clear()
    reply = await publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption=CAPTION)
    )
    assert reply.state == publish_pb2.PUBLISH_STATE_PUBLISHED  # retried
    calls = named(exporter.get_finished_spans(), "instagram create_container")
    [failed] = [c for c in calls if c.attributes["http.response.status_code"] == 500]
    assert failed.attributes["distribution.platform.error_code"] == "2"
    assert failed.status.status_code == StatusCode.ERROR
    assert len(calls) == 4 and all(c.status.status_code != StatusCode.ERROR for c in calls if c is not failed)


async def test_a_tiktok_carousel_is_one_trace_with_its_status_polls(stubs, tracing):
    accounts, media, publishing = stubs
    exporter = tracing[1]
    account = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid", access_token=TOKEN
    )
    ids = await register(media, *images(2))
    exporter.clear()
    reply = await publishing.PublishTikTokCarousel(
        pb.PublishTikTokCarouselRequest(
            media_ids=ids, tiktok_account_id=account.id, creator_consent_obtained=True, caption=CAPTION
        ),
        metadata=TRACEPARENT,
    )
    spans = exporter.get_finished_spans()
    server = one(servers(spans), PUBLISH_TIKTOK)
    assert hex_trace(server) == CALLER_TRACE and parent_of(server) == CALLER_SPAN
    # The request checks the creator's settings first, in its own span.
    assert one(children(spans, server), "tiktok creator_info").attributes["http.response.status_code"] == 200
    run = one(spans, "publish.run")
    assert parent_of(run) == hex_span(server)
    assert [s.name for s in children(spans, run)] == ["step init", "step wait_status"]
    init = one(children(spans, one(spans, "step init")), "tiktok init")
    assert init.attributes["distribution.platform.operation"] == "init"
    polls = named(children(spans, one(spans, "step wait_status")), "poll status")
    assert polls and [p.attributes["distribution.poll_attempt"] for p in polls] == list(range(len(polls)))
    assert all(named(children(spans, p), "tiktok status") for p in polls)
    found = await publishing.GetPublish(pb.GetPublishRequest(id=reply.tiktok_publish_id))
    assert {e.trace_id for e in found.events} == {CALLER_TRACE}
    assert_nothing_secret(spans)


async def test_a_scheduled_publish_runs_in_a_trace_of_its_own_linked_to_its_request(stubs, tracing):
    accounts, media, publishing = stubs
    exporter = tracing[1]
    account = await connect(accounts, access_token=TOKEN)
    ids = await register(media, *images(2))
    exporter.clear()
    reply = await publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(
            media_ids=ids, instagram_account_id=account.id, caption=CAPTION, publish_time=in_seconds(1.0)
        ),
        metadata=TRACEPARENT,
    )
    publish_id = reply.instagram_publish_id
    done = await until_state(publishing, publish_id, {publish_pb2.PUBLISH_STATE_PUBLISHED})
    spans = exporter.get_finished_spans()
    server = one(servers(spans), PUBLISH_IG)
    create = one(descendants(spans, server), "publish_log.create")
    run = one(spans, "publish.run")
    # Not a child of the request (long answered): the root of its own trace, linked to the
    # span that created the publish.
    assert run.parent is None and hex_trace(run) != CALLER_TRACE
    [link] = run.links
    # (the span the publish was created in: the request's, around the record's write)
    assert f"{link.context.trace_id:032x}" == CALLER_TRACE and f"{link.context.span_id:016x}" == parent_of(create)
    assert {s.name for s in children(spans, run)} >= {"step create_children", "step publish"}
    # The timeline says which trace wrote what: the request's, the scheduler's claim (which
    # wrote SCHEDULE_DUE), then the run's.
    traces = [e.trace_id for e in done.events if e.trace_id]
    assert traces[0] == CALLER_TRACE and traces[-1] == hex_trace(run)
    [due] = [e for e in done.events if e.type == "SCHEDULE_DUE"]
    claims = [s for s in named(spans, "publish_log.claim_due_schedules") if hex_trace(s) == due.trace_id]
    assert len(claims) == 1 and claims[0].parent is None
    assert len([e for e in done.events if not e.trace_id]) == 0
    assert_nothing_secret(spans)


async def test_an_http_request_is_one_server_span_continuing_its_traceparent(traced, stubs, tracing):
    accounts, _, _ = stubs
    exporter = tracing[1]
    await connect(accounts, access_token=TOKEN)
    exporter.clear()
    async with aiohttp.ClientSession() as session, session.get(
        f"{traced.http.origin}/api/v1/accounts", headers=dict(TRACEPARENT)
    ) as response:
        assert response.status == 200
    spans = exporter.get_finished_spans()
    [server] = servers(spans)  # the gateway's; its in-process gRPC call makes none of its own
    assert server.kind == SpanKind.SERVER and server.name == "GET /api/v1/accounts"
    assert server.attributes["http.route"] == "/api/v1/accounts"
    assert server.attributes["http.response.status_code"] == 200
    assert hex_trace(server) == CALLER_TRACE and parent_of(server) == CALLER_SPAN
    assert_nothing_secret(spans)


async def test_a_trace_the_caller_did_not_sample_records_no_span_but_still_names_its_trace(stubs, tracing):
    accounts, media, publishing = stubs
    exporter = tracing[1]
    account = await connect(accounts, access_token=TOKEN)
    ids = await register(media, *images(2))
    exporter.clear()
    reply = await publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption=CAPTION),
        metadata=(("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"),),
    )
    assert reply.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert exporter.get_finished_spans() == ()
    found = await publishing.GetPublish(pb.GetPublishRequest(id=reply.instagram_publish_id))
    assert {e.trace_id for e in found.events} == {CALLER_TRACE}


async def test_media_inspection_and_webhook_deliveries_have_spans_naming_no_url_or_secret(start_service, tracing):
    exporter = tracing[1]
    receiver = Receiver()
    await receiver.start()
    try:
        service = await start_service(
            adapters={"tracing": tracing[0]}, media_fetch="sandbox", media_fetch_timeout=2.0,
            webhooks=FAST, webhook_allow=("127.0.0.0/8",), webhook_allow_http=True,
        )
        async with grpc.aio.insecure_channel(service.address) as channel:
            accounts, media, publishing = Stubs.on(channel)
            hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
            created = await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
            exporter.clear()
            url = "gs://demo-bucket/cover-as-webp-1080x1350.jpg"
            registered = await media.RegisterMedia(
                media_service_pb2.RegisterMediaRequest(url=url), metadata=TRACEPARENT
            )
            account = await connect(accounts, access_token=TOKEN)
            ids = await register(media, *images(2))
            await publishing.PublishInstagramCarousel(
                pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption=CAPTION),
                metadata=TRACEPARENT,
            )
            for _ in range(400):
                if named(exporter.get_finished_spans(), "webhook.deliver"):
                    break
                await asyncio.sleep(0.05)
    finally:
        await receiver.stop()
    spans = exporter.get_finished_spans()
    register_span = one(in_trace(servers(spans), CALLER_TRACE), "/distribution.v1.MediaService/RegisterMedia")
    inspect = one(children(spans, register_span), "media.inspect")
    assert inspect.attributes["distribution.media.outcome"] == "READ"
    assert inspect.attributes["distribution.media.mime_type"] == registered.media.mime_type == "image/webp"
    deliver = named(spans, "webhook.deliver")[0]
    assert deliver.attributes["distribution.webhook_id"] == created.webhook.id
    assert deliver.attributes["http.response.status_code"] == 204
    assert deliver.attributes["distribution.delivery_attempt"] == 1
    # A trace of its own, linked to the request that created the publish.
    assert deliver.parent is None
    assert [f"{link.context.trace_id:032x}" for link in deliver.links] == [CALLER_TRACE]
    text = recorded_text(spans)
    assert_nothing_secret(spans)
    for never in (url, "cover-as-webp", receiver.url, created.secret):
        assert never not in text


async def test_health_probes_and_reflection_make_no_trace(traced, tracing):
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: PLC0415

    exporter = tracing[1]
    exporter.clear()
    async with grpc.aio.insecure_channel(traced.address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert not servers(exporter.get_finished_spans())


async def test_errors_name_their_trace_in_request_info_over_grpc_and_http(traced, stubs, tracing):
    _, _, publishing = stubs
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await publishing.GetPublish(pb.GetPublishRequest(id=unknown), metadata=(*TRACEPARENT, ("x-request-id", "r-1")))
    info = rich_error(raised.value)
    assert info.request_id == "r-1" and info.serving_data == f"trace_id={CALLER_TRACE}"

    async with aiohttp.ClientSession() as session, session.get(
        f"{traced.http.origin}/api/v1/publishes/{unknown}", headers=dict(TRACEPARENT)
    ) as response:
        body = await response.json()
    assert response.status == 404
    [info_json] = [d for d in body["error"]["details"] if d["@type"].endswith("RequestInfo")]
    assert info_json == {
        "@type": "type.googleapis.com/google.rpc.RequestInfo",
        "requestId": response.headers["X-Request-ID"], "servingData": f"trace_id={CALLER_TRACE}",
    }


async def test_without_tracing_nothing_is_traced_and_errors_carry_only_the_request_id(start_service, tracing):
    exporter = tracing[1]
    service = await start_service()
    async with grpc.aio.insecure_channel(service.address) as channel:
        _, _, publishing = Stubs.on(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await publishing.GetPublish(
                pb.GetPublishRequest(id="00000000-0000-4000-8000-000000000000"), metadata=TRACEPARENT
            )
    info = rich_error(raised.value)
    assert info.request_id and not info.serving_data
    assert not servers(exporter.get_finished_spans())
    await asyncio.sleep(0)
    assert dataclasses.is_dataclass(service.core.adapters) and service.core.adapters.tracing is None
