"""The Instagram Graph API emulator, exercised over real loopback HTTP."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from tests.support.processing import LONG, finish_instagram_processing

USER = "17841405822304914"
OTHER_USER = "17841400000000001"
TOKEN = "sandbox-token"
GOOD_URL = "https://cdn.example.com/carousel/photo-1080x1350.jpg"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Graph:
    """A tiny Graph API client: returns (HTTP status, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None = TOKEN):
        self.session = session
        self.base = base
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.session.get(
            f"{self.base}/{path}", params=params, headers=self._headers()
        ) as resp:
            return resp.status, await resp.json()

    async def post(self, path: str, *, as_json: bool = False, **params: Any) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"json": params} if as_json else {"data": params}
        async with self.session.post(
            f"{self.base}/{path}", headers=self._headers(), **kwargs
        ) as resp:
            return resp.status, await resp.json()

    async def child(self, url: str = GOOD_URL, user: str = USER) -> str:
        status, body = await self.post(f"{user}/media", image_url=url, is_carousel_item="true")
        assert status == 200, body
        return body["id"]

    async def carousel(self, children: list[str], user: str = USER, **extra: Any) -> str:
        status, body = await self.post(
            f"{user}/media", media_type="CAROUSEL", children=",".join(children), **extra
        )
        assert status == 200, body
        return body["id"]

    async def published_carousel(self, user: str = USER, caption: str = "hi") -> str:
        children = [await self.child(user=user), await self.child(user=user)]
        carousel = await self.carousel(children, user=user, caption=caption)
        status, body = await self.post(f"{user}/media_publish", creation_id=carousel)
        assert status == 200, body
        return body["id"]

    async def status_code(self, container_id: str) -> str:
        status, body = await self.get(container_id, fields="status_code,status")
        assert status == 200, body
        return body["status_code"]


def assert_graph_error(
    status: int, body: Any, code: int, subcode: int | None = None, http: int = 400
) -> dict[str, Any]:
    assert status == http, body
    error = body["error"]
    assert error["code"] == code, error
    assert error.get("error_subcode") == subcode, error
    assert error["type"] == "OAuthException"
    assert isinstance(error["is_transient"], bool)
    assert re.fullmatch(r"[A-Za-z0-9_-]{11}", error["fbtrace_id"])
    return error


@pytest.fixture
def sandbox() -> InstagramSandbox:
    return InstagramSandbox(InstagramSandboxConfig(processing_delay=0.0, reel_processing_delay=0.0))


@pytest.fixture
async def base_url(sandbox: InstagramSandbox) -> AsyncIterator[str]:
    url = await sandbox.start()
    try:
        yield url
    finally:
        await sandbox.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def graph(base_url: str, session: aiohttp.ClientSession) -> Graph:
    return Graph(session, base_url)


# --- happy path ------------------------------------------------------------------------------


async def test_carousel_happy_path(sandbox: InstagramSandbox, graph: Graph) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v23\.0", graph.base)
    sandbox.config.processing_delay = LONG
    children = [await graph.child(), await graph.child(GOOD_URL.replace(".jpg", ".jpeg"))]
    assert all(re.fullmatch(r"[0-9]{17}", c) for c in children)
    status, body = await graph.get(children[0], fields="status_code,status")
    assert (status, body["status_code"]) == (200, "IN_PROGRESS")
    assert set(body) == {"status_code", "status", "id"} and body["id"] == children[0]
    finish_instagram_processing(sandbox, *children)
    status, body = await graph.get(children[0], fields="status_code,status")
    assert body == {
        "status_code": "FINISHED",
        "status": "Finished: Media has been uploaded and it is ready to be published.",
        "id": children[0],
    }

    carousel = await graph.carousel(children, caption="Fruit #candies @friend")
    assert await graph.status_code(carousel) == "IN_PROGRESS"
    finish_instagram_processing(sandbox, carousel)
    assert await graph.status_code(carousel) == "FINISHED"

    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert status == 200, body
    media_id = body["id"]
    assert re.fullmatch(r"[0-9]{17}", media_id) and set(body) == {"id"}
    assert await graph.status_code(carousel) == "PUBLISHED"

    fields = (
        "id,media_type,media_product_type,permalink,shortcode,timestamp,caption,username,children"
    )
    status, media = await graph.get(media_id, fields=fields)
    assert status == 200, media
    assert media["id"] == media_id
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert media["media_product_type"] == "FEED"
    assert re.fullmatch(r"[A-Za-z0-9_-]{11}", media["shortcode"])
    assert media["permalink"] == f"https://www.instagram.com/p/{media['shortcode']}/"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", media["timestamp"])
    assert media["caption"] == "Fruit #candies @friend"
    assert media["username"] == f"sandbox_{USER}"
    assert len(media["children"]["data"]) == 2

    status, listing = await graph.get(f"{USER}/media", fields="id,permalink,timestamp")
    assert status == 200
    assert [m["id"] for m in listing["data"]] == [media_id]
    assert listing["data"][0]["permalink"] == media["permalink"]

    [post] = sandbox.posts(USER)
    assert post["id"] == media_id and post["creation_id"] == carousel
    assert post["children"] == children and post["media_type"] == "CAROUSEL_ALBUM"
    assert post["permalink"] == media["permalink"] and post["ig_user_id"] == USER
    assert sandbox.posts(OTHER_USER) == []
    assert sandbox.container(carousel)["status_code"] == "PUBLISHED"  # type: ignore[index]
    assert sandbox.container(children[0])["is_carousel_item"] is True  # type: ignore[index]
    assert sandbox.container("123") is None
    counts = sandbox.calls.counts
    assert counts["create_container"] == 3
    assert counts["container_status"] == 5
    assert counts["media_publish"] == 1
    assert counts["media_read"] == 1
    assert counts["media_list"] == 1


async def test_single_image_post(sandbox: InstagramSandbox, graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media", image_url=GOOD_URL, caption="single")
    assert status == 200
    status, body = await graph.post(f"{USER}/media_publish", creation_id=body["id"])
    assert status == 200, body
    status, media = await graph.get(body["id"], fields="media_type,media_url")
    assert media == {"media_type": "IMAGE", "media_url": GOOD_URL, "id": body["id"]}


async def test_nested_children_fields(graph: Graph) -> None:
    media_id = await graph.published_carousel()
    status, body = await graph.get(media_id, fields="children{id,media_type,media_url}")
    assert status == 200, body
    assert [c["media_type"] for c in body["children"]["data"]] == ["IMAGE", "IMAGE"]
    assert all(c["media_url"] == GOOD_URL for c in body["children"]["data"])


@pytest.mark.parametrize("style", ["query", "form", "json", "json-array", "access_token"])
async def test_parameter_styles(
    sandbox: InstagramSandbox, session: aiohttp.ClientSession, graph: Graph, style: str
) -> None:
    children = [await graph.child(), await graph.child()]
    url = f"{graph.base}/{USER}/media"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    params = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": "x"}
    if style == "query":
        request = session.post(url, params=params, headers=auth)
    elif style == "form":
        request = session.post(url, data=params, headers=auth)
    elif style == "json":
        request = session.post(url, json=params, headers=auth)
    elif style == "json-array":
        request = session.post(url, json={**params, "children": children}, headers=auth)
    else:
        request = session.post(url, data={**params, "access_token": TOKEN})
    async with request as resp:
        assert resp.status == 200, await resp.text()
        carousel = (await resp.json())["id"]
    assert sandbox.container(carousel)["children"] == children  # type: ignore[index]

    status, body = await graph.post(
        f"{USER}/media", as_json=True, image_url=GOOD_URL, is_carousel_item=True
    )
    assert status == 200
    assert sandbox.container(body["id"])["is_carousel_item"] is True  # type: ignore[index]


# --- container errors ------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 11])
async def test_carousel_child_count_out_of_range(graph: Graph, count: int) -> None:
    children = [await graph.child() for _ in range(count)]
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=",".join(children)
    )
    error = assert_graph_error(status, body, 100, 2207028)
    assert error["message"] == (
        "Carousels need at least 2 photos/videos and no more than 10 photos/videos."
    )


async def test_ten_children_are_fine(graph: Graph) -> None:
    await graph.carousel([await graph.child() for _ in range(10)])


async def test_unknown_or_foreign_child(graph: Graph) -> None:
    mine = await graph.child()
    theirs = await graph.child(user=OTHER_USER)
    for bad in ("17000000000000000", theirs):
        status, body = await graph.post(
            f"{USER}/media", media_type="CAROUSEL", children=f"{mine},{bad}"
        )
        error = assert_graph_error(status, body, 24, 2207006)
        assert bad in error["message"]


async def test_child_not_ready(sandbox: InstagramSandbox, graph: Graph) -> None:
    ready = await graph.child()
    sandbox.config.processing_delay = 30
    slow = await graph.child()
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=f"{ready},{slow}"
    )
    error = assert_graph_error(status, body, 9007, 2207027)
    assert error["message"] == "Media ID is not available"
    assert error["error_user_msg"] == (
        "The media is not ready to be published. Please wait a moment."
    )


async def test_non_item_child_refused(graph: Graph) -> None:
    status, single = await graph.post(f"{USER}/media", image_url=GOOD_URL)
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=f"{await graph.child()},{single['id']}"
    )
    assert_graph_error(status, body, 100)


async def test_caption_on_carousel_item_refused(graph: Graph) -> None:
    status, body = await graph.post(
        f"{USER}/media", image_url=GOOD_URL, is_carousel_item="true", caption="nope"
    )
    error = assert_graph_error(status, body, 100)
    assert "caption" in error["message"]


@pytest.mark.parametrize(
    ("caption", "code", "subcode"),
    [
        ("x" * 2201, 36004, 2207010),
        (" ".join(f"#tag{i}" for i in range(31)), 36004, 2207010),
        (" ".join(f"@user{i}" for i in range(21)), 100, 2207040),
    ],
)
async def test_caption_limits(graph: Graph, caption: str, code: int, subcode: int) -> None:
    children = [await graph.child(), await graph.child()]
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=",".join(children), caption=caption
    )
    assert_graph_error(status, body, code, subcode)


async def test_caption_at_the_limits_is_fine(graph: Graph) -> None:
    children = [await graph.child(), await graph.child()]
    caption = " ".join([f"#t{i}" for i in range(30)] + [f"@u{i}" for i in range(20)])
    await graph.carousel(children, caption=caption + " mail@example.com")
    await graph.carousel(children, caption="y" * 2200)


async def test_missing_image_url_and_unknown_media_type(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media", is_carousel_item="true")
    assert_graph_error(status, body, 100)
    status, body = await graph.post(f"{USER}/media", media_type="STORIES", image_url=GOOD_URL)
    assert_graph_error(status, body, 100, 2207023)


@pytest.mark.parametrize(
    ("url", "subcode"),
    [
        ("ftp://cdn.example.com/a.jpg", 2207052),
        ("https://images.invalid/a.jpg", 2207052),
        ("https://cdn.example.com/unreachable/a.jpg", 2207052),
        ("http://localhost:9/Unreachable.jpg", 2207052),
        ("https://cdn.example.com/a.gif", 2207005),
        # JPEG is the only format Instagram takes: PNG and WebP too are refused, by their bytes.
        ("https://cdn.example.com/a.png", 2207005),
        ("https://cdn.example.com/a.webp", 2207005),
        ("https://cdn.example.com/a-as-png.jpg", 2207005),
        # Not an image at all: 9004 "Only photo or video can be accepted as media type".
        ("https://cdn.example.com/a", 2207052),
        ("https://cdn.example.com/a-9mib.jpg", 2207004),
        ("https://cdn.example.com/photo-2000x500.jpg", 2207009),
        ("https://cdn.example.com/photo-500x1000.jpeg", 2207009),
    ],
)
async def test_unfetchable_images_end_in_error(
    sandbox: InstagramSandbox, graph: Graph, url: str, subcode: int
) -> None:
    sandbox.config.processing_delay = LONG
    child = await graph.child(url)
    assert await graph.status_code(child) == "IN_PROGRESS"
    finish_instagram_processing(sandbox, child)
    status, body = await graph.get(child, fields="status_code,status")
    assert body["status_code"] == "ERROR"
    assert body["status"] == f"Error: Media upload has failed with error code {subcode}"
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=f"{child},{await graph.child()}"
    )
    assert_graph_error(status, body, 9007, 2207027)


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/a.JPG?sig=abc",
        "http://cdn.example.com/square-1080x1080.jpg",
        "https://cdn.example.com/photo-8mb.jpg",
        "https://cdn.example.com/p-1080x1350.jpg",
        "https://cdn.example.com/p-1910x1000.jpeg",
    ],
)
async def test_fetchable_images_finish(graph: Graph, url: str) -> None:
    assert await graph.status_code(await graph.child(url)) == "FINISHED"


async def test_container_quota(sandbox: InstagramSandbox, graph: Graph) -> None:
    sandbox.config.container_quota = 2
    await graph.child()
    await graph.child()
    status, body = await graph.post(f"{USER}/media", image_url=GOOD_URL, is_carousel_item="true")
    error = assert_graph_error(status, body, 4)
    assert error["is_transient"] is True
    await graph.child(user=OTHER_USER)


# --- publish errors --------------------------------------------------------------------------


async def test_publish_before_finished(sandbox: InstagramSandbox, graph: Graph) -> None:
    children = [await graph.child(), await graph.child()]
    sandbox.config.processing_delay = 30
    carousel = await graph.carousel(children)
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert_graph_error(status, body, 9007, 2207027)
    assert sandbox.posts() == []


async def test_publish_error_container(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media", image_url="https://x.invalid/a.jpg")
    status, body = await graph.post(f"{USER}/media_publish", creation_id=body["id"])
    assert_graph_error(status, body, 9007, 2207027)


async def test_expired_container(sandbox: InstagramSandbox, graph: Graph) -> None:
    children = [await graph.child(), await graph.child()]
    carousel = await graph.carousel(children)
    # Expiry is read at each call (created + ttl): a ttl of 0 makes every container old
    # enough now, without a sleep racing the calls above on a loaded machine.
    sandbox.config.container_ttl = 0.0
    assert await graph.status_code(carousel) == "EXPIRED"
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    error = assert_graph_error(status, body, -2, 2207020)
    assert error["message"] == "The media you are trying to access has expired"


async def test_publish_twice_refused(sandbox: InstagramSandbox, graph: Graph) -> None:
    children = [await graph.child(), await graph.child()]
    carousel = await graph.carousel(children)
    status, first = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert status == 200
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    error = assert_graph_error(status, body, 100)
    assert error["message"] == "The container has already been published"
    assert [p["id"] for p in sandbox.posts()] == [first["id"]]
    # Children are consumed by the publish.
    status, body = await graph.post(
        f"{USER}/media", media_type="CAROUSEL", children=",".join(children)
    )
    assert_graph_error(status, body, 9007, 2207027)


async def test_publish_child_alone_refused(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media_publish", creation_id=await graph.child())
    assert_graph_error(status, body, 100)


async def test_publish_unknown_foreign_or_missing_creation_id(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media_publish", creation_id="17000000000000001")
    assert_graph_error(status, body, 24, 2207008)
    children = [await graph.child(GOOD_URL, OTHER_USER) for _ in range(2)]
    theirs = await graph.carousel(children, user=OTHER_USER)
    status, body = await graph.post(f"{USER}/media_publish", creation_id=theirs)
    assert_graph_error(status, body, 24, 2207006)
    status, body = await graph.post(f"{USER}/media_publish")
    assert_graph_error(status, body, 100)


async def test_publish_quota(sandbox: InstagramSandbox, graph: Graph) -> None:
    sandbox.config.publish_quota = 2
    await graph.published_carousel()
    await graph.published_carousel()
    status, body = await graph.get(f"{USER}/content_publishing_limit", fields="quota_usage,config")
    config = {"quota_total": 2, "quota_duration": 86400}
    assert body == {"data": [{"quota_usage": 2, "config": config}]}
    carousel = await graph.carousel([await graph.child(), await graph.child()])
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    error = assert_graph_error(status, body, 9, 2207042)
    assert error["message"].startswith("You reached maximum number of posts")
    assert len(sandbox.posts()) == 2
    await graph.published_carousel(user=OTHER_USER)  # the quota is per IG user


async def test_content_publishing_limit_default_fields(
    sandbox: InstagramSandbox, graph: Graph
) -> None:
    status, body = await graph.get(f"{USER}/content_publishing_limit")
    assert (status, body) == (200, {"data": [{"quota_usage": 0}]})
    await graph.published_carousel()
    status, body = await graph.get(f"{USER}/content_publishing_limit", since="1700000000")
    assert body == {"data": [{"quota_usage": 1}]}
    status, body = await graph.get(f"{USER}/content_publishing_limit", since=str(2**40))
    assert body == {"data": [{"quota_usage": 0}]}
    status, body = await graph.get(f"{USER}/content_publishing_limit", fields="quota_total")
    assert_graph_error(status, body, 100)
    assert sandbox.calls.counts["publishing_limit"] == 4


# --- tokens and scripted failures ------------------------------------------------------------


async def test_tokens(
    sandbox: InstagramSandbox, session: aiohttp.ClientSession, graph: Graph
) -> None:
    anonymous = Graph(session, graph.base, token=None)
    status, body = await anonymous.post(f"{USER}/media", image_url=GOOD_URL)
    error = assert_graph_error(status, body, 190)
    assert error["message"].startswith("An active access token must be used")

    sandbox.revoke_token(TOKEN)
    status, body = await graph.post(f"{USER}/media", image_url=GOOD_URL)
    error = assert_graph_error(status, body, 190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired")
    status, body = await graph.get(f"{USER}/content_publishing_limit", access_token=TOKEN)
    assert_graph_error(status, body, 190, 463)

    other = Graph(session, graph.base, token="another-token")
    status, body = await other.post(f"{USER}/media", image_url=GOOD_URL)
    assert status == 200
    assert sandbox.calls.counts["create_container"] == 3  # refused calls are counted too


async def test_fail_media_reads(sandbox: InstagramSandbox, graph: Graph) -> None:
    media_id = await graph.published_carousel()
    sandbox.fail_media_reads(2)
    for _ in range(2):
        status, body = await graph.get(media_id, fields="id,permalink")
        error = assert_graph_error(status, body, 100, 33)
        assert error["message"].startswith(f"Unsupported get request. Object with ID '{media_id}'")
        assert error["is_transient"] is False
    # Container reads and listings still work during the incident.
    carousel = sandbox.posts()[0]["creation_id"]
    assert await graph.status_code(carousel) == "PUBLISHED"
    status, body = await graph.get(media_id, fields="id,permalink")
    assert status == 200 and body["permalink"].startswith("https://www.instagram.com/p/")
    assert sandbox.calls.counts["media_read"] == 3


async def test_fail_next(sandbox: InstagramSandbox, graph: Graph) -> None:
    carousel = await graph.carousel([await graph.child(), await graph.child()])
    sandbox.fail_next(
        "media_publish",
        status=500,
        code=2,
        message="Service temporarily unavailable",
        is_transient=True,
    )
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    error = assert_graph_error(status, body, 2, http=500)
    assert error["message"] == "Service temporarily unavailable" and error["is_transient"]
    assert sandbox.posts() == [] and await graph.status_code(carousel) == "FINISHED"
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert status == 200
    assert sandbox.calls.counts["media_publish"] == 2

    sandbox.fail_next("container_status", status=400, code=1, subcode=99, count=2)
    for _ in range(2):
        status, body = await graph.get(carousel, fields="status_code")
        assert_graph_error(status, body, 1, 99)
    assert await graph.status_code(carousel) == "PUBLISHED"

    with pytest.raises(ValueError):
        sandbox.fail_next("nope", status=400, code=1)


async def test_fail_next_after_serving(sandbox: InstagramSandbox, graph: Graph) -> None:
    """The publish goes live although the client sees an error (the duplicate trap)."""
    carousel = await graph.carousel([await graph.child(), await graph.child()])
    sandbox.fail_next("media_publish", status=400, code=4, subcode=2207051, after_serving=True)
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert_graph_error(status, body, 4, 2207051)
    assert len(sandbox.posts()) == 1
    assert await graph.status_code(carousel) == "PUBLISHED"
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert_graph_error(status, body, 100)
    status, body = await graph.get(f"{USER}/media", fields="id")
    assert [m["id"] for m in body["data"]] == [sandbox.posts()[0]["id"]]


# --- reads -----------------------------------------------------------------------------------


async def test_multi_id_read(sandbox: InstagramSandbox, graph: Graph) -> None:
    a, b = await graph.child(), await graph.child()
    status, body = await graph.get("", ids=f"{a},{b}", fields="status_code,status")
    assert status == 200, body
    assert set(body) == {a, b}
    assert body[a]["status_code"] == "FINISHED" and body[a]["id"] == a
    assert set(body[b]) == {"status_code", "status", "id"}
    assert sandbox.calls.counts["batch_status"] == 1

    status, body = await graph.get("", ids=f"{a},17000000000000009", fields="status_code")
    error = assert_graph_error(status, body, 100)
    assert "17000000000000009" in error["message"]
    ids = ",".join([a] * 10 + [f"1700000000000{i:04d}" for i in range(41)])
    status, body = await graph.get("", ids=ids, fields="status_code")
    assert_graph_error(status, body, 100)
    status, body = await graph.get("", fields="status_code")
    assert_graph_error(status, body, 100)
    assert sandbox.calls.counts["batch_status"] == 4


async def test_container_read_fields(graph: Graph) -> None:
    child = await graph.child()
    status, body = await graph.get(child, fields="status_code")
    assert body == {"status_code": "FINISHED", "id": child}
    status, body = await graph.get(child)
    assert body == {"id": child}
    status, body = await graph.get(child, fields="status_code,permalink")
    error = assert_graph_error(status, body, 100)
    assert "nonexisting field (permalink)" in error["message"]
    status, body = await graph.get("17000000000000003", fields="status_code,status")
    assert_graph_error(status, body, 100, 33)


async def test_media_list_paging(
    sandbox: InstagramSandbox, graph: Graph, session: aiohttp.ClientSession
) -> None:
    ids = [await graph.published_carousel(caption=f"post {i}") for i in range(3)]
    status, body = await graph.get(f"{USER}/media", fields="id,caption", limit=2)
    assert status == 200, body
    assert [m["id"] for m in body["data"]] == [ids[2], ids[1]]
    assert body["data"][0]["caption"] == "post 2"
    async with session.get(body["paging"]["next"], headers=graph._headers()) as resp:
        page2 = await resp.json()
    assert [m["id"] for m in page2["data"]] == [ids[0]]
    assert "next" not in page2["paging"]
    _, body = await graph.get(f"{OTHER_USER}/media")
    assert body == {"data": []}
    _, body = await graph.get(f"{USER}/media")
    assert body["data"][0] == {"id": ids[2]}
    assert sandbox.calls.counts["media_list"] == 4


async def test_paths_methods_and_ids(sandbox: InstagramSandbox, graph: Graph) -> None:
    status, body = await graph.get(f"{USER}/feed")
    error = assert_graph_error(status, body, 100)
    assert error["message"].startswith("Unknown path components")
    status, body = await graph.post(f"{USER}/media/extra", image_url=GOOD_URL)
    assert_graph_error(status, body, 100)
    status, body = await graph.get(f"{USER}/media_publish", creation_id="1")
    assert_graph_error(status, body, 100, 33)
    status, body = await graph.post(await graph.child(), fields="status_code")
    assert_graph_error(status, body, 100, 33)
    status, body = await graph.post("me/media", image_url=GOOD_URL)
    error = assert_graph_error(status, body, 100, 33)
    assert error["message"].startswith("Unsupported post request. Object with ID 'me'")

    other_version = Graph(graph.session, graph.base.replace("v23.0", "v25.0"))
    assert await other_version.child() is not None
    unversioned = Graph(graph.session, graph.base.rsplit("/", 1)[0])
    status, body = await unversioned.post(f"{USER}/media", image_url=GOOD_URL)
    assert_graph_error(status, body, 100)


# --- control API and stand-alone -------------------------------------------------------------


async def test_control_api(
    sandbox: InstagramSandbox, graph: Graph, session: aiohttp.ClientSession
) -> None:
    origin = graph.base.rsplit("/", 1)[0]
    media_id = await graph.published_carousel()
    before = sandbox.calls.total()
    async with session.get(f"{origin}/_sandbox/posts") as resp:
        posts = (await resp.json())["posts"]
    assert [p["id"] for p in posts] == [media_id]
    async with session.get(f"{origin}/_sandbox/calls") as resp:
        counts = (await resp.json())["counts"]
    assert counts["media_publish"] == 1 and counts["create_container"] == 3
    async with session.post(
        f"{origin}/_sandbox/config", json={"processing_delay": 5, "publish_quota": 7}
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["config"]["publish_quota"] == 7
    assert sandbox.config.processing_delay == 5.0 and sandbox.config.publish_quota == 7
    async with session.post(f"{origin}/_sandbox/config", json={"bogus": 1}) as resp:
        assert resp.status == 400
    async with session.post(f"{origin}/_sandbox/config", json={"publish_quota": -1}) as resp:
        assert resp.status == 400
    async with session.post(
        f"{origin}/_sandbox/fail_next",
        json={"endpoint": "media_list", "status": 400, "code": 1, "is_transient": True},
    ) as resp:
        assert resp.status == 200
    async with session.post(f"{origin}/_sandbox/fail_media_reads", json={"count": 1}) as resp:
        assert resp.status == 200
    async with session.post(f"{origin}/_sandbox/revoke", json={"token": "gone"}) as resp:
        assert resp.status == 200
    carousel = posts[0]["creation_id"]
    async with session.get(f"{origin}/_sandbox/containers/{carousel}") as resp:
        assert (await resp.json())["container"]["status_code"] == "PUBLISHED"
    assert sandbox.calls.total() == before  # control calls are not counted

    status, body = await graph.get(f"{USER}/media")
    assert_graph_error(status, body, 1)
    status, body = await graph.get(media_id)
    assert_graph_error(status, body, 100, 33)
    status, body = await Graph(session, graph.base, "gone").get(media_id)
    assert_graph_error(status, body, 190, 463)


async def test_stand_alone() -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server.sandbox.instagram"),
        *("--port", "0", "--processing-delay", "0"),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v23\.0", line), line
        async with aiohttp.ClientSession() as session:
            graph = Graph(session, line)
            assert await graph.status_code(await graph.child()) == "FINISHED"
    finally:
        proc.send_signal(2)  # SIGINT, like Ctrl-C
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0


# --- post options and comments -----------------------------------------------------------------


async def test_item_and_carousel_options_are_checked_where_graph_checks_them(
    sandbox: InstagramSandbox, graph: Graph
) -> None:
    status, body = await graph.post(f"{USER}/media", as_json=True, image_url=GOOD_URL, is_carousel_item=True,
                                    collaborators=["alice"])
    assert (status, body["error"]["code"]) == (400, 100)
    assert body["error"]["message"] == "(#100) param collaborators is not allowed for carousel child"
    status, body = await graph.post(f"{USER}/media", as_json=True, image_url=GOOD_URL, is_carousel_item=True,
                                    alt_text="a" * 1001)
    assert (status, body["error"]["code"]) == (400, 100)
    status, body = await graph.post(f"{USER}/media", as_json=True, image_url=GOOD_URL, is_carousel_item=True,
                                    user_tags=[{"username": "x", "x": 1.5, "y": 0.5}])
    assert (status, body["error"]["code"]) == (400, 100)
    first = await graph.post(f"{USER}/media", as_json=True, image_url=GOOD_URL, is_carousel_item=True,
                             alt_text="Leaf", user_tags=[{"username": "maple", "x": 0.1, "y": 0.9}])
    second = await graph.child()
    children = [first[1]["id"], second]
    status, body = await graph.post(f"{USER}/media", as_json=True, media_type="CAROUSEL",
                                    children=",".join(children), collaborators=["@alice"])
    assert (status, body["error"]["code"], body["error"]["error_subcode"]) == (400, 110, 2207018)
    status, body = await graph.post(f"{USER}/media", as_json=True, media_type="CAROUSEL",
                                    children=",".join(children), collaborators=["a", "b", "c", "d"])
    assert status == 400
    carousel = await graph.carousel(children, collaborators='["alice","bob"]', location_id="110843418940484")
    status, body = await graph.post(f"{USER}/media_publish", creation_id=carousel)
    assert status == 200, body
    post = sandbox.posts(USER)[0]
    assert (post["collaborators"], post["location_id"]) == (["alice", "bob"], "110843418940484")
    assert post["items"] == [
        {"alt_text": "Leaf", "user_tags": [{"username": "maple", "x": 0.1, "y": 0.9}]},
        {"alt_text": "", "user_tags": []},
    ]


async def test_comments_are_posted_on_a_post_and_listed(sandbox: InstagramSandbox, graph: Graph) -> None:
    media_id = await graph.published_carousel()
    status, body = await graph.post(f"{media_id}/comments", message="First!")
    assert status == 200, body
    comment_id = body["id"]
    status, body = await graph.get(f"{media_id}/comments", fields="id,text,from")
    assert status == 200, body
    assert body["data"] == [{"id": comment_id, "text": "First!", "from": {"id": USER, "username": f"sandbox_{USER}"}}]
    status, body = await graph.post(f"{media_id}/comments")
    assert (status, body["error"]["code"]) == (400, 100)  # message is required
    assert sandbox.posts(USER)[0]["comments"][0]["text"] == "First!"
    status, body = await graph.get(media_id, fields="comments_count")
    assert body["comments_count"] == 1


# --- Reels -----------------------------------------------------------------------------------

REEL_URL = "https://cdn.example.com/reels/autumn-1080x1920.mp4"


async def test_a_reel_processes_for_its_own_delay_then_publishes_as_a_video(graph: Graph, sandbox) -> None:
    sandbox.config.reel_processing_delay = 600.0
    status, body = await graph.post(
        f"{USER}/media", media_type="REELS", video_url=REEL_URL, caption="reel", thumb_offset="1000",
        share_to_feed="false", cover_url="https://cdn.example.com/cover.jpg",
    )
    assert status == 200, body
    reel = body["id"]
    assert await graph.status_code(reel) == "IN_PROGRESS"
    status, body = await graph.post(f"{USER}/media_publish", creation_id=reel)
    assert_graph_error(status, body, 9007, 2207027)  # not ready: never published early
    sandbox.state.containers[reel].ready_at = 0.0
    assert await graph.status_code(reel) == "FINISHED"
    status, body = await graph.post(f"{USER}/media_publish", creation_id=reel)
    assert status == 200, body
    status, media = await graph.get(body["id"], fields="media_type,media_product_type,media_url")
    assert (media["media_type"], media["media_product_type"], media["media_url"]) == ("VIDEO", "REELS", REEL_URL)
    extra = sandbox.container(reel)["extra"]  # type: ignore[index]
    assert (extra["thumb_offset"], extra["share_to_feed"], extra["cover_url"]) == (
        1000, False, "https://cdn.example.com/cover.jpg"
    )


@pytest.mark.parametrize(
    ("url", "subcode"),
    [
        ("https://cdn.example.com/reels/clip.webm", 2207026),  # not MP4 or MOV
        ("https://cdn.example.com/reels/clip-mpeg4.mp4", 2207026),  # not H.264
        ("https://cdn.example.com/reels/clip-2s.mp4", 2207053),  # shorter than 3 s
        ("https://cdn.example.com/reels/clip-15fps.mp4", 2207053),  # under 23 fps
        ("https://cdn.example.com/reels/unreachable.mp4", 2207052),
        ("https://cdn.example.com/reels/photo.jpg", 2207026),  # not a video at all
    ],
)
async def test_a_reel_outside_the_specs_ends_in_error_with_its_subcode(graph: Graph, url: str, subcode: int) -> None:
    status, body = await graph.post(f"{USER}/media", media_type="REELS", video_url=url)
    assert status == 200, body
    status, body = await graph.get(body["id"], fields="status_code,status")
    assert body["status_code"] == "ERROR"
    assert body["status"] == f"Error: Media upload has failed with error code {subcode}"


async def test_a_thumb_offset_past_the_end_ends_in_2207057(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media", media_type="REELS", video_url=REEL_URL, thumb_offset=60_000)
    assert status == 200, body
    assert (await graph.get(body["id"], fields="status"))[1]["status"].endswith("2207057")


async def test_a_reel_container_refuses_what_reels_do_not_take(graph: Graph) -> None:
    status, body = await graph.post(f"{USER}/media", media_type="REELS")
    assert_graph_error(status, body, 100)
    assert "video_url is required" in body["error"]["message"]
    status, body = await graph.post(f"{USER}/media", media_type="REELS", video_url=REEL_URL, is_carousel_item="true")
    assert_graph_error(status, body, 100)
    status, body = await graph.post(f"{USER}/media", media_type="REELS", video_url=REEL_URL, alt_text="no")
    assert_graph_error(status, body, 100)


async def test_with_a_media_host_a_reel_is_judged_by_its_real_bytes(session: aiohttp.ClientSession) -> None:
    from server.sandbox.media import MediaHost  # noqa: PLC0415

    host = MediaHost()
    await host.start()
    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=0.0, reel_processing_delay=0.0),
                               media_host=host.base_url)
    try:
        graph = Graph(session, await sandbox.start())
        outcomes = {}
        for name in ("tall-360x640.mp4", "clip.webm", "old-mpeg4.mov", "short-2s.mp4", "film-15fps.mp4"):
            status, body = await graph.post(f"{USER}/media", media_type="REELS",
                                            video_url=f"https://storage.googleapis.com/demo-bucket/{name}")
            assert status == 200, body
            outcomes[name] = (await graph.get(body["id"], fields="status_code,status"))[1]["status"]
        assert outcomes["tall-360x640.mp4"].startswith("Finished")
        assert outcomes["clip.webm"].endswith("2207026") and outcomes["old-mpeg4.mov"].endswith("2207026")
        assert outcomes["short-2s.mp4"].endswith("2207053") and outcomes["film-15fps.mp4"].endswith("2207053")
        assert host.calls.total() == 5  # each video downloaded, as Instagram does
    finally:
        await sandbox.stop()
        await host.stop()
