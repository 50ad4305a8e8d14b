"""DISTRIBUTION_HEALTH_LISTEN: with mutual TLS the main port needs a client certificate
before any call, health included, which a Kubernetes gRPC probe does not have. The
health-only port answers grpc.health.v1 in plaintext, with the main port's status, and
nothing else."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from distribution.v1 import account_service_pb2, account_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.tls import make_pki

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
APP_SERVICES = (
    "distribution.v1.AccountService",
    "distribution.v1.MediaService",
    "distribution.v1.PublishingService",
)


@pytest.fixture
async def mtls_service(start_service, tmp_path):
    pki = make_pki(tmp_path)
    service = await start_service(
        tls_cert=str(pki.server_cert), tls_key=str(pki.server_key), tls_client_ca=str(pki.ca_cert),
        tls_client_workspaces="billing-service=billing", health_listen="127.0.0.1:0",
    )
    return service, pki


async def test_a_probe_without_a_certificate_gets_health_on_the_health_port(mtls_service):
    service, pki = mtls_service
    assert service.health_address is not None and service.health_address != service.address
    async with grpc.aio.insecure_channel(service.health_address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *APP_SERVICES):
            response = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert response.status == SERVING, name

    # The main port still asks every caller for a client certificate, probes included.
    without_cert = grpc.ssl_channel_credentials(root_certificates=pki.ca_cert.read_bytes())
    async with grpc.aio.secure_channel(f"localhost:{service.port}", without_cert) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_health_port_serves_nothing_but_health(mtls_service):
    service, _ = mtls_service
    async with grpc.aio.insecure_channel(service.health_address) as channel:
        accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await accounts.ListAccounts(account_service_pb2.ListAccountsRequest(), timeout=5)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
        reflection = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            call = reflection(iter([b""]), timeout=5)
            await call.read()
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_the_health_port_reports_the_shutdown_like_the_main_port(mtls_service):
    service, _ = mtls_service
    async with grpc.aio.insecure_channel(service.health_address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await asyncio.wait_for(watch.read(), 5)).status == SERVING
        stopping = asyncio.create_task(service.stop(5.0))
        try:
            assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        finally:
            watch.cancel()
            await asyncio.wait_for(stopping, 10)


async def test_the_health_port_is_off_by_default(service):
    assert service.settings.health_listen == "off"
    assert service.health_address is None
    assert service.facts()["health_listen"] == "off"
