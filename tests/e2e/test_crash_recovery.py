"""A crash (SIGKILL) at each step of both flows, then a restart, ends with exactly one post on
the platform and a terminal record. The platforms live in their own processes and outlive
the service, as they would."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
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

from tests.support.errors import rich_error
from tests.support.processes import ServiceProcess, service_env

TERMINAL = {
    publish_pb2.PUBLISH_STATE_PUBLISHED,
    publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX,
    publish_pb2.PUBLISH_STATE_FAILED,
    publish_pb2.PUBLISH_STATE_UNCONFIRMED,
}


class Client:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)

    async def prepare(self, platform: int, count: int) -> tuple[str, list[str]]:
        account = await self.accounts.ConnectAccount(
            account_service_pb2.ConnectAccountRequest(
                platform=platform,
                external_account_id="17841400000000001" if platform == account_pb2.PLATFORM_INSTAGRAM else "oid",
                username="crash", access_token="crash-token",
            )
        )
        ids = []
        for i in range(count):
            registered = await self.media.RegisterMedia(
                media_service_pb2.RegisterMediaRequest(url=f"gs://crash/photo-{i}.jpg")
            )
            ids.append(registered.media.id)
        return account.account.id, ids

    def publish(self, platform: int, request: Any) -> Any:
        if platform == account_pb2.PLATFORM_INSTAGRAM:
            return self.publishing.PublishInstagramCarousel(request, timeout=60)
        return self.publishing.PublishTikTokCarousel(request, timeout=60)


def make_request(platform: int, account_id: str, media_ids: list[str], request_id: str) -> Any:
    if platform == account_pb2.PLATFORM_INSTAGRAM:
        return publishing_service_pb2.PublishInstagramCarouselRequest(
            media_ids=media_ids, instagram_account_id=account_id, request_id=request_id, caption="crash test"
        )
    return publishing_service_pb2.PublishTikTokCarouselRequest(
        media_ids=media_ids,
            creator_consent_obtained=True, tiktok_account_id=account_id, request_id=request_id, caption="crash test"
    )


KILL_POINT_SECONDS = 30.0  # how long a test waits for the platform calls it kills at


async def until(predicate: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + KILL_POINT_SECONDS
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the kill point was never reached")
        await asyncio.sleep(0.01)


INSTAGRAM, TIKTOK = account_pb2.PLATFORM_INSTAGRAM, account_pb2.PLATFORM_TIKTOK


@pytest.mark.parametrize(
    "platform, kill_when, fault, expected",
    [
        # Instagram, 3 items: while the item containers process...
        pytest.param(INSTAGRAM, lambda c: c.get("create_container", 0) >= 3, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-items-created"),
        # ...while the carousel container processes...
        pytest.param(INSTAGRAM, lambda c: c.get("create_container", 0) >= 4, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-carousel-created"),
        # ...while media_publish is in flight (the post went live, the answer never came)...
        pytest.param(INSTAGRAM, lambda c: c.get("media_publish", 0) >= 1,
                     {"endpoint": "media_publish", "kind": "timeout", "rate": 1.0, "after_serving": True,
                      "stall_seconds": 30},
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-publish-in-flight"),
        # ...and while the permalink is being read, after the post went live.
        pytest.param(INSTAGRAM, lambda c: c.get("media_read", 0) >= 1,
                     {"endpoint": "media_read", "kind": "timeout", "rate": 1.0, "stall_seconds": 30},
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="instagram-permalink-read"),
        # TikTok: while TikTok processes an accepted post...
        pytest.param(TIKTOK, lambda c: c.get("init", 0) >= 1 and c.get("status", 0) >= 1, None,
                     publish_pb2.PUBLISH_STATE_PUBLISHED, id="tiktok-processing"),
        # ...and while init is in flight (accepted, answer lost): never sent again.
        pytest.param(TIKTOK, lambda c: c.get("init", 0) >= 1,
                     {"endpoint": "init", "kind": "timeout", "rate": 1.0, "after_serving": True, "stall_seconds": 30},
                     publish_pb2.PUBLISH_STATE_UNCONFIRMED, id="tiktok-init-in-flight"),
    ],
)
async def test_sigkill_then_restart_posts_exactly_once(tmp_path, platforms, platform, kill_when, fault, expected):
    instagram, tiktok = platforms
    emulator = instagram if platform == INSTAGRAM else tiktok
    settings = service_env(tmp_path, instagram.base_url, tiktok.base_url, DISTRIBUTION_LOG_LEVEL="WARNING")
    first = ServiceProcess(settings, tmp_path / "service.log")
    await first.astart()
    try:
        async with grpc.aio.insecure_channel(first.address) as channel:
            client = Client(channel)
            account_id, media_ids = await client.prepare(platform, 3)
            request = make_request(platform, account_id, media_ids, str(uuid.uuid4()))
            if fault:
                await emulator.acontrol("POST", "faults", {"seed": 1, "rules": [fault]})
            call = client.publish(platform, request)

            async def reached() -> bool:
                return kill_when(await emulator.acalls())

            await until(reached)
            first.kill()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # the connection died with the service
        if fault:
            await emulator.acontrol("DELETE", "faults")
    finally:
        first.kill()

    second = ServiceProcess(settings, tmp_path / "service.log")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            client = Client(channel)
            # The caller retries with the same request_id: it gets the resumed publish's outcome.
            try:
                result = await client.publish(platform, request)
                publish_id = result.instagram_publish_id if platform == INSTAGRAM else result.tiktok_publish_id
            except grpc.aio.AioRpcError as err:
                assert expected == publish_pb2.PUBLISH_STATE_UNCONFIRMED, err.details()
                assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                publish_id = rich_error(err).metadata["publish_id"]
            record = (await client.publishing.GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id)))
            assert record.publish.state == expected
            assert record.publish.state in TERMINAL
            posts = await emulator.aposts()
            assert len(posts) == 1, posts
            if platform == INSTAGRAM:
                assert record.publish.ig_media_id == posts[0]["id"]
                assert (await emulator.acalls()).get("media_publish", 0) == 1
            else:
                assert (await emulator.acalls()).get("init", 0) == 1
                if expected == publish_pb2.PUBLISH_STATE_UNCONFIRMED:
                    assert "init" in record.publish.error.message
    finally:
        second.stop()


FIRST_COMMENT_SECONDS = 60.0  # the reconciler's first look comes DISTRIBUTION_LATE_FACT_DELAY (1 s here) after


@pytest.mark.parametrize(
    "fault, sends",
    [
        # Killed while the comment call stalls before Instagram acted on it: the record says
        # SENDING; the post's comments show it never arrived, so it is sent once more.
        pytest.param({"endpoint": "comment_create", "kind": "timeout", "rate": 1.0, "stall_seconds": 30}, 2,
                     id="before-the-comment-call"),
        # Killed after Instagram posted the comment, before its answer came: found, not resent.
        pytest.param({"endpoint": "comment_create", "kind": "timeout", "rate": 1.0, "after_serving": True,
                      "stall_seconds": 30}, 1, id="after-the-comment-call"),
    ],
)
async def test_sigkill_around_the_first_comment_leaves_exactly_one_comment(tmp_path, platforms, fault, sends):
    instagram, _ = platforms
    settings = service_env(
        tmp_path, instagram.base_url, platforms[1].base_url, DISTRIBUTION_LOG_LEVEL="WARNING",
        DISTRIBUTION_LATE_FACT_DELAY="1",
    )
    first = ServiceProcess(settings, tmp_path / "service.log")
    await first.astart()
    try:
        async with grpc.aio.insecure_channel(first.address) as channel:
            client = Client(channel)
            account_id, media_ids = await client.prepare(INSTAGRAM, 2)
            request = publishing_service_pb2.PublishInstagramCarouselRequest(
                media_ids=media_ids, instagram_account_id=account_id, request_id=str(uuid.uuid4()),
                caption="crash test", first_comment="First comment, once",
            )
            await instagram.acontrol("POST", "faults", {"seed": 1, "rules": [fault]})
            call = client.publish(INSTAGRAM, request)

            async def reached() -> bool:
                return (await instagram.acalls()).get("comment_create", 0) >= 1

            await until(reached)
            first.kill()
            with pytest.raises(grpc.aio.AioRpcError):
                await call
        await instagram.acontrol("DELETE", "faults")
    finally:
        first.kill()

    second = ServiceProcess(settings, tmp_path / "service.log")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            client = Client(channel)
            # The post is live: the retry returns it at once; the comment is the reconciler's.
            result = await client.publish(INSTAGRAM, request)
            assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
            get = publishing_service_pb2.GetPublishRequest(id=result.instagram_publish_id)
            deadline = time.monotonic() + FIRST_COMMENT_SECONDS
            while True:
                record = (await client.publishing.GetPublish(get)).publish
                if record.first_comment.state == publish_pb2.FIRST_COMMENT_STATE_POSTED:
                    break
                assert time.monotonic() < deadline, record.first_comment
                await asyncio.sleep(0.2)
            posts = await instagram.aposts()
            assert len(posts) == 1, posts
            assert [c["text"] for c in posts[0]["comments"]] == ["First comment, once"]
            assert record.first_comment.comment_id == posts[0]["comments"][0]["id"]
            assert record.state == publish_pb2.PUBLISH_STATE_PUBLISHED
            calls = await instagram.acalls()
            assert (calls.get("media_publish", 0), calls.get("comment_create", 0)) == (1, sends)
    finally:
        second.stop()
