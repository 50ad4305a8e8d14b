"""A Reel killed (SIGKILL) mid-way, then the service restarted and the caller retrying with
its request_id: exactly one Reel on the platform, one container created, one media_publish.
The Instagram emulator runs in its own process (it outlives the service) and processes a
Reel's video for 5 s, so the kills land while it processes or while media_publish stalls."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)

from tests.support.processes import ServiceProcess, service_env

KILL_POINT_SECONDS = 30.0


async def until(emulator: Any, condition: Callable[[dict[str, int]], bool]) -> None:
    deadline = time.monotonic() + KILL_POINT_SECONDS
    while not condition(await emulator.acalls()):
        if time.monotonic() > deadline:
            raise TimeoutError("the kill point was never reached")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "kill_when, fault",
    [
        # While Instagram processes the Reel's video (the container exists, its id is saved).
        pytest.param(lambda c: c.get("create_container", 0) >= 1 and c.get("container_status", 0) >= 1, None,
                     id="reel-processing"),
        # While media_publish is in flight: the Reel went live, the answer never came.
        pytest.param(lambda c: c.get("media_publish", 0) >= 1,
                     {"endpoint": "media_publish", "kind": "timeout", "rate": 1.0, "after_serving": True,
                      "stall_seconds": 30}, id="reel-publish-in-flight"),
    ],
)
async def test_sigkill_mid_reel_then_restart_posts_exactly_one_reel(tmp_path, platforms, kill_when, fault) -> None:
    instagram, tiktok = platforms
    settings = service_env(tmp_path, instagram.base_url, tiktok.base_url, DISTRIBUTION_LOG_LEVEL="WARNING")
    first = ServiceProcess(settings, tmp_path / "service.log")
    await first.astart()
    try:
        async with grpc.aio.insecure_channel(first.address) as channel:
            accounts = account_service_pb2_grpc.AccountServiceStub(channel)
            media = media_service_pb2_grpc.MediaServiceStub(channel)
            publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
            account = await accounts.ConnectAccount(account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id="17841400000000001",
                username="crash", access_token="crash-token",
            ))
            video = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url="gs://crash/reel.mp4"))
            request = publishing_service_pb2.PublishInstagramMediaRequest(
                media_id=video.media.id, instagram_account_id=account.account.id, request_id=str(uuid.uuid4()),
                caption="crash reel",
            )
            if fault:
                await instagram.acontrol("POST", "faults", {"seed": 1, "rules": [fault]})
            call = publishing.PublishInstagramMedia(request, timeout=60)
            await until(instagram, kill_when)
            first.kill()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        if fault:
            await instagram.acontrol("DELETE", "faults")
    finally:
        first.kill()

    second = ServiceProcess(settings, tmp_path / "service.log")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
            # The caller retries with the same request_id: it gets the resumed publish.
            result = await publishing.PublishInstagramMedia(request, timeout=60)
            assert (result.state, result.kind) == (publish_pb2.PUBLISH_STATE_PUBLISHED, publish_pb2.PUBLISH_KIND_REEL)
            posts = await instagram.aposts()
            assert len(posts) == 1, posts
            assert posts[0]["media_type"] == "VIDEO" and result.ig_media_id == posts[0]["id"]
            calls = await instagram.acalls()
            assert calls.get("create_container", 0) == 1  # the saved container was never re-created
            assert calls.get("media_publish", 0) == 1
    finally:
        second.stop()
