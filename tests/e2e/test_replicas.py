"""Several replicas on one PostgreSQL database, each its own `python -m server` process,
behind a client that spreads calls across them: a replica killed at any step of a publish
has the publish finished by another, exactly once; one request_id sent to every replica at
once posts once; a rolling restart under load loses nothing."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
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

from tests.support.errors import rich_error
from tests.support.postgres import fresh_database
from tests.support.processes import EmulatorProcess, ServiceProcess, service_env

INSTAGRAM, TIKTOK = account_pb2.PLATFORM_INSTAGRAM, account_pb2.PLATFORM_TIKTOK
TERMINAL = {
    publish_pb2.PUBLISH_STATE_PUBLISHED,
    publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX,
    publish_pb2.PUBLISH_STATE_FAILED,
    publish_pb2.PUBLISH_STATE_UNCONFIRMED,
}
LEASE_SECONDS = "2"


def replica(
    workdir: Path, database_url: str, secret_key: str, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> ServiceProcess:
    """`python -m server` on the shared database, with short leases so takeovers are quick."""
    settings = service_env(
        workdir,
        platforms[0].base_url,
        platforms[1].base_url,
        DISTRIBUTION_DB=database_url,
        DISTRIBUTION_SECRET_KEYS=secret_key,
        DISTRIBUTION_LEASE_SECONDS=LEASE_SECONDS,
        DISTRIBUTION_LOG_LEVEL="WARNING",
    )
    return ServiceProcess(settings, workdir / "service.log")


class Cluster:
    """Replicas and one channel to each; calls go round-robin, and a call refused because
    its replica is gone is sent to the next one (as a load balancer's retry would)."""

    def __init__(self, replicas: list[ServiceProcess]) -> None:
        self.replicas = replicas
        self.channels: dict[int, grpc.aio.Channel] = {}
        self._next = itertools.cycle(range(len(replicas)))

    async def start(self) -> None:
        await asyncio.gather(*(r.astart() for r in self.replicas))
        for i, replica in enumerate(self.replicas):
            self.channels[i] = grpc.aio.insecure_channel(replica.address)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        for replica in self.replicas:
            replica.kill()

    def stubs(self, index: int) -> tuple[Any, Any, Any]:
        channel = self.channels[index]
        return (
            account_service_pb2_grpc.AccountServiceStub(channel),
            media_service_pb2_grpc.MediaServiceStub(channel),
            publishing_service_pb2_grpc.PublishingServiceStub(channel),
        )

    async def call(self, method: Callable[[Any], Awaitable[Any]], *, attempts: int = 60) -> Any:
        """Calls `method(stubs)` on the next replica; on UNAVAILABLE, on the next one."""
        for _ in range(attempts):
            index = next(self._next)
            try:
                return await method(self.stubs(index))
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                await asyncio.sleep(0.1)
        raise AssertionError("no replica answered")


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


@pytest.fixture
async def cluster(
    tmp_path: Path, database: str, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> AsyncIterator[Cluster]:
    key = Fernet.generate_key().decode()
    replicas = [replica(tmp_path / f"replica-{i}", database, key, platforms) for i in range(3)]
    cluster = Cluster(replicas)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.close()


async def _prepare(cluster: Cluster, platform: int, images: int = 3) -> tuple[str, list[str]]:
    external = "17841400000000001" if platform == INSTAGRAM else "oid"
    account = await cluster.call(lambda s: s[0].ConnectAccount(account_service_pb2.ConnectAccountRequest(
        platform=platform, external_account_id=external, username="replicas", access_token="replica-token")))
    media = []
    for i in range(images):
        registered = await cluster.call(lambda s, i=i: s[1].RegisterMedia(
            media_service_pb2.RegisterMediaRequest(url=f"gs://replicas/photo-{i}.jpg")))
        media.append(registered.media.id)
    return account.account.id, media


def _request(platform: int, account_id: str, media_ids: list[str], request_id: str, caption: str = "replicas") -> Any:
    if platform == INSTAGRAM:
        return publishing_service_pb2.PublishInstagramCarouselRequest(
            media_ids=media_ids, instagram_account_id=account_id, request_id=request_id, caption=caption
        )
    return publishing_service_pb2.PublishTikTokCarouselRequest(
        media_ids=media_ids,
            creator_consent_obtained=True, tiktok_account_id=account_id, request_id=request_id, caption=caption
    )


def _publish(publishing: Any, platform: int, request: Any) -> Awaitable[Any]:
    if platform == INSTAGRAM:
        return publishing.PublishInstagramCarousel(request, timeout=90)
    return publishing.PublishTikTokCarousel(request, timeout=90)


def _publish_id(platform: int, response: Any) -> str:
    return response.instagram_publish_id if platform == INSTAGRAM else response.tiktok_publish_id


async def _until(predicate: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Polls `predicate` until it holds; fails after `within` seconds rather than hang."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition was never reached")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "platform, kill_when, fault, expected",
    [
        pytest.param(INSTAGRAM, lambda c: c.get("create_container", 0) >= 3, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-items-created"),
        pytest.param(INSTAGRAM, lambda c: c.get("create_container", 0) >= 4, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-carousel-created"),
        pytest.param(INSTAGRAM, lambda c: c.get("media_publish", 0) >= 1,
                     {"endpoint": "media_publish", "kind": "timeout", "rate": 1.0, "after_serving": True,
                      "stall_seconds": 30},
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-publish-in-flight"),
        pytest.param(TIKTOK, lambda c: c.get("init", 0) >= 1 and c.get("status", 0) >= 1, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="tiktok-processing"),
        pytest.param(TIKTOK, lambda c: c.get("init", 0) >= 1,
                     {"endpoint": "init", "kind": "timeout", "rate": 1.0, "after_serving": True, "stall_seconds": 30},
                     publish_pb2.PUBLISH_STATE_UNCONFIRMED, id="tiktok-init-in-flight"),
    ],
)
async def test_killing_the_owner_at_any_step_leaves_the_publish_to_another_replica(
    cluster: Cluster, platforms: tuple[EmulatorProcess, EmulatorProcess], platform: int, kill_when: Any, fault: Any,
    expected: int,
) -> None:
    instagram, tiktok = platforms
    emulator = instagram if platform == INSTAGRAM else tiktok
    account_id, media_ids = await _prepare(cluster, platform)
    request = _request(platform, account_id, media_ids, str(uuid.uuid4()))
    if fault:
        await emulator.acontrol("POST", "faults", {"seed": 1, "rules": [fault]})
    owner = cluster.replicas[0]
    call = _publish(cluster.stubs(0)[2], platform, request)

    async def reached() -> bool:
        return kill_when(await emulator.acalls())

    await _until(reached)
    owner.kill()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # the connection died with the replica
    if fault:
        await emulator.acontrol("DELETE", "faults")

    # The caller retries with the same request_id on another replica: it waits while the
    # dead owner's lease runs out, the publish is taken over, and answers with its outcome.
    try:
        response = await _publish(cluster.stubs(1)[2], platform, request)
        publish_id = _publish_id(platform, response)
    except grpc.aio.AioRpcError as err:
        assert expected == publish_pb2.PUBLISH_STATE_UNCONFIRMED, err.details()
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        publish_id = rich_error(err).metadata["publish_id"]
    record = await cluster.stubs(2)[2].GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id))
    assert record.publish.state == expected
    posts = await emulator.aposts()
    assert len(posts) == 1, posts
    calls = await emulator.acalls()
    if platform == INSTAGRAM:
        assert record.publish.ig_media_id == posts[0]["id"]
        assert calls.get("media_publish", 0) == 1
    else:
        assert calls.get("init", 0) == 1
    # The timeline shows both runs, in order: the dead replica's steps, then the takeover's.
    types = [event.type for event in record.events]
    assert types[:2] == ["CREATED", "PROCESSING_STARTED"]
    assert types[-1] in ("PERMALINK_READ", "PUBLISHED", "UNCONFIRMED")
    assert [e.sequence for e in record.events] == sorted(e.sequence for e in record.events)


async def test_one_request_id_sent_to_every_replica_at_once_posts_once(
    cluster: Cluster, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> None:
    instagram, _ = platforms
    account_id, media_ids = await _prepare(cluster, INSTAGRAM)
    request = _request(INSTAGRAM, account_id, media_ids, str(uuid.uuid4()))
    responses = await asyncio.gather(*(_publish(cluster.stubs(i)[2], INSTAGRAM, request) for i in range(3)))
    assert len({r.instagram_publish_id for r in responses}) == 1
    assert {r.state for r in responses} == {publish_pb2.PUBLISH_STATE_PUBLISHED}
    assert len(await instagram.aposts()) == 1
    assert (await instagram.acalls()).get("media_publish", 0) == 1
    listed = await cluster.stubs(0)[2].ListPublishes(publishing_service_pb2.ListPublishesRequest())
    assert [p.id for p in listed.publishes] == [responses[0].instagram_publish_id]


async def test_the_same_content_sent_to_two_replicas_at_once_is_published_once(
    cluster: Cluster, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> None:
    instagram, _ = platforms
    account_id, media_ids = await _prepare(cluster, INSTAGRAM)
    request = publishing_service_pb2.PublishInstagramCarouselRequest(
        media_ids=media_ids, instagram_account_id=account_id, caption="no request_id"
    )
    outcomes = await asyncio.gather(
        *(cluster.stubs(i)[2].PublishInstagramCarousel(request, timeout=60) for i in range(2)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(refused) == 1 and refused[0].code() == grpc.StatusCode.ALREADY_EXISTS, outcomes
    assert rich_error(refused[0]).reason == "DUPLICATE_PUBLISH"
    assert len(await instagram.aposts()) == 1


async def test_a_watch_on_one_replica_follows_a_publish_another_replica_drives(
    cluster: Cluster, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> None:
    account_id, media_ids = await _prepare(cluster, INSTAGRAM)
    request = _request(INSTAGRAM, account_id, media_ids, str(uuid.uuid4()))
    call = _publish(cluster.stubs(0)[2], INSTAGRAM, request)
    instagram, _ = platforms
    await _until(lambda: _has_called(instagram, "create_container"))
    listed = await cluster.stubs(1)[2].ListPublishes(publishing_service_pb2.ListPublishesRequest())
    publish_id = listed.publishes[0].id
    seen = []
    async for message in cluster.stubs(2)[2].WatchPublish(publishing_service_pb2.WatchPublishRequest(id=publish_id)):
        seen.extend(event.type for event in message.events)
        last = message.publish
    response = await call
    assert last.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert last.permalink == response.permalink != ""
    assert seen[-1] == "PERMALINK_READ" and "PUBLISH_SENT" in seen


async def _has_called(emulator: EmulatorProcess, endpoint: str) -> bool:
    return (await emulator.acalls()).get(endpoint, 0) > 0


async def test_a_rolling_restart_under_load_loses_no_publish(
    cluster: Cluster, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> None:
    instagram, _ = platforms
    ig_account, media_ids = await _prepare(cluster, INSTAGRAM)
    requests = [_request(INSTAGRAM, ig_account, media_ids, str(uuid.uuid4()), caption=f"rolling {i}")
                for i in range(24)]
    outcomes: dict[str, Any] = {}

    async def publish(request: Any) -> None:
        # A client that retries with the same request_id until a replica answers.
        for _ in range(120):
            try:
                response = await cluster.call(lambda s: _publish(s[2], INSTAGRAM, request))
                outcomes[request.request_id] = response
                return
            except grpc.aio.AioRpcError as err:
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    outcomes[request.request_id] = err
                    return
            await asyncio.sleep(0.2)

    async def roll() -> None:
        for replica in cluster.replicas:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(replica.stop)  # SIGTERM: the grace, then its leases are handed back
            await replica.astart()

    load = [asyncio.create_task(publish(r)) for r in requests]
    await roll()
    await asyncio.gather(*load)
    assert set(outcomes) == {r.request_id for r in requests}
    failures = {k: v for k, v in outcomes.items() if isinstance(v, grpc.aio.AioRpcError)}
    assert not failures, {k: (v.code(), v.details()) for k, v in failures.items()}
    assert {o.state for o in outcomes.values()} == {publish_pb2.PUBLISH_STATE_PUBLISHED}
    stats = await instagram.acontrol("GET", "stats")
    assert stats["posts"] == len(requests) and stats["duplicate_posts"] == 0, stats
