"""The service and the emulators in the test's own event loop.

- `running(emulator)`: an emulator (InstagramSandbox, TikTokSandbox) served on a free
  loopback port for the block's duration.
- `InProcessServices`: `server.app.start_service` over given settings, as many times as a
  test needs (e.g. a restart over the same database); stops them all at the end.
- `open_core`: the use cases over the real adapters (store, platform clients), started and
  stopped in the order `server.app` uses, without the gRPC transport: what integration tests
  drive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from server import app
from server.app import Service, start_service
from server.bootstrap import Adapters, Services
from server.config import Settings
from server.domain.commands import CarouselRequest, ConnectRequest, MediaDraft
from server.domain.models import Account, Platform, Publish


class Startable(Protocol):
    async def start(self, port: int = 0) -> str: ...

    async def stop(self) -> None: ...


E = TypeVar("E", bound=Startable)


@asynccontextmanager
async def running(emulator: E) -> AsyncIterator[E]:
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


class InProcessServices:
    """Starts services in-process (`server.app.start_service`) and stops every one it started."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started: list[Service] = []

    async def start(self, adapters: Mapping[str, Any] | None = None, **overrides: Any) -> Service:
        """A service over these settings with `overrides` (Settings fields) and `adapters`
        handed in instead of built (see server.bootstrap.open_adapters)."""
        service = await start_service(dataclasses.replace(self.settings, **overrides), **(adapters or {}))
        self.started.append(service)
        return service

    async def stop_all(self) -> None:
        while self.started:
            await self.started.pop().stop(0)


WORKSPACE = "default"  # the workspace every caller shares when authentication is off


@dataclass
class Core:
    """The use cases, wired over real adapters, and a few calls tests share."""

    adapters: Adapters
    services: Services

    async def connect(
        self,
        platform: Platform = Platform.INSTAGRAM,
        external_account_id: str = "17841400000000001",
        access_token: str = "sandbox-token",
        **fields: Any,
    ) -> Account:
        request = ConnectRequest(
            platform=platform,
            external_account_id=external_account_id,
            username=fields.pop("username", "demo"),
            access_token=access_token,
            refresh_token=fields.pop("refresh_token", ""),
            access_token_expires_at=fields.pop("access_token_expires_at", None),
            refresh_token_expires_at=fields.pop("refresh_token_expires_at", None),
        )
        if fields:
            raise TypeError(f"unknown ConnectRequest fields: {sorted(fields)}")
        return await self.services.accounts.connect(WORKSPACE, request)

    async def account(self, account_id: str) -> Account:
        return await self.services.accounts.get(WORKSPACE, account_id)

    async def register(self, *urls: str) -> list[str]:
        return [(await self.services.media.register(WORKSPACE, MediaDraft(url=url))).id for url in urls]

    async def publish(self, request: CarouselRequest) -> Publish:
        return await self.services.publisher.publish(WORKSPACE, request)


@asynccontextmanager
async def open_core(settings: Settings, **adapters: Any) -> AsyncIterator[Core]:
    """The use cases over the adapters `settings` name (or those handed in), started as the
    service starts them (`server.app.open_core`, then `Core.start`: the reconciler running,
    unfinished publishes resumed, leases kept), with no gRPC server, no readiness checks and
    no metrics endpoint."""
    core = await app.open_core(dataclasses.replace(settings, metrics_listen="off"), **adapters)
    try:
        await core.start()
        yield Core(core.adapters, core.services)
    finally:
        await core.stop(0)
