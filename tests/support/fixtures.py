"""pytest fixtures over the testing package. A layer's conftest imports the ones it uses
(and names them in `__all__`), so each layer shows what it may start."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import pytest
from distribution.v1 import account_service_pb2_grpc, media_service_pb2_grpc, publishing_service_pb2_grpc

from server.app import Service
from server.config import Settings
from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from tests.support import settings as fast
from tests.support.inprocess import Core, InProcessServices, open_core, running
from tests.support.processes import EmulatorProcess

ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
def no_traceback(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fails the test if the service logged a traceback or an error while it ran: client
    input, however hostile, is one `http request refused` line."""
    caplog.set_level(logging.INFO)
    yield caplog
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [f"{r.name}: {r.getMessage()}" for r in tracebacks]


@pytest.fixture
async def instagram_sandbox() -> AsyncIterator[InstagramSandbox]:
    """The Graph API emulator in-process, processing containers in 50 ms."""
    async with running(InstagramSandbox(fast.instagram_config())) as sandbox:
        yield sandbox


@pytest.fixture
async def tiktok_sandbox() -> AsyncIterator[TikTokSandbox]:
    """The TikTok emulator in-process, processing posts in 50 ms, moderating in 300 ms."""
    async with running(TikTokSandbox(fast.tiktok_config())) as sandbox:
        yield sandbox


@pytest.fixture
async def platforms(tmp_path: Path) -> AsyncIterator[tuple[EmulatorProcess, EmulatorProcess]]:
    """Both emulators in processes of their own (they outlive a killed service), taking a
    second to process, as the crash and replica tests need to stop the service mid-way."""
    instagram = EmulatorProcess("instagram", tmp_path, "--processing-delay", "1.0")
    tiktok = EmulatorProcess("tiktok", tmp_path, "--processing-delay", "1.0", "--moderation-delay", "0.2")
    try:
        await asyncio.gather(instagram.astart(), tiktok.astart())
        yield instagram, tiktok
    finally:
        instagram.stop()
        tiktok.stop()


@pytest.fixture
def settings(tmp_path: Path, instagram_sandbox: InstagramSandbox, tiktok_sandbox: TikTokSandbox) -> Settings:
    """Fast settings against both emulators, over a database in tmp_path."""
    return fast.fast_settings(tmp_path, instagram_sandbox.base_url, tiktok_sandbox.base_url)


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    """The use cases over the SQLite store and the emulators, no transport."""
    async with open_core(settings) as opened:
        yield opened


@pytest.fixture
async def start_service(settings: Settings) -> AsyncIterator[ServiceFactory]:
    """Starts in-process services (several, e.g. to restart over the same database), each with
    Settings overrides as keyword arguments; stops them all at the end."""
    services = InProcessServices(settings)
    yield services.start
    await services.stop_all()


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
