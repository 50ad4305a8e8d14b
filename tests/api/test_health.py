"""Health (overall and per service), graceful shutdown as seen over the wire, and the
one `rpc` log line per call, against the in-process server."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from distribution.v1 import publish_pb2
from distribution.v1.account_service_pb2 import GetAccountRequest
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.client import APP_SERVICES, connect, images, register
from tests.support.processing import LONG, finish_instagram_processing
from tests.support.waiting import eventually

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def health(channel) -> health_pb2_grpc.HealthStub:
    return health_pb2_grpc.HealthStub(channel)


async def check(health, name: str) -> int:
    return (await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status


async def test_health_is_serving_overall_and_per_service(health):
    for name in ("", *APP_SERVICES):
        assert await check(health, name) == SERVING, name


async def test_health_of_an_unknown_service_is_not_found(health):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "distribution.v1.NoSuchService")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_graceful_shutdown_shows_not_serving_over_the_wire(service, health):
    await service.grpc.health.enter_graceful_shutdown()
    for name in ("", *APP_SERVICES):
        assert await check(health, name) == NOT_SERVING, name


async def test_stop_turns_health_not_serving_or_closes(service, health):
    stopping = asyncio.create_task(service.stop(1.0))
    try:
        await asyncio.sleep(0)  # let stop() begin
        # Two outcomes, both what the contract allows: a check that lands while the server
        # is still listening reads NOT_SERVING; one that lands after it closed is UNAVAILABLE.
        # Which one depends on the scheduler, not on the service; never SERVING.
        try:
            status = await check(health, "")
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.UNAVAILABLE, err
        else:
            assert status == NOT_SERVING
    finally:
        await asyncio.wait_for(stopping, 10)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_stop_tells_watchers_not_serving_before_the_port_closes(service, health):
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    first = await asyncio.wait_for(watch.read(), 5)
    assert first.status == SERVING

    stopping = asyncio.create_task(service.stop(5.0))
    try:
        second = await asyncio.wait_for(watch.read(), 5)
        assert second.status == NOT_SERVING
    finally:
        watch.cancel()
        await asyncio.wait_for(stopping, 10)

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_stop_lets_an_in_flight_publish_finish(service, accounts, media, publishing, health, instagram_sandbox):
    instagram_sandbox.config.processing_delay = LONG  # in flight until the stop has begun
    account = await connect(accounts)
    ids = await register(media, *images(2))

    async def publish():
        return await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id), timeout=30
        )

    call = asyncio.create_task(publish())
    await eventually(instagram_sandbox.calls.total, "the publish to reach Instagram")
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await asyncio.wait_for(watch.read(), 5)).status == SERVING
    stopping = asyncio.create_task(service.stop(10.0))
    assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING  # the stop has begun
    watch.cancel()
    assert not call.done()  # the publish is under way

    instagram_sandbox.config.processing_delay = 0.0
    finish_instagram_processing(instagram_sandbox)
    await asyncio.wait_for(stopping, 15)
    response = await asyncio.wait_for(call, 5)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


# --- the RPC log line, in-process ------------------------------------------------


def rpc_records(caplog, method: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "rpc" and getattr(r, "method", "") == method]


async def test_rpc_log_line_carries_the_domain_error_code(accounts, caplog):
    caplog.set_level(logging.DEBUG, logger="distribution.rpc")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await accounts.GetAccount(GetAccountRequest(id="not-a-uuid"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await accounts.GetAccount(GetAccountRequest(id=(await connect(accounts)).id))
    records = rpc_records(caplog, "/distribution.v1.AccountService/GetAccount")
    assert [r.code for r in records] == ["INVALID_ARGUMENT", "OK"]
    assert records[0].reason == "INVALID_REQUEST"
    assert all(r.duration_ms >= 0 for r in records)


async def test_rpc_log_line_code_is_the_status_of_a_handler_abort(health, caplog):
    caplog.set_level(logging.DEBUG, logger="distribution.rpc")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "nope.Service")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    # An aborted call's status reaches the client before the server writes its log line.
    records = await eventually(lambda: rpc_records(caplog, "/grpc.health.v1.Health/Check"), "the rpc log line")
    assert [r.code for r in records] == ["NOT_FOUND"]
