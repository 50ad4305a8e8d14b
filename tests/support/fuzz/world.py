"""The fuzz world: one in-process server and both emulators on an event loop in a
background thread (Hypothesis drives sync test functions, and function-scoped async fixtures
and @given do not mix), a channel with a multicallable per RPC, and real objects to aim at."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from distribution.v1 import account_pb2
from distribution.v1.account_service_pb2 import ConnectAccountRequest, DisconnectAccountRequest
from distribution.v1.media_service_pb2 import RegisterMediaRequest
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest, PublishTikTokCarouselRequest
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2

from server.app import Service
from server.config import Settings
from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from tests.support import settings as fast
from tests.support.errors import rich_error
from tests.support.fuzz.real import REAL
from tests.support.fuzz.rpcs import RPC_BY_NAME, RPCS
from tests.support.fuzz.values import FD
from tests.support.inprocess import InProcessServices

CALL_TIMEOUT = 20.0  # seconds, per RPC
RESULT_TIMEOUT = 30.0  # seconds the test thread waits for the loop thread


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = RESULT_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            self.run(cancel_rest())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class ServerLog(logging.Handler):
    """Keeps the server's error records (with tracebacks) so a failure can quote them."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def take(self) -> str:
        with self._lock:
            records, self.records = self.records, []
        lines = []
        for r in records:
            lines.append(f"[{r.name}] {r.levelname}: {r.getMessage()} {getattr(r, 'method', '')}")
            if r.exc_info:
                lines.append("".join(traceback.format_exception(*r.exc_info)))
        return "\n".join(lines)


@dataclass
class World:
    """The running server, a channel to it, and what setup created."""

    loop: LoopThread
    services: InProcessServices
    service: Service
    channel: grpc.aio.Channel
    instagram: InstagramSandbox
    tiktok: TikTokSandbox
    log: ServerLog
    calls: dict[str, Any] = field(default_factory=dict)
    connect_requests: list[Any] = field(default_factory=list)
    disconnected_id: str = ""

    def call(
        self, path: str, request: Any, timeout: float = CALL_TIMEOUT, metadata: tuple[tuple[str, Any], ...] = ()
    ) -> tuple[Any, grpc.aio.AioRpcError | None]:
        multicallable = self.calls[path]

        async def invoke() -> tuple[Any, grpc.aio.AioRpcError | None]:
            try:
                return await multicallable(request, timeout=timeout, metadata=metadata or None), None
            except grpc.aio.AioRpcError as err:
                return None, err

        return self.loop.run(invoke())

    def ok(self, rpc: str, request: Any) -> Any:
        path = RPC_BY_NAME[rpc].path if rpc in RPC_BY_NAME else rpc
        response, err = self.call(path, request)
        assert err is None, f"{rpc}: {err.code()} {err.details()}\n{self.log.take()}"
        return response

    def restore(self) -> None:
        """Undoes what a fuzzed mutation may have done to the fixed accounts."""
        for request in self.connect_requests:
            self.ok("AccountService.ConnectAccount", request)
        self.ok("AccountService.DisconnectAccount", DisconnectAccountRequest(id=self.disconnected_id))


def fuzz_settings(workdir: Path, instagram: InstagramSandbox, tiktok: TikTokSandbox) -> Settings:
    """The fast settings, without TikTok pacing: the emulator's rate limits are off too, so the
    fuzzer reaches the publish paths, not the 429 path."""
    return fast.fast_settings(workdir, instagram.base_url, tiktok.base_url, tiktok_rate_limits=fast.NO_RATE_LIMITS)


async def start_world(workdir: Path, loop: LoopThread, log: ServerLog) -> World:
    instagram = InstagramSandbox(fast.instagram_config(publish_quota=100_000, container_quota=1_000_000))
    tiktok = TikTokSandbox(
        fast.tiktok_config(init_limit_per_minute=0, status_limit_per_minute=0, creator_info_limit_per_minute=0)
    )
    await instagram.start()
    await tiktok.start()
    services = InProcessServices(fuzz_settings(workdir, instagram, tiktok))
    service = await services.start()
    # No client-side receive limit: what the server answers is what the test sees.
    channel = grpc.aio.insecure_channel(service.address, options=[("grpc.max_receive_message_length", -1)])
    world = World(loop, services, service, channel, instagram, tiktok, log)
    for rpc in RPCS:
        world.calls[rpc.path] = channel.unary_unary(
            rpc.path,
            request_serializer=_serialize,
            response_deserializer=message_factory.GetMessageClass(rpc.output).FromString,
        )
    world.calls["/grpc.health.v1.Health/Check"] = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=_serialize,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    return world


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


async def stop_world(world: World) -> None:
    await world.channel.close()
    await world.services.stop_all()
    await world.instagram.stop()
    await world.tiktok.stop()


def populate(world: World) -> None:
    """Creates the real objects (accounts, media, publishes, page tokens) the strategies aim at."""
    for value in REAL.values():
        value.clear()
    accounts: dict[str, str] = {}
    specs = [
        ("instagram", account_pb2.PLATFORM_INSTAGRAM, "17841400000000001", "fuzz-ig-token"),
        ("instagram2", account_pb2.PLATFORM_INSTAGRAM, "17841400000000002", "fuzz-ig-token-2"),
        ("tiktok", account_pb2.PLATFORM_TIKTOK, "open-id-fuzz-public", "tt-fuzz-public-token"),
        ("tiktok_private", account_pb2.PLATFORM_TIKTOK, "open-id-fuzz-private", "tt-fuzz-private-token"),
        ("gone", account_pb2.PLATFORM_INSTAGRAM, "17841400000000009", "fuzz-ig-gone"),
    ]
    for label, platform, external, token in specs:
        request = ConnectAccountRequest(
            platform=platform, external_account_id=external, username=f"fuzz_{label}", access_token=token
        )
        account = world.ok("AccountService.ConnectAccount", request).account
        accounts[label] = account.id
        REAL["platform_of"][account.id] = "instagram" if platform == account_pb2.PLATFORM_INSTAGRAM else "tiktok"
        REAL["externals"].append(external)
        if label != "gone":
            world.connect_requests.append(request)
    REAL["account"] = list(accounts.values())
    world.disconnected_id = accounts["gone"]
    world.restore()

    urls = {
        "gcs_jpg_0": "gs://fuzz-bucket/carousel/photo-0.jpg",
        "gcs_jpg_1": "gs://fuzz-bucket/carousel/photo-1.jpg",
        "gcs_jpg_2": "gs://fuzz-bucket/carousel/photo-2.jpg",
        "gcs_https_webp": "https://storage.googleapis.com/fuzz-bucket/photo-3.webp",
        "gcs_png": "gs://fuzz-bucket/photo-4.png",
        "s3_jpg": "s3://fuzz-bucket/photo-5.jpg",
        "other_jpg": "https://cdn.example.com/photo-6.jpg",
        "unreachable_jpg": "https://unreachable.example.com/photo-7.jpg",
        "bad_ratio_jpg": "https://cdn.example.com/photo-2000x500.jpg",
        "video": "https://cdn.example.com/clip.mp4",
        "gcs_video": "gs://fuzz-bucket/clip.mov",
    }
    media = {
        label: world.ok("MediaService.RegisterMedia", RegisterMediaRequest(url=url)).media.id
        for label, url in urls.items()
    }
    REAL["media"] = list(media.values())

    # A few real publishes (live on each platform, and one failed), for the RPCs that read them.
    gcs = [media["gcs_jpg_0"], media["gcs_jpg_1"], media["gcs_jpg_2"]]
    done = world.ok(
        "PublishingService.PublishInstagramCarousel",
        PublishInstagramCarouselRequest(media_ids=gcs, instagram_account_id=accounts["instagram"], caption="setup"),
    )
    REAL["publish"].append(done.instagram_publish_id)
    done = world.ok(
        "PublishingService.PublishTikTokCarousel",
        PublishTikTokCarouselRequest(media_ids=gcs[:2],
            creator_consent_obtained=True, tiktok_account_id=accounts["tiktok"], caption="setup"),
    )
    REAL["publish"].append(done.tiktok_publish_id)
    _, err = world.call(
        RPC_BY_NAME["PublishingService.PublishInstagramCarousel"].path,
        PublishInstagramCarouselRequest(
            media_ids=[media["gcs_jpg_0"], media["unreachable_jpg"]], instagram_account_id=accounts["instagram2"]
        ),
    )
    assert err is not None and err.code() == grpc.StatusCode.FAILED_PRECONDITION, err
    if failed := rich_error(err).metadata.get("publish_id"):
        REAL["publish"].append(failed)

    # Real page tokens from every List RPC, under each value of each enum/bool filter.
    for rpc in RPCS:
        if not rpc.name.startswith("List") or "page_size" not in rpc.input.fields_by_name:
            continue
        cls = message_factory.GetMessageClass(rpc.input)
        variants = [cls(page_size=1)]
        for f in rpc.input.fields:
            if f.is_repeated:
                continue
            if f.cpp_type == FD.CPPTYPE_ENUM:
                variants += [cls(page_size=1, **{f.name: v.number}) for v in f.enum_type.values]
            elif f.cpp_type == FD.CPPTYPE_BOOL:
                variants.append(cls(page_size=1, **{f.name: True}))
        for request in variants:
            response, _ = world.call(rpc.path, request)
            token = getattr(response, "next_page_token", "") if response is not None else ""
            if token:
                REAL["page_tokens"].append(token)
                REAL["page_tokens_by"].append((rpc.name, token))
    world.log.take()


@contextmanager
def open_world(workdir: Path) -> Iterator[World]:
    """A started and populated world for the block; the server's ERROR records are kept
    (World.log) so a failure can quote them."""
    loop = LoopThread()
    log = ServerLog()
    logging.getLogger().addHandler(log)
    started: World | None = None
    try:
        started = loop.run(start_world(workdir, loop, log))
        populate(started)
        yield started
    finally:
        try:
            if started is not None:
                loop.run(stop_world(started))
        finally:
            loop.close()
            logging.getLogger().removeHandler(log)
