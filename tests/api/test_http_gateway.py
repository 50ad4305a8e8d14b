"""The HTTP/JSON gateway over a real socket: every annotated route, the spec's two example
requests as the spec page writes them, history and the watch stream. Errors, security and
limits: test_http_errors.py."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from distribution.v1 import account_service_pb2, media_service_pb2, publishing_service_pb2

from server.grpc_api.server import SERVICE_NAMES
from server.http_gateway import OPENAPI_FILE
from server.http_gateway.routes import routes_for, service_descriptors, unannotated
from tests.support.client import INSTAGRAM_USER_ID, images
from tests.support.http import HttpApi
from tests.support.processing import LONG, finish_instagram_processing

INSTAGRAM = "/api/v1/publish/instagram/carousel"
TIKTOK = "/api/v1/publish/tiktok/carousel"


@pytest.fixture
async def service(start_service):
    return await start_service(http_listen="127.0.0.1:0")


@pytest.fixture
async def http(service):
    async with HttpApi(service.http.origin) as api:
        yield api


async def connect(http: HttpApi, platform: str = "INSTAGRAM", external: str = INSTAGRAM_USER_ID, token: str = "t"):
    reply = await http.post(
        "/api/v1/accounts",
        {"platform": platform, "externalAccountId": external, "username": "demo", "accessToken": token},
    )
    assert reply.status == 200, reply.body
    return reply.body["account"]["id"]


async def register(http: HttpApi, *urls: str) -> list[str]:
    ids = []
    for url in urls:
        reply = await http.post("/api/v1/media", {"url": url})
        assert reply.status == 200, reply.body
        ids.append(reply.body["media"]["id"])
    return ids


def test_every_rpc_of_the_registered_services_has_an_http_route(service):
    """The lead annotates RPCs other branches add: this fails for any that is left out."""
    registered = service.grpc.calls.methods
    services = service_descriptors(registered)
    missing = set(SERVICE_NAMES) - {s.full_name for s in services}
    assert not missing, f"register {missing} through HandlerRegistry in build_grpc_server, as the others"
    assert unannotated(services) == [], "give these RPCs a google.api.http annotation (AIP-127)"
    assert {r.method for r in routes_for(services)} == set(registered)
    pairs = [(r.verb, r.template) for r in routes_for(services)]
    assert len(pairs) == len(set(pairs)), "two RPCs share a route"


def test_every_rpc_in_the_contract_has_an_http_route():
    files = (account_service_pb2, media_service_pb2, publishing_service_pb2)
    services = [s for f in files for s in f.DESCRIPTOR.services_by_name.values()]
    assert unannotated(services) == []


async def test_the_spec_instagram_request_gets_the_spec_response(http, instagram_sandbox):
    account = await connect(http)
    media_ids = await register(http, *images(4))
    # As the spec page writes it: camelCase parameters, JSON body.
    reply = await http.post(
        INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account, "caption": "Autumn #demo"}
    )
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    assert {"instagramPublishId", "igMediaId", "permalink", "imageCount"} <= set(reply.body)
    post = instagram_sandbox.posts(INSTAGRAM_USER_ID)[0]
    assert reply.body["igMediaId"] == post["id"]
    assert reply.body["permalink"] == post["permalink"]
    assert reply.body["imageCount"] == 4
    assert reply.body["state"] == "PUBLISH_STATE_PUBLISHED"
    assert instagram_sandbox.calls.counts["media_publish"] == 1
    assert post["caption"] == "Autumn #demo"


async def test_the_spec_tiktok_request_with_its_spellings(http, tiktok_sandbox):
    account = await connect(http, "PLATFORM_TIKTOK", "sandbox-open-id", "sandbox-tiktok-token")
    media_ids = await register(http, *images(3))
    reply = await http.post(TIKTOK, {
        "mediaIds": media_ids, "tiktokAccountId": account, "caption": "Autumn",
        "privacyLevel": "PUBLIC_TO_EVERYONE", "postMode": "direct", "coverIndex": 1,
    })
    assert reply.status == 200, reply.body
    # tiktokMediaId is printed although TikTok has not reported the post id yet.
    assert {"tiktokPublishId", "publishId", "tiktokMediaId", "imageCount"} <= set(reply.body)
    assert reply.body["imageCount"] == 3
    assert reply.body["state"] == "PUBLISH_STATE_PUBLISHED"
    assert tiktok_sandbox.calls.counts["init"] == 1
    post = tiktok_sandbox.posts()[0]
    assert post["publish_id"] == reply.body["publishId"]
    assert (post["post_mode"], post["privacy_level"], post["photo_cover_index"]) == (
        "DIRECT_POST", "PUBLIC_TO_EVERYONE", 1
    )

    inbox = await http.post(TIKTOK, {"mediaIds": media_ids[:2], "tiktokAccountId": account, "postMode": "inbox"})
    assert inbox.status == 200, inbox.body
    assert inbox.body["state"] == "PUBLISH_STATE_DELIVERED_TO_INBOX"
    # The contract's own names (and proto field names) are accepted too.
    named = await http.post(TIKTOK, {
        "media_ids": media_ids[:2], "tiktok_account_id": account, "caption": "Again",
        "privacy_level": "PRIVACY_LEVEL_SELF_ONLY", "post_mode": "POST_MODE_DIRECT",
        "creator_consent_obtained": True,
    })
    assert named.status == 200, named.body
    assert tiktok_sandbox.calls.counts["init"] == 3


async def test_accounts_routes(http):
    account = await connect(http)
    got = await http.get(f"/api/v1/accounts/{account}")
    assert got.status == 200
    assert got.body["account"]["externalAccountId"] == INSTAGRAM_USER_ID
    assert "accessToken" not in json.dumps(got.body)
    listed = await http.get("/api/v1/accounts", params={"platform": "INSTAGRAM", "pageSize": "10"})
    assert [a["id"] for a in listed.body["accounts"]] == [account]
    assert (await http.get("/api/v1/accounts", params={"platform": "TIKTOK"})).body["accounts"] == []
    gone = await http.post(f"/api/v1/accounts/{account}:disconnect")
    assert gone.status == 200, gone.body
    assert gone.body["account"]["state"] == "ACCOUNT_STATE_DISCONNECTED"
    assert (await http.get("/api/v1/accounts")).body["accounts"] == []
    shown = await http.get("/api/v1/accounts", params={"showDisconnected": "true"})
    assert [a["id"] for a in shown.body["accounts"]] == [account]


async def test_media_routes(http):
    first, second = await register(http, *images(2))
    got = await http.get(f"/api/v1/media/{first}")
    assert got.status == 200
    assert got.body["media"]["url"] == images(2)[0]
    page = await http.get("/api/v1/media", params={"pageSize": "1"})
    assert [m["id"] for m in page.body["media"]] == [second]
    rest = await http.get("/api/v1/media", params={"pageSize": "1", "pageToken": page.body["nextPageToken"]})
    assert [m["id"] for m in rest.body["media"]] == [first]
    assert rest.body["nextPageToken"] == ""


async def test_history_routes(http):
    account = await connect(http)
    media_ids = await register(http, *images(2))
    published = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account})
    publish_id = published.body["instagramPublishId"]

    got = await http.get(f"/api/v1/publishes/{publish_id}")
    assert got.status == 200
    assert got.body["publish"]["state"] == "PUBLISH_STATE_PUBLISHED"
    assert got.body["publish"]["igMediaId"] == published.body["igMediaId"]
    kinds = [e["type"] for e in got.body["events"]]
    assert kinds[0] == "CREATED" and "PUBLISHED" in kinds

    for query in (
        {"accountId": account},
        {"platform": "INSTAGRAM", "pageSize": "1"},
        {"state": "PUBLISHED"},
        {"createTimeAfter": "2026-01-01T00:00:00Z", "createTimeBefore": "2099-01-01T00:00:00Z"},
    ):
        listed = await http.get("/api/v1/publishes", params=query)
        assert listed.status == 200, (query, listed.body)
        assert [p["id"] for p in listed.body["publishes"]] == [publish_id], query
    none = await http.get("/api/v1/publishes", params={"state": "FAILED"})
    assert none.body == {"publishes": [], "nextPageToken": ""}


async def test_watch_streams_newline_delimited_json_or_server_sent_events(http):
    account = await connect(http)
    media_ids = await register(http, *images(2))
    published = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account})
    publish_id = published.body["instagramPublishId"]

    status, content_type, lines = await http.lines(f"/api/v1/publishes/{publish_id}:watch")
    assert (status, content_type) == (200, "application/x-ndjson")
    messages = [json.loads(line) for line in lines]
    assert messages[-1]["publish"]["state"] == "PUBLISH_STATE_PUBLISHED"
    assert messages[0]["events"][0]["type"].endswith("CREATED")

    status, content_type, lines = await http.lines(
        f"/api/v1/publishes/{publish_id}:watch", headers={"Accept": "text/event-stream"}
    )
    assert (status, content_type) == (200, "text/event-stream")
    data = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert data == messages


async def test_watch_streams_a_running_publish_change_by_change(http, instagram_sandbox):
    instagram_sandbox.config.processing_delay = LONG  # not PUBLISHED until the watch has begun
    account = await connect(http)
    body = {"mediaIds": await register(http, *images(2)), "instagramAccountId": account}
    publishing = asyncio.create_task(http.post(INSTAGRAM, body))
    deadline = asyncio.get_running_loop().time() + 10
    listed: list = []
    while not listed and asyncio.get_running_loop().time() < deadline:  # until the record exists
        listed = (await http.get("/api/v1/publishes")).body["publishes"]
        if not listed:
            await asyncio.sleep(0.02)
    assert listed, "the publish was never recorded"
    messages = []
    async for line in http.each_line(f"/api/v1/publishes/{listed[0]['id']}:watch"):
        messages.append(json.loads(line))
        if len(messages) == 1:  # the current state sent: let the run go on
            instagram_sandbox.config.processing_delay = 0.0
            finish_instagram_processing(instagram_sandbox)
    published = await publishing
    assert len(messages) > 1, messages  # the current state, then each change as it happened
    assert messages[0]["publish"]["state"] != "PUBLISH_STATE_PUBLISHED"
    assert messages[-1]["publish"]["state"] == "PUBLISH_STATE_PUBLISHED"
    assert messages[-1]["publish"]["igMediaId"] == published.body["igMediaId"]
    events = [e["sequence"] for m in messages for e in m["events"]]
    assert events == sorted(events, key=int) and len(events) == len(set(events))


async def test_watch_of_an_unknown_publish_is_a_plain_404(http):
    reply = await http.get("/api/v1/publishes/9b2f8c1e-0000-4000-8000-000000000000:watch")
    assert reply.status == 404
    assert reply.error["status"] == "NOT_FOUND"


async def test_the_openapi_document_is_served(http):
    reply = await http.get("/api/v1/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.body == json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert INSTAGRAM in reply.body["paths"]


async def test_a_schedule_is_moved_then_cancelled_over_http(http, instagram_sandbox):
    account = await connect(http)
    media_ids = await register(http, *images(2))
    scheduled = await http.post(
        INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account, "publishTime": "2099-01-01T00:00:00Z"}
    )
    # Beyond the horizon: the time rule's field violation arrives as JSON over HTTP too.
    assert scheduled.status == 400, scheduled.body
    assert "publish_time" in scheduled.violations

    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = await http.post(INSTAGRAM, {"mediaIds": media_ids, "instagramAccountId": account, "publishTime": later})
    assert scheduled.status == 200, scheduled.body
    assert scheduled.body["state"] == "PUBLISH_STATE_SCHEDULED"
    publish_id = scheduled.body["instagramPublishId"]

    moved_to = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    moved = await http.post(f"/api/v1/publishes/{publish_id}:reschedule", {"publishTime": moved_to})
    assert moved.status == 200, moved.body
    assert moved.body["publish"]["scheduleTime"] == moved_to

    cancelled = await http.post(f"/api/v1/publishes/{publish_id}:cancel", {})
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["publish"]["state"] == "PUBLISH_STATE_CANCELLED"
    again = await http.post(f"/api/v1/publishes/{publish_id}:reschedule", {"publishTime": moved_to})
    assert again.status == 400, again.body  # FAILED_PRECONDITION maps to 400
    assert again.reason == "PUBLISH_NOT_SCHEDULED"
    assert instagram_sandbox.calls.total() == 0  # scheduled, moved and cancelled: nothing reached Instagram


async def test_webhook_routes(http):
    listed = await http.get("/api/v1/webhooks")
    assert listed.status == 200, listed.body
    assert listed.body["webhooks"] == []
    # The egress guard answers over HTTP as over gRPC: a loopback receiver is refused by default.
    refused = await http.post("/api/v1/webhooks", {"url": "https://127.0.0.1:9/hook"})
    assert refused.status == 400, refused.body
    assert "url" in refused.violations
    missing = await http.get("/api/v1/webhooks/00000000-0000-4000-8000-000000000000")
    assert missing.status == 404, missing.body
