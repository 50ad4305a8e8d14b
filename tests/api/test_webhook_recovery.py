"""Webhooks that survive a bad minute, end to end on a real receiver on loopback, every
delivery verified twice: by docs/events.md's receiver code and by the official Standard Webhooks
library (`standardwebhooks`, what receivers use). A receiver down for seconds under a burst
keeps its webhook and gets every event; over HTTP, the recovery docs/events.md shows: disable, re-enable
with the same secret, redeliver since a time (exactly the events after it), rotate the secret
(both secrets verify during the overlap, only the new one after), the test ping; Retry-After
honoured; the cap per workspace."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from aiohttp import web
from distribution.v1 import publishing_service_pb2, webhook_pb2, webhook_service_pb2, webhook_service_pb2_grpc
from standardwebhooks.webhooks import WebhookVerificationError

from server.services.webhooks import WebhookPolicy
from tests.api.test_webhooks import publish_and_wait, readme_library_verify, readme_verify
from tests.support.client import Stubs
from tests.support.errors import rich_error
from tests.support.http import HttpApi

ALLOW = {"webhook_allow": ("127.0.0.0/8",), "webhook_allow_http": True}
QUICK = WebhookPolicy(retry_scale=0.0005, recheck=0.05, min_interval=0.05)


class Receiver:
    """A receiver on loopback that answers 503 while `down` (with Retry-After when set) and
    204 otherwise, keeping every request and when it came."""

    def __init__(self) -> None:
        self.down = False
        self.retry_after: str | None = None
        self.requests: list[tuple[float, dict[str, str], bytes, int]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = 503 if self.down else 204
        self.requests.append((time.monotonic(), {k.lower(): v for k, v in request.headers.items()}, body, status))
        headers = {"Retry-After": self.retry_after} if self.down and self.retry_after else {}
        return web.Response(status=status, headers=headers)

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for _, h, b, status in self.requests if status == 204]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver()
    await started.start()
    yield started
    await started.stop()


def verifiers(secret: str) -> list[Callable[[dict[str, str], bytes], Any]]:
    """docs/events.md's receiver code and its check with the standardwebhooks library, each raising
    on a bad signature."""
    readme, library = readme_verify(), readme_library_verify()
    return [lambda h, b: readme(secret, h, b), lambda h, b: library(secret, h, b)]


def verified_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when both verifiers accept; False when both refuse (never one without the other)."""
    results = []
    for verify in verifiers(secret):
        try:
            verify(headers, body)
            results.append(True)
        except (ValueError, WebhookVerificationError):
            results.append(False)
    assert results[0] == results[1], "the page's check and the library disagree"
    return results[0]


async def until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "the condition was never reached"
        await asyncio.sleep(0.02)


async def timeline_keys(stubs: Stubs, publish_ids: list[str]) -> set[tuple[str, int]]:
    keys = set()
    for publish_id in publish_ids:
        got = await stubs.publishing.GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id))
        keys |= {(publish_id, e.sequence) for e in got.events}
    return keys


def delivered_keys(receiver: Receiver) -> set[tuple[str, int]]:
    keys = set()
    for _, body in receiver.delivered():
        data = json.loads(body)["data"]
        if "publish_id" in data:
            keys.add((data["publish_id"], data["event"]["sequence"]))
    return keys


async def test_a_receiver_down_for_seconds_under_a_burst_keeps_its_webhook_and_gets_every_event(
    start_service: Any, receiver: Receiver
) -> None:
    service = await start_service(webhooks=QUICK, **ALLOW)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        created = await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
        receiver.down = True
        went_down = time.monotonic()
        publish_ids = await publish_and_wait(stubs, 3)  # the burst, all while the receiver is down
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - went_down)))  # down for two seconds at least
        assert receiver.requests and all(status == 503 for *_, status in receiver.requests)
        receiver.down = False
        expected = await timeline_keys(stubs, publish_ids)
        await until(lambda: delivered_keys(receiver) >= expected)
        assert delivered_keys(receiver) == expected
        for headers, body in receiver.delivered():
            assert verified_by(created.secret, headers, body)
        shown = (await hooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(id=created.webhook.id))).webhook
        assert shown.state == webhook_pb2.WEBHOOK_STATE_ENABLED and shown.enabled
        assert shown.consecutive_failures == 0 and not shown.HasField("failing_since_time")
        page = await hooks.ListWebhookDeliveries(
            webhook_service_pb2.ListWebhookDeliveriesRequest(webhook_id=created.webhook.id, page_size=1000)
        )
        assert {d.state for d in page.deliveries} == {webhook_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED}


async def test_recover_and_rotate_over_http_as_the_docs_show(start_service: Any, receiver: Receiver) -> None:
    overlap = timedelta(seconds=2)
    policy = WebhookPolicy(retry_scale=0.0005, recheck=0.05, min_interval=0.05, secret_overlap=overlap)
    service = await start_service(webhooks=policy, http_listen="127.0.0.1:0", **ALLOW)
    async with HttpApi(service.http.origin) as http, grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        made = await http.post("/api/v1/webhooks", {"url": receiver.url, "description": "recovery"})
        assert made.status == 200, made.body
        hook_id, secret = made.body["webhook"]["id"], made.body["secret"]
        before = await publish_and_wait(stubs, 1)  # delivered as it happens
        delivered_before = await timeline_keys(stubs, before)
        await until(lambda: delivered_keys(receiver) >= delivered_before)
        off = await http.call("PATCH", f"/api/v1/webhooks/{hook_id}", {"enabled": False},
                              params={"updateMask": "enabled"})
        assert off.status == 200 and off.body["webhook"]["state"] == "WEBHOOK_STATE_DISABLED", off.body
        since = datetime.now(UTC)
        missed = await publish_and_wait(stubs, 1)  # while disabled: not queued
        on = await http.call("PATCH", f"/api/v1/webhooks/{hook_id}", {"enabled": True},
                             params={"updateMask": "enabled"})
        assert on.status == 200 and on.body["webhook"]["enabled"] is True, on.body
        await asyncio.sleep(0.3)
        assert not delivered_keys(receiver) & await timeline_keys(stubs, missed)
        count = len(receiver.delivered())
        redo = await http.post(f"/api/v1/webhooks/{hook_id}:redeliver",
                               {"sinceTime": since.isoformat().replace("+00:00", "Z")})
        assert redo.status == 200, redo.body
        expected = await timeline_keys(stubs, missed)
        # Every event since: the publish's, and the account.reconnected of connecting its account again.
        assert redo.body["queuedCount"] == len(expected) + 1
        await until(lambda: len(receiver.delivered()) == count + len(expected) + 1)
        redelivered = receiver.delivered()[count:]
        bodies = [json.loads(b) for _, b in redelivered]
        assert [b["type"] for b in bodies if "publish_id" not in b["data"]] == ["account.reconnected"]
        redelivered_keys = {(d["publish_id"], d["event"]["sequence"]) for d in (b["data"] for b in bodies)
                            if "publish_id" in d}
        assert redelivered_keys == expected and len(redelivered) == len(expected) + 1  # exactly those, once
        assert all(verified_by(secret, h, b) for h, b in redelivered)  # re-enabled: the same secret

        rotated = await http.post(f"/api/v1/webhooks/{hook_id}:rotateSecret", {})
        assert rotated.status == 200, rotated.body
        new = rotated.body["secret"]
        assert new != secret and rotated.body["webhook"]["previousSecretExpireTime"]
        count = len(receiver.delivered())
        await publish_and_wait(stubs, 1)
        await until(lambda: len(receiver.delivered()) > count)
        during = receiver.delivered()[count:]
        assert all(verified_by(secret, h, b) and verified_by(new, h, b) for h, b in during)
        assert all(len(h["webhook-signature"].split()) == 2 for h, _ in during)

        await asyncio.sleep(overlap.total_seconds())
        ping = await http.post(f"/api/v1/webhooks/{hook_id}:sendTestEvent", {})
        assert ping.status == 200 and ping.body["delivered"] is True and ping.body["statusCode"] == 204, ping.body
        assert ping.body["duration"].endswith("s")
        headers, body = receiver.delivered()[-1]
        assert headers["webhook-id"] == ping.body["eventId"]
        assert verified_by(new, headers, body) and not verified_by(secret, headers, body)

        deliveries = await http.get(f"/api/v1/webhooks/{hook_id}/deliveries", params={"pageSize": "1000"})
        states = {d["state"] for d in deliveries.body["deliveries"]}
        assert "WEBHOOK_DELIVERY_STATE_PENDING" not in states
        assert sum(d["redelivery"] for d in deliveries.body["deliveries"]) == len(expected) + 1

        bad = await http.post(f"/api/v1/webhooks/{hook_id}:redeliver", {})
        assert bad.status == 400 and "since_time" in bad.violations, bad.body
        mask = await http.call("PATCH", f"/api/v1/webhooks/{hook_id}", {"url": "x"},
                               params={"updateMask": "url,state"})
        assert mask.status == 400 and set(mask.violations) == {"update_mask.paths[1]", "webhook.url"}, mask.body


async def test_retry_after_from_the_receiver_is_waited(start_service: Any, receiver: Receiver) -> None:
    one_at_a_time = WebhookPolicy(retry_scale=0.0005, recheck=0.05, min_interval=0.05, per_webhook=1)
    service = await start_service(webhooks=one_at_a_time, **ALLOW)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        receiver.down, receiver.retry_after = True, "1"
        await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
        await publish_and_wait(stubs, 1)
        await until(lambda: len(receiver.requests) >= 1)
        receiver.down = False
        await until(lambda: len(receiver.requests) >= 3)
    first = receiver.requests[0][0]
    # the schedule alone would retry within milliseconds; the receiver asked for a second
    assert all(at - first >= 1.0 for at, *_ in receiver.requests[1:])


async def test_webhooks_per_workspace_are_capped_and_the_error_names_the_cap(start_service: Any) -> None:
    service = await start_service(webhooks=WebhookPolicy(per_workspace=2))
    async with grpc.aio.insecure_channel(service.address) as channel:
        hooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
        for n in range(2):
            await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=f"https://hooks.example.com/{n}"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await hooks.CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url="https://hooks.example.com/2"))
    error = rich_error(caught.value)
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (error.reason, error.metadata) == ("WEBHOOK_LIMIT_REACHED", {"limit": "2"})
    assert "has 2 webhooks" in error.message
    # Only deleting a webhook frees it: no RetryInfo, and a QuotaFailure naming the cap.
    assert error.retry_delay_seconds is None
    assert [v[:3] for v in error.quota_violations] == [("workspace:default", "DISTRIBUTION_WEBHOOKS_PER_WORKSPACE", 2)]
