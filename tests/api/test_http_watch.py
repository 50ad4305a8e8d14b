"""WatchPublishes over HTTP (`GET /api/v1/publishes:watch`), over a real socket, as a
browser's fetch or EventSource or `curl -N` reads it: 200 and the headers as soon as the
stream has taken its start position (before any event exists), then one event per line of
newline-delimited JSON, or one server-sent event each; resumable with `afterEventId`; errors
before the start are ordinary JSON errors; a client that goes away ends the call."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from tests.support.client import images
from tests.support.http import HttpApi

WATCH = "/api/v1/publishes:watch"
TIKTOK = "/api/v1/publish/tiktok/carousel"
# Long enough for a loaded machine; the headers come at once when the code is right.
WAIT = 20


@pytest.fixture
async def service(start_service):
    return await start_service(http_listen="127.0.0.1:0")


@pytest.fixture
async def http(service):
    async with HttpApi(service.http.origin) as api:
        yield api


async def inbox_publish(http: HttpApi, prefix: str) -> str:
    """A TikTok inbox delivery: a short run with a few events."""
    account = await http.post(
        "/api/v1/accounts",
        {"platform": "TIKTOK", "externalAccountId": "open-id", "username": "demo", "accessToken": "t"},
    )
    media_ids = [(await http.post("/api/v1/media", {"url": url})).body["media"]["id"]
                 for url in images(2, prefix=prefix)]
    reply = await http.post(TIKTOK, {"mediaIds": media_ids, "tiktokAccountId": account.body["account"]["id"],
                                     "postMode": "inbox"})
    assert reply.status == 200, reply.body
    return str(reply.body["tiktokPublishId"])


async def ndjson_until(response: aiohttp.ClientResponse, publish_id: str, state: str) -> list[dict[str, Any]]:
    """The stream's messages up to the one that moves `publish_id` into `state`."""
    messages: list[dict[str, Any]] = []
    while True:
        line = await asyncio.wait_for(response.content.readline(), WAIT)
        assert line, f"the stream ended after {messages}"
        messages.append(json.loads(line))
        last = messages[-1]
        if last["publish"]["id"] == publish_id and last["event"].get("state") == state:
            return messages


async def test_the_headers_come_at_once_then_one_event_per_line(service, http, tiktok_sandbox):
    async with aiohttp.ClientSession() as session:
        # Nothing has happened in the workspace yet: the answer must not wait for an event.
        response = await asyncio.wait_for(session.get(service.http.origin + WATCH), WAIT)
        async with response:
            assert response.status == 200
            assert response.content_type == "application/x-ndjson"
            assert response.headers["Cache-Control"] == "no-cache"
            assert len(response.headers["X-Request-Id"]) == 32
            publish_id = await inbox_publish(http, "gs://demo-bucket/watch-ndjson")
            messages = await ndjson_until(response, publish_id, "PUBLISH_STATE_DELIVERED_TO_INBOX")
    assert messages[0]["event"]["type"] == "CREATED"
    assert {m["publish"]["id"] for m in messages} == {publish_id}
    ids = [m["eventId"] for m in messages]
    assert len(set(ids)) == len(ids)  # opaque ids, each once; the lines are the stream's order
    assert set(messages[0]) == {"eventId", "event", "publish"}
    assert messages[-1]["publish"]["state"] == "PUBLISH_STATE_DELIVERED_TO_INBOX"

    # Resumed after the first event: the same events from the second on, none repeated.
    async with aiohttp.ClientSession() as session, session.get(
        service.http.origin + WATCH, params={"afterEventId": ids[0]}
    ) as resumed:
        assert resumed.status == 200
        again = await ndjson_until(resumed, publish_id, "PUBLISH_STATE_DELIVERED_TO_INBOX")
    assert [m["eventId"] for m in again] == ids[1:]


async def test_server_sent_events_with_filters_as_query_parameters(service, http, tiktok_sandbox):
    async with aiohttp.ClientSession() as session:
        response = await asyncio.wait_for(session.get(
            service.http.origin + WATCH, headers={"Accept": "text/event-stream"},
            params=[("platform", "TIKTOK"), ("states", "DELIVERED_TO_INBOX"), ("states", "FAILED")],
        ), WAIT)
        async with response:
            assert (response.status, response.content_type) == (200, "text/event-stream")
            publish_id = await inbox_publish(http, "gs://demo-bucket/watch-sse")
            line = await asyncio.wait_for(response.content.readline(), WAIT)
            assert line.startswith(b"data: ")
            assert await response.content.readline() == b"\n"  # the event's end
    message = json.loads(line.removeprefix(b"data: "))
    # The filter kept only the event that moved the publish into one of the states.
    assert (message["publish"]["id"], message["event"]["state"]) == (publish_id, "PUBLISH_STATE_DELIVERED_TO_INBOX")


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"afterEventId": "nope"}, 400, "after_event_id"),
        ({"accountId": "not-an-id"}, 400, "account_id"),
        ({"afterEventId": "evt_" + "0" * 16 + "00000000000f4240"}, 400, None),  # OUT_OF_RANGE
    ],
)
async def test_an_error_before_the_stream_starts_is_a_plain_json_error(http, params, status, field):
    reply = await http.get(WATCH, params=params)
    assert reply.status == status, reply.body
    assert reply.error["code"] == status
    if field is not None:
        assert field in reply.violations
    else:
        assert (reply.error["status"], reply.reason) == ("OUT_OF_RANGE", "EVENT_ID_EXPIRED")


async def test_a_client_that_goes_away_ends_the_call(service, caplog):
    caplog.set_level(logging.INFO, logger="distribution.rpc")
    async with aiohttp.ClientSession() as session:
        response = await asyncio.wait_for(session.get(service.http.origin + WATCH), WAIT)
        assert response.status == 200
        response.close()  # the tab is closed: no event ever comes on this quiet workspace
    method = "/distribution.v1.PublishingService/WatchPublishes"
    for _ in range(WAIT * 20):
        if any(getattr(r, "method", "") == method for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    [line] = [r for r in caplog.records if getattr(r, "method", "") == method]
    assert line.code == "CANCELLED"
