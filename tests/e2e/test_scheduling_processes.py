"""Scheduled publishes across process deaths and replicas: a schedule survives a SIGKILL and
runs once at the next start (its lateness recorded), one found past the lateness limit ends
MISSED without a platform call, and on PostgreSQL replicas due at the same moment post each
scheduled publish once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography.fernet import Fernet
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
from google.protobuf.timestamp_pb2 import Timestamp

from tests.support.postgres import fresh_database
from tests.support.processes import EmulatorProcess, ServiceProcess, service_env

TOLERANCE = "0.5"


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)

    async def schedule(self, at: datetime, caption: str = "scheduled") -> str:
        account = await self.accounts.ConnectAccount(
            account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id="17841400000000001",
                username="sched", access_token="sched-token",
            )
        )
        media_ids = []
        for i in range(2):
            registered = await self.media.RegisterMedia(
                media_service_pb2.RegisterMediaRequest(url=f"gs://sched/{caption}-{i}.jpg")
            )
            media_ids.append(registered.media.id)
        stamp = Timestamp()
        stamp.FromDatetime(at)
        response = await self.publishing.PublishInstagramCarousel(
            publishing_service_pb2.PublishInstagramCarouselRequest(
                media_ids=media_ids, instagram_account_id=account.account.id, caption=caption, publish_time=stamp
            )
        )
        assert response.state == publish_pb2.PUBLISH_STATE_SCHEDULED
        return str(response.instagram_publish_id)

    async def get(self, publish_id: str) -> Any:
        return await self.publishing.GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id))


async def until(predicate: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Polls `predicate` until it holds; fails after `within` seconds rather than hang."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition was never reached")
        await asyncio.sleep(0.05)


async def past(moment: datetime) -> None:
    """Until the wall clock is past `moment` (the scheduled time the test waits out)."""
    async def passed() -> bool:
        return datetime.now(UTC) > moment

    await until(passed)


async def in_state(client: Client, publish_id: str, state: int) -> Any:
    found: Any = None

    async def reached() -> bool:
        nonlocal found
        found = await client.get(publish_id)
        return bool(found.publish.state == state)

    await until(reached)
    return found


def service(tmp_path: Path, platforms: tuple[EmulatorProcess, EmulatorProcess], **env: str) -> ServiceProcess:
    settings = service_env(
        tmp_path, platforms[0].base_url, platforms[1].base_url,
        DISTRIBUTION_LOG_LEVEL="WARNING", DISTRIBUTION_SCHEDULE_TOLERANCE=TOLERANCE, **env,
    )
    return ServiceProcess(settings, tmp_path / "service.log")


async def test_a_schedule_survives_sigkill_and_posts_once_after_the_restart(tmp_path, platforms):
    instagram = platforms[0]
    first = service(tmp_path, platforms)
    await first.astart()
    due = datetime.now(UTC) + timedelta(seconds=2)
    try:
        async with grpc.aio.insecure_channel(first.address) as channel:
            publish_id = await Client(channel).schedule(due)
        first.kill()  # before its time
    finally:
        first.kill()
    await past(due + timedelta(seconds=0.5))
    assert await instagram.aposts() == []

    second = service(tmp_path, platforms)
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            client = Client(channel)
            found = await in_state(client, publish_id, publish_pb2.PUBLISH_STATE_PUBLISHED)
            posts = await instagram.aposts()
            assert [p["id"] for p in posts] == [found.publish.ig_media_id]
            assert (await instagram.acalls()).get("media_publish", 0) == 1
            lateness = found.publish.start_lateness.ToTimedelta()
            assert lateness >= timedelta(seconds=0.5)  # it was due while the service was down
            due_event = next(e for e in found.events if e.type == "SCHEDULE_DUE")
            assert due_event.details["lateness_seconds"] >= 0.5
    finally:
        second.stop()


async def test_a_schedule_found_past_the_lateness_limit_ends_missed(tmp_path, platforms):
    instagram = platforms[0]
    first = service(tmp_path, platforms, DISTRIBUTION_SCHEDULE_MAX_LATENESS="1")
    await first.astart()
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    try:
        async with grpc.aio.insecure_channel(first.address) as channel:
            publish_id = await Client(channel).schedule(due)
        first.kill()
    finally:
        first.kill()
    await past(due + timedelta(seconds=1.5))

    second = service(tmp_path, platforms, DISTRIBUTION_SCHEDULE_MAX_LATENESS="1")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            found = await in_state(Client(channel), publish_id, publish_pb2.PUBLISH_STATE_MISSED)
            assert found.publish.error.reason == "SCHEDULE_MISSED"
            assert [e.type for e in found.events] == ["CREATED", "SCHEDULED", "MISSED"]
        assert await instagram.aposts() == []
        assert (await instagram.acalls()).get("create_container", 0) == 0
    finally:
        second.stop()


async def test_replicas_due_at_the_same_moment_post_each_schedule_once(tmp_path, platforms):
    instagram = platforms[0]
    key = Fernet.generate_key().decode()
    async with fresh_database() as url:
        replicas = [
            service(tmp_path / f"replica-{i}", platforms, DISTRIBUTION_DB=url, DISTRIBUTION_SECRET_KEYS=key)
            for i in range(2)
        ]
        await asyncio.gather(*(r.astart() for r in replicas))
        channels = [grpc.aio.insecure_channel(r.address) for r in replicas]
        try:
            clients = [Client(c) for c in channels]
            due = datetime.now(UTC) + timedelta(seconds=3)
            # Half scheduled on each: both replicas' timers fire at the same moment, and
            # each claims every due publish it can lock.
            ids = [await clients[i % 2].schedule(due, caption=f"replicas-{i}") for i in range(8)]
            for publish_id in ids:
                await in_state(clients[0], publish_id, publish_pb2.PUBLISH_STATE_PUBLISHED)
            posts = await instagram.aposts()
            assert len(posts) == len(ids)
            assert sorted(p["caption"] for p in posts) == sorted(f"replicas-{i}" for i in range(8))
            assert (await instagram.acalls()).get("media_publish", 0) == len(ids)
        finally:
            for channel in channels:
                await channel.close()
            for replica in replicas:
                replica.kill()
