"""Signed webhooks over gRPC, delivered to a real receiver on loopback: every signature
verified by the receiver example of docs/events.md, a receiver failing half the time still gets every
event, private targets refused unless allowed, and the secret never in a log or a response."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from distribution.v1 import webhook_pb2, webhook_service_pb2, webhook_service_pb2_grpc
from distribution.v1.publishing_service_pb2 import (
    GetPublishRequest,
    PublishInstagramCarouselRequest,
    WatchPublishRequest,
)

from server.services.webhooks import WebhookPolicy
from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error
from tests.support.paths import ROOT

FAST = WebhookPolicy(retry_scale=0.0002, recheck=0.05)


def docs_block(marker: str) -> dict[str, Any]:
    """The names a Python block of docs/events.md defines, run as written."""
    text = (ROOT / "docs" / "events.md").read_text()
    block = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", text, re.S)
    assert block is not None, f"docs/events.md lost its {marker} block"
    scope: dict[str, Any] = {"__name__": "docs"}
    exec(block.group(1), scope)
    return scope


def readme_verify() -> Callable[[str, dict[str, str], bytes], dict[str, Any]]:
    """The receiver example's check from docs/events.md."""
    return docs_block("webhook-receiver-example")["verify"]  # type: ignore[no-any-return]


def readme_library_verify() -> Callable[[str, dict[str, str], bytes], dict[str, Any]]:
    """docs/events.md's check with the official standardwebhooks library."""
    return docs_block("webhook-library-example")["verify_with_library"]  # type: ignore[no-any-return]


class Receiver:
    """An aiohttp receiver on loopback that fails `failure_rate` of the requests (503)."""

    def __init__(self, failure_rate: float = 0.0, seed: int = 1) -> None:
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = 503 if self.rng.random() < self.failure_rate else 204
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body, status))
        return web.Response(status=status)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver(failure_rate=0.5, seed=7)
    await started.start()
    yield started
    await started.stop()


async def publish_and_wait(stubs: Stubs, count: int = 1) -> list[str]:
    account = await connect(stubs.accounts)
    ids = []
    for n in range(count):
        response = await stubs.publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(
            media_ids=await register(stubs.media, *images(2, prefix=f"gs://demo-bucket/hook-{n}")),
            instagram_account_id=account.id, caption=f"hook {n}",
        ))
        ids.append(response.instagram_publish_id)
        async for _ in stubs.publishing.WatchPublish(WatchPublishRequest(id=response.instagram_publish_id)):
            pass  # until its run is over: every event is written
    return ids


async def test_a_receiver_failing_half_the_time_gets_every_event_signed_and_the_secret_stays_secret(
    start_service: Any, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = await start_service(
        webhooks=FAST, webhook_allow=("127.0.0.0/8",), webhook_allow_http=True,
    )
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        created = await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
        secret = created.secret
        assert secret.startswith("whsec_")
        publish_ids = await publish_and_wait(stubs, 2)
        verify = readme_verify()

        def delivered() -> dict[str, dict[str, Any]]:
            events = {}
            for headers, body, status in receiver.requests:
                event = verify(secret, headers, body)  # raises on a bad signature
                assert event["data"]["event_id"] == headers["webhook-id"]
                if status == 204:
                    events[headers["webhook-id"]] = event
            return events

        timelines = [
            (await stubs.publishing.GetPublish(_get(p))).events for p in publish_ids
        ]
        total = sum(len(t) for t in timelines)
        for _ in range(600):
            if len(delivered()) >= total:
                break
            await asyncio.sleep(0.05)
        events = delivered()
        assert len(events) == total
        assert {e["data"]["publish_id"] for e in events.values()} == set(publish_ids)
        assert any(status == 503 for _, _, status in receiver.requests)  # it did fail, and was retried
        ids = [h["webhook-id"] for h, _, _ in receiver.requests]
        assert len(ids) > len(set(ids))  # retries repeat the id: de-duplicatable

        page = await hooks.ListWebhookDeliveries(
            webhook_service_pb2.ListWebhookDeliveriesRequest(webhook_id=created.webhook.id, page_size=1000)
        )
        assert len(page.deliveries) == total
        assert {d.state for d in page.deliveries} == {webhook_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED}
        retried = [d for d in page.deliveries if d.attempts > 1]
        assert retried and all(d.last_status_code == 204 for d in page.deliveries)

        shown = await hooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(id=created.webhook.id))
        listed = await hooks.ListWebhooks(webhook_service_pb2.ListWebhooksRequest())
        for message in (shown, listed, page):
            assert secret not in str(message) and secret.removeprefix("whsec_") not in str(message)
    key = secret.removeprefix("whsec_")
    assert key not in caplog.text
    assert any(r.getMessage() == "webhook delivery attempt failed" for r in caplog.records)


def _get(publish_id: str) -> GetPublishRequest:
    return GetPublishRequest(id=publish_id)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://localhost/hook",
        "https://[::1]/hook",
        "http://hooks.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
    ],
)
async def test_private_and_insecure_urls_are_refused_naming_the_field(service: Any, url: str) -> None:
    async with grpc.aio.insecure_channel(service.address) as channel:
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=url, event_kinds=[7]))
    error = rich_error(caught.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(error.violations) == ["url", "event_kinds[0]"]


async def test_a_private_receiver_is_reached_only_when_allowed(
    start_service: Any, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.failure_rate = 0.0
    allowed = await start_service(webhooks=FAST, webhook_allow=("127.0.0.0/8",), webhook_allow_http=True)
    async with grpc.aio.insecure_channel(allowed.address) as channel:
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        created = await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
        await hooks.DeleteWebhook(webhook_service_pb2.DeleteWebhookRequest(id=created.webhook.id))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await hooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(id=created.webhook.id))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    refused = await start_service(webhooks=FAST, webhook_allow_http=True, db_path=tmp_path / "other.db")
    async with grpc.aio.insecure_channel(refused.address) as channel:
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
        assert "loopback" in rich_error(caught.value).violations["url"]
    assert receiver.requests == []
