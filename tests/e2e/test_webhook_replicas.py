"""Webhooks across two replicas on one PostgreSQL database: a burst of events, a receiver that
fails its first answers and is slow after; every event is delivered once (one claim per
delivery), never more than the per-webhook pace in flight at once counting both replicas'
attempts, each delivery verified with the standardwebhooks library."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from distribution.v1 import publishing_service_pb2, webhook_service_pb2, webhook_service_pb2_grpc
from standardwebhooks import Webhook as StandardWebhook

from tests.e2e.test_replicas import INSTAGRAM, Cluster, _prepare, _publish, _publish_id, _request, _until, database
from tests.support.processes import EmulatorProcess, ServiceProcess, service_env

__all__ = ["database"]

PACE = 2
FAILING = 6  # the receiver's first answers are 503s


class SlowReceiver:
    """Answers 503 to its first FAILING requests, then 204 after holding each a moment,
    counting the requests in flight at once."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.in_flight = 0
        self.most_in_flight = 0
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
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = await request.read()
            status = 503 if len(self.requests) < FAILING else 204
            await asyncio.sleep(0.05 if status == 503 else 0.15)
            self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body, status))
            return web.Response(status=status)
        finally:
            self.in_flight -= 1

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[SlowReceiver]:
    started = SlowReceiver()
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def cluster(
    tmp_path: Path, database: str, platforms: tuple[EmulatorProcess, EmulatorProcess]
) -> AsyncIterator[Cluster]:
    key = Fernet.generate_key().decode()
    replicas = [
        ServiceProcess(service_env(
            tmp_path / f"replica-{i}", platforms[0].base_url, platforms[1].base_url,
            DISTRIBUTION_DB=database, DISTRIBUTION_SECRET_KEYS=key, DISTRIBUTION_LOG_LEVEL="WARNING",
            DISTRIBUTION_WEBHOOK_ALLOW="127.0.0.0/8", DISTRIBUTION_WEBHOOK_ALLOW_HTTP="true",
            DISTRIBUTION_WEBHOOK_RETRY_SCALE="0.0005", DISTRIBUTION_WEBHOOK_CONCURRENCY_PER_WEBHOOK=str(PACE),
        ), tmp_path / f"replica-{i}" / "service.log")
        for i in range(2)
    ]
    for i in range(2):
        (tmp_path / f"replica-{i}").mkdir()
    running = Cluster(replicas)
    try:
        await running.start()
        yield running
    finally:
        await running.close()


async def test_two_replicas_deliver_each_event_once_paced_per_webhook(cluster: Cluster, receiver: SlowReceiver) -> None:
    hooks = [webhook_service_pb2_grpc.WebhookServiceStub(cluster.channels[i]) for i in range(2)]
    created = await hooks[0].CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
    account, media = await _prepare(cluster, INSTAGRAM, images=2)
    publishing = [cluster.stubs(i)[2] for i in range(2)]
    responses = await asyncio.gather(*(
        _publish(publishing[n % 2], INSTAGRAM, _request(INSTAGRAM, account, media, str(uuid.uuid4()), f"hook {n}"))
        for n in range(4)
    ))
    publish_ids = [_publish_id(INSTAGRAM, r) for r in responses]
    expected = set()
    for publish_id in publish_ids:
        async for _ in publishing[0].WatchPublish(publishing_service_pb2.WatchPublishRequest(id=publish_id)):
            pass
        got = await publishing[1].GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id))
        expected |= {(publish_id, e.sequence) for e in got.events}

    def delivered() -> Counter[str]:
        return Counter(h["webhook-id"] for h, _, status in receiver.requests if status == 204)

    async def all_delivered() -> bool:
        return len(delivered()) >= len(expected)

    await _until(all_delivered, within=90)
    await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
    assert all(count == 1 for count in delivered().values()), "an event was delivered twice"
    library = StandardWebhook(created.secret)
    keys = set()
    for headers, body, status in receiver.requests:
        library.verify(body, headers)  # raises on a bad signature
        if status == 204:
            data = json.loads(body)["data"]
            keys.add((data["publish_id"], data["event"]["sequence"]))
    assert keys == expected
    assert receiver.most_in_flight <= PACE  # both replicas' attempts counted together
    for stub in hooks:  # both replicas see one log
        page = await stub.ListWebhookDeliveries(
            webhook_service_pb2.ListWebhookDeliveriesRequest(webhook_id=created.webhook.id, page_size=1000)
        )
        assert len(page.deliveries) == len(expected)
