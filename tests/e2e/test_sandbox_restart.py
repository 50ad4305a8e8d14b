"""`make run` keeps in-flight publishes across a restart: the built-in emulators keep their
world in state files beside the database, so a publish interrupted by SIGTERM resumes at
the next start against the containers and publish ids it already has, and ends with
exactly one post, as it would against the real platforms.

Each case runs `python -m server` with both API bases on `sandbox`, a processing delay
long enough that a SIGTERM with a short shutdown grace leaves the publish PROCESSING, then
starts it again over the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    account_service_pb2_grpc,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2_grpc,
)
from distribution.v1 import publishing_service_pb2 as pb

from tests.support.client import connect, images, register
from tests.support.processes import ServiceProcess, service_env

PROCESSING = publish_pb2.PUBLISH_STATE_PROCESSING
# Long enough to stop the service mid-processing (the grace below is much shorter).
PROCESSING_DELAY = "4"


def service_process(workdir: Path, processing_delay: str) -> ServiceProcess:
    """`python -m server` over `workdir`/distribution.db, both API bases on `sandbox`."""
    settings = service_env(
        workdir, DISTRIBUTION_SANDBOX_PROCESSING_DELAY=processing_delay, DISTRIBUTION_SHUTDOWN_GRACE="0.2"
    )
    return ServiceProcess(settings, workdir / "service.log")


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
        self._calls: list[asyncio.Task[None]] = []

    def send_and_forget(self, call: Any) -> None:
        """A publish call the service stops under: its answer is lost, as a client's would be."""

        async def wait() -> None:
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
                await call

        self._calls.append(asyncio.get_running_loop().create_task(wait()))

    async def publish_record(self, account_id: str) -> pb.Publish | None:
        listed = await self.publishing.ListPublishes(pb.ListPublishesRequest(account_id=account_id), timeout=5)
        return listed.publishes[0] if listed.publishes else None

    async def wait_for(self, account_id: str, ready, bound: float = 30.0) -> pb.Publish:
        """The account's publish once `ready(publish)` holds (polled, within `bound` seconds)."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            publish = await self.publish_record(account_id)
            if publish is not None and ready(publish):
                return publish
            await asyncio.sleep(0.05)
        raise AssertionError(f"the publish did not get there within {bound}s: {publish}")


def state(workdir: Path, platform: str) -> dict[str, Any]:
    path = workdir / f"distribution.sandbox-{platform}.json"
    envelope = json.loads(path.read_text())
    assert envelope["emulator"] == platform
    return envelope["state"]


async def interrupted(workdir: Path, send, in_flight) -> tuple[str, pb.Publish]:
    """Starts the service, sends a publish, stops the service with SIGTERM while `in_flight`
    holds for it; returns the account id and the publish as last seen."""
    service = await service_process(workdir, PROCESSING_DELAY).astart()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            client = Client(channel)
            account_id = await send(client)
            seen = await client.wait_for(account_id, lambda p: p.state == PROCESSING and in_flight(p))
        # SIGTERM: the grace (0.2 s) ends long before the platform finishes processing.
        assert service.terminate() == 0, service.log_tail()
    finally:
        service.stop()
    return account_id, seen


async def resumed(workdir: Path, request) -> tuple[Any, pb.Publish]:
    """Starts the service again over the same database; the same request (same request_id)
    waits for the resumed publish. Returns the response and the record."""
    service = await service_process(workdir, "0.3").astart()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            client = Client(channel)
            response = await request(client)
            record = (await client.publishing.GetPublish(pb.GetPublishRequest(id=response_id(response)))).publish
    finally:
        service.stop()
    return response, record


def response_id(response: Any) -> str:
    return getattr(response, "instagram_publish_id", "") or response.tiktok_publish_id


async def test_an_instagram_publish_interrupted_by_sigterm_resumes_with_one_post(tmp_path):
    request_id = str(uuid.uuid4())
    request: dict[str, Any] = {}

    async def send(client: Client) -> str:
        account = await connect(client.accounts)
        media_ids = await register(client.media, *images(3))
        request.update(media_ids=media_ids, instagram_account_id=account.id, caption="restart", request_id=request_id)
        client.send_and_forget(
            client.publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(**request), timeout=60)
        )
        return account.id

    # Every item container created (their slots fill concurrently: a slot may still be "").
    _, seen = await interrupted(
        tmp_path, send, lambda p: len(p.instagram_child_container_ids) == 3 and all(p.instagram_child_container_ids)
    )
    children = list(seen.instagram_child_container_ids)
    saved = state(tmp_path, "instagram")
    assert {c["id"] for c in saved["containers"]} >= set(children)
    assert saved["posts"] == [], "stopped before anything was posted"

    async def again(client: Client) -> pb.PublishInstagramCarouselResponse:
        call = pb.PublishInstagramCarouselRequest(**request)
        return await client.publishing.PublishInstagramCarousel(call, timeout=60)

    response, record = await resumed(tmp_path, again)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert record.state == publish_pb2.PUBLISH_STATE_PUBLISHED and record.id == seen.id
    assert list(record.instagram_child_container_ids) == children, "the containers made before the stop were used"
    saved = state(tmp_path, "instagram")
    assert len(saved["posts"]) == 1
    [post] = [m for m in saved["media"] if m["id"] == saved["posts"][0]]
    assert post["id"] == record.ig_media_id
    assert post["creation_id"] == record.instagram_container_id
    assert post["child_containers"] == children


@pytest.mark.parametrize(
    "post_mode, privacy_level, final_state",
    [
        (
            publish_pb2.POST_MODE_DIRECT,
            publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
            publish_pb2.PUBLISH_STATE_PUBLISHED,
        ),
        (publish_pb2.POST_MODE_INBOX, 0, publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX),
    ],
    ids=["direct", "inbox"],
)
async def test_a_tiktok_publish_interrupted_by_sigterm_resumes_with_one_post(
    tmp_path, post_mode, privacy_level, final_state
):
    request_id = str(uuid.uuid4())
    request: dict[str, Any] = {}

    async def send(client: Client) -> str:
        account = await connect(
            client.accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="sandbox-open-id",
            access_token="sandbox-tiktok-token",
        )
        media_ids = await register(client.media, *images(2))
        request.update(
            media_ids=media_ids,
                creator_consent_obtained=True, tiktok_account_id=account.id, caption="restart", request_id=request_id,
            post_mode=post_mode, privacy_level=privacy_level,
        )
        client.send_and_forget(
            client.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(**request), timeout=60)
        )
        return account.id

    _, seen = await interrupted(tmp_path, send, lambda p: bool(p.tiktok_publish_id))
    saved = state(tmp_path, "tiktok")
    assert [p["publish_id"] for p in saved["publishes"]] == [seen.tiktok_publish_id]
    assert "sandbox-tiktok-token" not in json.dumps(saved), "tokens are kept only as hashes"

    async def again(client: Client) -> pb.PublishTikTokCarouselResponse:
        return await client.publishing.PublishTikTokCarousel(pb.PublishTikTokCarouselRequest(**request), timeout=60)

    response, record = await resumed(tmp_path, again)
    assert response.state == final_state
    assert record.state == final_state and record.id == seen.id
    assert record.tiktok_publish_id == seen.tiktok_publish_id, "the init made before the stop was polled, not resent"
    saved = state(tmp_path, "tiktok")
    assert [p["publish_id"] for p in saved["publishes"]] == [seen.tiktok_publish_id], "exactly one post"
