"""Prometheus metrics scraped over HTTP, and the request id carried through an RPC's logs."""

from __future__ import annotations

import json
import logging

import aiohttp
import grpc
from distribution.v1 import account_pb2, account_service_pb2
from distribution.v1 import publishing_service_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from server.adapters.tiktok import RateLimits
from server.logs import JsonFormatter
from tests.support.client import Stubs, connect, images, register


async def scrape(service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = f"http://127.0.0.1:{service.metrics.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_after_a_publish(service, accounts, media, publishing, instagram_sandbox):
    before = await scrape(service)
    account = await connect(accounts)
    instagram_sandbox.fail_next("create_container", status=500, code=2, message="down", is_transient=True)
    await publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=await register(media, *images(2)), instagram_account_id=account.id)
    )
    after = await scrape(service)
    method = "/distribution.v1.PublishingService/PublishInstagramCarousel"
    assert value(after, "distribution_rpc_requests_total", method=method, code="OK", transport="grpc") == 1
    assert value(after, "distribution_rpc_duration_seconds_count", method=method, transport="grpc") == 1
    assert value(after, "distribution_publishes_total", platform="INSTAGRAM", state="PUBLISHED") == 1
    assert value(after, "distribution_platform_requests_total",
                 platform="instagram", endpoint="create_container", status="200") == 3  # 2 items + carousel
    assert value(after, "distribution_platform_requests_total",
                 platform="instagram", endpoint="create_container", status="500") == 1
    assert value(after, "distribution_platform_requests_total",
                 platform="instagram", endpoint="media_publish", status="200") == 1
    assert value(after, "distribution_platform_request_duration_seconds_count",
                 platform="instagram", endpoint="media_publish") == 1
    assert value(after, "distribution_platform_retries_total", platform="instagram", endpoint="create_container") == 1
    assert value(after, "distribution_publishes_in_flight") == 0
    assert value(before, "distribution_publishes_total", platform="INSTAGRAM", state="PUBLISHED") == 0


async def test_a_call_through_the_http_gateway_is_counted_with_transport_http(start_service):
    service = await start_service(http_listen="127.0.0.1:0")
    assert service.http is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{service.http.origin}/api/v1/accounts") as response:
            assert response.status == 200
        unknown = "00000000-0000-4000-8000-000000000000"
        async with session.get(f"{service.http.origin}/api/v1/accounts/{unknown}") as response:
            assert response.status == 404
    async with grpc.aio.insecure_channel(service.address) as channel:
        accounts, _, _ = Stubs.on(channel)
        await accounts.ListAccounts(account_service_pb2.ListAccountsRequest())
    samples = await scrape(service)
    method = "/distribution.v1.AccountService/ListAccounts"
    assert value(samples, "distribution_rpc_requests_total", method=method, code="OK", transport="http") == 1
    assert value(samples, "distribution_rpc_requests_total", method=method, code="OK", transport="grpc") == 1
    assert value(
        samples, "distribution_rpc_requests_total", method="/distribution.v1.AccountService/GetAccount",
        code="NOT_FOUND", transport="http",
    ) == 1
    assert value(samples, "distribution_rpc_duration_seconds_count", method=method, transport="http") == 1


async def test_rate_limit_waits_are_counted(start_service, tiktok_sandbox):
    service = await start_service(tiktok_rate_limits=RateLimits(init=1, status=100, creator_info=100, window=0.2))
    async with grpc.aio.insecure_channel(service.address) as channel:
        accounts, media, publishing = Stubs.on(channel)
        account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
        for i in range(2):
            await publishing.PublishTikTokCarousel(
                pb.PublishTikTokCarouselRequest(
                    media_ids=await register(media, *images(2, prefix=f"gs://b/r{i}")),
                        creator_consent_obtained=True, tiktok_account_id=account.id
                )
            )
    samples = await scrape(service)
    assert value(samples, "distribution_rate_limit_waits_total", platform="tiktok", endpoint="init") == 1
    assert value(samples, "distribution_rate_limit_wait_seconds_total", platform="tiktok", endpoint="init") > 0


async def test_request_id_is_carried_through_the_rpc_and_its_platform_calls(
    service, accounts, media, publishing, caplog
):
    account = await connect(accounts)
    ids = await register(media, *images(2))
    with caplog.at_level(logging.DEBUG):
        await publishing.PublishInstagramCarousel(
            pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id),
            metadata=(("x-request-id", "trace-abc-123"),),
        )
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    tagged = [line for line in lines if line.get("request_id") == "trace-abc-123"]
    assert any(line["message"] == "rpc" and line["method"].endswith("PublishInstagramCarousel") for line in tagged)
    assert {line.get("endpoint") for line in tagged if line["message"] == "platform call"} >= {
        "create_container", "media_publish"
    }


async def test_a_request_id_is_generated_when_none_is_sent(service, accounts, caplog):
    with caplog.at_level(logging.INFO, logger="distribution.rpc"):
        await connect(accounts)
    line = json.loads(JsonFormatter().format(next(r for r in caplog.records if r.getMessage() == "rpc")))
    assert len(line["request_id"]) == 32
