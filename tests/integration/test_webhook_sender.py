"""Webhook deliveries over HTTP (server/adapters/webhook_sender.py) against a receiver on
loopback: what one attempt records (the status, why it failed, the Retry-After a 429 or 503
asks for, how long it took), redirects not followed, targets the egress guard refuses never
asked, a receiver that does not answer in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from server.adapters.egress import EgressPolicy
from server.adapters.webhook_sender import HttpWebhookSender, retry_after
from server.domain.webhooks import Attempt
from server.http_server import AppServer

# The receiver is on loopback: allowing it is what lets the sender reach it at all (as a
# deployment would allow a private receiver); plain http is allowed for the same reason.
LOOPBACK = EgressPolicy.parse(["127.0.0.0/8"])


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []  # path, signature header, body
        self.release = asyncio.Event()  # what the /slow path waits for
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.server = AppServer(app)
        self.origin = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append((request.path, request.headers.get("X-Signature", ""), await request.read()))
        if request.path == "/ok":
            return web.Response(status=204)
        if request.path == "/moved":
            return web.Response(status=302, headers={"Location": f"{self.origin}/ok"})
        if request.path == "/slow":
            await self.release.wait()
        if request.path == "/later":
            return web.Response(status=429, headers={"Retry-After": "120"})
        if request.path == "/later-date":
            return web.Response(status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        if request.path == "/gone":
            return web.Response(status=410, headers={"Retry-After": "120"})
        return web.Response(status=503, text="busy")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    receiver.origin = await receiver.server.start()
    yield receiver
    receiver.release.set()
    await receiver.server.stop()


@pytest.fixture
async def sender() -> AsyncIterator[HttpWebhookSender]:
    sender = HttpWebhookSender(LOOPBACK, time_limit=0.5, allow_http=True)
    yield sender
    await sender.close()


async def test_a_2xx_answer_is_a_delivery_and_the_body_and_headers_are_sent(receiver, sender) -> None:
    attempt = await sender.post(f"{receiver.origin}/ok", {"X-Signature": "t=1,v1=abc"}, '{"event":"x"}')
    assert attempt == Attempt(204)
    assert attempt.ok and 0 < attempt.seconds < 0.5
    assert receiver.received == [("/ok", "t=1,v1=abc", b'{"event":"x"}')]


async def test_an_error_status_is_a_failed_attempt_naming_it(receiver, sender) -> None:
    assert await sender.post(f"{receiver.origin}/busy", {}, "{}") == Attempt(503, "HTTP 503")


async def test_retry_after_on_a_429_or_503_is_passed_on_in_seconds(receiver, sender) -> None:
    assert await sender.post(f"{receiver.origin}/later", {}, "{}") == Attempt(429, "HTTP 429", retry_after=120.0)
    # an HTTP date in the past: retry at once
    assert await sender.post(f"{receiver.origin}/later-date", {}, "{}") == Attempt(503, "HTTP 503", retry_after=0.0)
    # other statuses' Retry-After means nothing to a webhook sender
    assert await sender.post(f"{receiver.origin}/gone", {}, "{}") == Attempt(410, "HTTP 410")


async def test_a_redirect_is_not_followed(receiver, sender) -> None:
    attempt = await sender.post(f"{receiver.origin}/moved", {}, "{}")
    assert (attempt, attempt.ok) == (Attempt(302, "HTTP 302"), False)
    assert [path for path, _, _ in receiver.received] == ["/moved"]


async def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(receiver, sender) -> None:
    assert await sender.post(f"{receiver.origin}/slow", {}, "{}") == Attempt(0, "no answer within 0.5 s")


async def test_a_target_the_guard_refuses_is_never_asked(receiver) -> None:
    sender = HttpWebhookSender(EgressPolicy(), time_limit=0.5, allow_http=True)
    try:
        attempt = await sender.post(f"{receiver.origin}/ok", {}, "{}")
        assert sender.url_refusal(f"{receiver.origin}/ok") == "127.0.0.1 is a loopback address"
        assert sender.url_refusal("https://hooks.example.com/in") is None
    finally:
        await sender.close()
    assert attempt == Attempt(0, "refused: 127.0.0.1 is a loopback address")
    assert receiver.received == []


async def test_plain_http_is_refused_unless_allowed(receiver) -> None:
    sender = HttpWebhookSender(LOOPBACK, time_limit=0.5)
    try:
        attempt = await sender.post(f"{receiver.origin}/ok", {}, "{}")
    finally:
        await sender.close()
    assert attempt == Attempt(0, "refused: only https URLs are fetched, not http")
    assert receiver.received == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("", None), (" 7 ", 7.0), ("soon", None), ("-3", None),
     ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0), ("Wed, 21 Oct 2015 07:28:30", 30.0),
     ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0)],
)
def test_retry_after_reads_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, now=1445412480.0) == seconds  # 07:28:00 GMT
