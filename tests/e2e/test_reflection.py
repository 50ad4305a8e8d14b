"""Server reflection, as grpcurl (a real outside client) sees it, against the in-process server."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.client import APP_SERVICES
from tests.support.tools import grpcurl_async

HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"


async def test_grpcurl_lists_every_service(service):
    result = await grpcurl_async(service.address, "list")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {*APP_SERVICES, HEALTH, REFLECTION}


async def test_grpcurl_describes_a_service(service):
    result = await grpcurl_async(service.address, "describe", "distribution.v1.PublishingService")
    assert result.returncode == 0, result.stderr
    assert "distribution.v1.PublishingService is a service" in result.stdout
    assert "rpc PublishInstagramCarousel ( .distribution.v1.PublishInstagramCarouselRequest )" in result.stdout
    assert "rpc PublishTikTokCarousel" in result.stdout


async def test_grpcurl_describes_a_message(service):
    result = await grpcurl_async(service.address, "describe", "distribution.v1.PublishInstagramCarouselRequest")
    assert result.returncode == 0, result.stderr
    assert "repeated string media_ids = 1;" in result.stdout
    assert "string instagram_account_id = 2;" in result.stdout


async def test_grpcurl_describes_a_method(service):
    result = await grpcurl_async(
        service.address, "describe", "distribution.v1.PublishingService.PublishInstagramCarousel"
    )
    assert result.returncode == 0, result.stderr
    assert "rpc PublishInstagramCarousel" in result.stdout


async def test_health_and_reflection_stay_open_when_api_keys_are_required(start_service):
    service = await start_service(api_keys="alpha=key-for-workspace-a-0123456789,beta=key-for-workspace-b-9876543210")
    async with grpc.aio.insecure_channel(service.address) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    result = await grpcurl_async(service.address, "list")
    assert result.returncode == 0, result.stderr
    assert "distribution.v1.PublishingService" in result.stdout
