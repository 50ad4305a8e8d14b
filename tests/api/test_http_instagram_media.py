"""PublishInstagramMedia over HTTP/JSON (POST /api/v1/publish/instagram/media): camelCase
fields, and a caller's deadline given as X-Server-Timeout, which a Reel's processing may
outlive: the answer comes before it with the publish PROCESSING, and the publish runs on."""

from __future__ import annotations

import pytest

from tests.support.client import INSTAGRAM_USER_ID
from tests.support.http import HttpApi
from tests.support.waiting import eventually

ROUTE = "/api/v1/publish/instagram/media"


@pytest.fixture
async def http(start_service):
    service = await start_service(http_listen="127.0.0.1:0")
    async with HttpApi(service.http.origin) as api:
        yield api


async def setup(http: HttpApi, url: str) -> tuple[str, str]:
    account = await http.post("/api/v1/accounts", {
        "platform": "INSTAGRAM", "externalAccountId": INSTAGRAM_USER_ID, "username": "demo", "accessToken": "t",
    })
    media = await http.post("/api/v1/media", {"url": url})
    assert account.status == 200 and media.status == 200, (account.body, media.body)
    return account.body["account"]["id"], media.body["media"]["id"]


async def test_a_reel_over_http_answers_camel_case_fields(http, instagram_sandbox) -> None:
    account, reel = await setup(http, "gs://demo-bucket/http-reel.mp4")
    reply = await http.post(ROUTE, {"mediaId": reel, "instagramAccountId": account, "caption": "over HTTP",
                                    "thumbOffsetMs": "500", "shareToFeed": True})
    assert reply.status == 200, reply.body
    assert (reply.body["state"], reply.body["kind"]) == ("PUBLISH_STATE_PUBLISHED", "PUBLISH_KIND_REEL")
    assert {"instagramPublishId", "igMediaId", "permalink", "instagramContainerId"} <= set(reply.body)
    extra = instagram_sandbox.container(reply.body["instagramContainerId"])["extra"]
    assert (extra["thumb_offset"], extra["share_to_feed"]) == (500, True)


async def test_x_server_timeout_answers_a_long_reel_processing_before_the_deadline(http, instagram_sandbox) -> None:
    instagram_sandbox.config.reel_processing_delay = 600.0  # ended by the test below
    account, reel = await setup(http, "gs://demo-bucket/http-long.mp4")
    reply = await http.post(ROUTE, {"mediaId": reel, "instagramAccountId": account},
                            headers={"X-Server-Timeout": "1.5"})
    assert reply.status == 200, reply.body
    assert reply.body["state"] == "PUBLISH_STATE_PROCESSING"
    publish_id, container_id = reply.body["instagramPublishId"], reply.body["instagramContainerId"]
    instagram_sandbox.state.containers[container_id].ready_at = 0.0

    async def published() -> bool:
        record = await http.get(f"/api/v1/publishes/{publish_id}")
        return record.body["publish"]["state"] == "PUBLISH_STATE_PUBLISHED"

    await eventually(published, "the Reel to go live after the answer", every=0.05)
    assert len(instagram_sandbox.posts()) == 1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "1e9"])
async def test_a_bad_x_server_timeout_is_a_400_naming_the_header(http, value) -> None:
    reply = await http.post(ROUTE, {"mediaId": "x"}, headers={"X-Server-Timeout": value})
    assert reply.status == 400, reply.body
    assert "X-Server-Timeout" in reply.body["error"]["message"]


async def test_history_filters_by_kind_over_http(http, instagram_sandbox) -> None:
    account, reel = await setup(http, "gs://demo-bucket/http-kind.mp4")
    published = await http.post(ROUTE, {"mediaId": reel, "instagramAccountId": account})
    assert published.status == 200, published.body
    reels = await http.get("/api/v1/publishes?kind=PUBLISH_KIND_REEL")
    assert [p["id"] for p in reels.body["publishes"]] == [published.body["instagramPublishId"]]
    assert reels.body["publishes"][0]["kind"] == "PUBLISH_KIND_REEL"
    carousels = await http.get("/api/v1/publishes?kind=PUBLISH_KIND_CAROUSEL")
    assert carousels.status == 200 and carousels.body.get("publishes", []) == []
