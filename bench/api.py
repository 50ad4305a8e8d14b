"""The harness's own gRPC calls to the service: set-up (accounts, media) and timed single calls.

Load is driven from separate client processes (bench.client); these helpers run in the
harness process, where set-up and sequential measurements do not compete with a load client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2_grpc,
)
from distribution.v1 import publishing_service_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.harness import status_kb

T = TypeVar("T")

INSTAGRAM = account_pb2.PLATFORM_INSTAGRAM
TIKTOK = account_pb2.PLATFORM_TIKTOK


class Api:
    """Stubs on one channel to the service."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)

    async def connect(self, platform: int, external_id: str, token: str) -> str:
        response = await self.accounts.ConnectAccount(
            account_service_pb2.ConnectAccountRequest(
                platform=platform, external_account_id=external_id, username="bench", access_token=token
            )
        )
        return response.account.id

    async def register(self, url: str) -> str:
        response = await self.media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url=url))
        return response.media.id

    async def instagram_accounts(self, count: int, prefix: str = "178414") -> list[str]:
        return await gather_bounded(
            [lambda i=i: self.connect(INSTAGRAM, f"{prefix}{i:011d}", f"bench-ig-token-{prefix}-{i}")
             for i in range(count)]
        )

    async def tiktok_accounts(self, count: int, prefix: str = "bench") -> list[str]:
        # Distinct tokens: TikTok limits init (6/min) and status (30/min) calls per token.
        return await gather_bounded(
            [lambda i=i: self.connect(TIKTOK, f"{prefix}-open-{i}", f"{prefix}-tiktok-token-{i}")
             for i in range(count)]
        )

    async def images(self, count: int, prefix: str = "bench") -> list[str]:
        # GCS over https: the one hosting both platforms take (TikTok verifies the URL prefix).
        return await gather_bounded(
            [lambda i=i: self.register(f"https://storage.googleapis.com/bench-bucket/{prefix}-{i}.jpg")
             for i in range(count)]
        )

    async def publish_instagram(self, account: str, media: list[str]) -> pb.PublishInstagramCarouselResponse:
        return await self.publishing.PublishInstagramCarousel(
            pb.PublishInstagramCarouselRequest(
                media_ids=media, instagram_account_id=account, caption="Benchmark carousel #bench",
                allow_duplicate=True,
            ),
            timeout=120,
        )

    async def publish_tiktok(self, account: str, media: list[str]) -> pb.PublishTikTokCarouselResponse:
        return await self.publishing.PublishTikTokCarousel(
            pb.PublishTikTokCarouselRequest(
                media_ids=media, creator_consent_obtained=True, tiktok_account_id=account, caption="Benchmark carousel",
                privacy_level=4, allow_duplicate=True,  # PRIVACY_LEVEL_SELF_ONLY
            ),
            timeout=120,
        )


async def gather_bounded(factories: list[Callable[[], Awaitable[T]]], limit: int = 32) -> list[T]:
    semaphore = asyncio.Semaphore(limit)

    async def run(factory: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await factory()

    return list(await asyncio.gather(*(run(f) for f in factories)))


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


@dataclass
class Probe:
    """Background sampler while a load runs: the service's health-check latency every
    `interval` (a proxy for how long its event loop takes to pick up a call) and its RSS."""

    address: str
    pid: int
    interval: float = 0.05
    health_latencies: list[float] = field(default_factory=list)
    health_failures: int = 0
    rss_mb: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
                    self.health_latencies.append(time.perf_counter() - started)
                except grpc.RpcError:
                    self.health_failures += 1
                with contextlib.suppress(OSError, KeyError):  # the process may be gone
                    self.rss_mb.append(status_kb(self.pid, "VmRSS") / 1024)
                self._stop.wait(self.interval)

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(35)
