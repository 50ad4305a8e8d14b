"""Shared fixtures: real emulators on loopback, a real in-process server on a free port."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2_grpc,
)

from server.app import Service
from server.app import start_service as start_service_in_process
from server.config import Settings
from server.services.workflow.polling import PollPolicy, ReconcileSchedule
from server.services.workflow.retry import RetryPolicy
from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

# Emulators in tests process quickly; the service polls them on a matching short schedule.
FAST_POLL = PollPolicy(initial_interval=0.02, multiplier=1.5, max_interval=0.2, timeout=10.0)
FAST_LATE_FACTS = ReconcileSchedule(first_delay=0.1, multiplier=1.5, max_interval=0.3)
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.1, budget=1.0, max_attempts=6)


@pytest.fixture
async def instagram_sandbox() -> AsyncIterator[InstagramSandbox]:
    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=0.05))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def tiktok_sandbox() -> AsyncIterator[TikTokSandbox]:
    sandbox = TikTokSandbox(TikTokSandboxConfig(processing_delay=0.05, moderation_delay=0.3))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def settings(tmp_path: Path, instagram_sandbox: InstagramSandbox, tiktok_sandbox: TikTokSandbox) -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
        db_path=tmp_path / "distribution.db",
        secret_key_file=tmp_path / "secret.key",
        instagram_api_base=instagram_sandbox.base_url,
        tiktok_api_base=tiktok_sandbox.base_url,
        shutdown_grace=1.0,
        instagram_poll=FAST_POLL,
        tiktok_poll=FAST_POLL,
        late_facts=FAST_LATE_FACTS,
        retry=FAST_RETRY,
    )


ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service(settings: Settings) -> AsyncIterator[ServiceFactory]:
    """Starts services (several, e.g. to restart over the same database); stops them all at the end."""
    started: list[Service] = []

    async def start(**overrides: object) -> Service:
        service = await start_service_in_process(dataclasses.replace(settings, **overrides))
        started.append(service)
        return service

    yield start
    for service in started:
        await service.stop(0)


@pytest.fixture
async def service(start_service: ServiceFactory) -> Service:
    return await start_service()


@pytest.fixture
async def channel(service: Service) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(service.address) as ch:
        yield ch


@pytest.fixture
def accounts(channel: grpc.aio.Channel) -> account_service_pb2_grpc.AccountServiceStub:
    return account_service_pb2_grpc.AccountServiceStub(channel)


@pytest.fixture
def media(channel: grpc.aio.Channel) -> media_service_pb2_grpc.MediaServiceStub:
    return media_service_pb2_grpc.MediaServiceStub(channel)


@pytest.fixture
def publishing(channel: grpc.aio.Channel) -> publishing_service_pb2_grpc.PublishingServiceStub:
    return publishing_service_pb2_grpc.PublishingServiceStub(channel)


async def connect(
    accounts: account_service_pb2_grpc.AccountServiceStub,
    platform: int = account_pb2.PLATFORM_INSTAGRAM,
    external_account_id: str = "17841400000000001",
    access_token: str = "sandbox-token",
    **extra: object,
) -> account_pb2.Account:
    response = await accounts.ConnectAccount(
        account_service_pb2.ConnectAccountRequest(
            platform=platform,
            external_account_id=external_account_id,
            username="demo",
            access_token=access_token,
            **extra,
        )
    )
    return response.account


async def register(media: media_service_pb2_grpc.MediaServiceStub, *urls: str) -> list[str]:
    ids = []
    for url in urls:
        response = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url=url))
        ids.append(response.media.id)
    return ids


def images(n: int, prefix: str = "gs://demo-bucket/carousel/photo", ext: str = "jpg") -> list[str]:
    return [f"{prefix}-{i}.{ext}" for i in range(n)]
