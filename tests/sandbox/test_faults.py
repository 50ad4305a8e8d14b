"""Switchable faults in both emulators (server.sandbox.faults), over real loopback HTTP.

Stalls are kept short (well under a second) with client timeouts below them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.sandbox.faults import KINDS, FaultPlan
from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

USER = "17841405822304914"
TOKEN = "sandbox-token"
IMG = "https://cdn.example.com/c/photo-{}-1080x1350.jpg"
GCS = "https://storage.googleapis.com/bucket/"
INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CREATOR_INFO = "/v2/post/publish/creator_info/query/"
OAUTH = "/v2/oauth/token/"
STALL = 0.5
SHORT = aiohttp.ClientTimeout(total=0.15)
LONG = aiohttp.ClientTimeout(total=5)


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=LONG) as s:
        yield s


@pytest.fixture
async def ig() -> AsyncIterator[InstagramSandbox]:
    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=0.0))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def tt() -> AsyncIterator[TikTokSandbox]:
    config = TikTokSandboxConfig(processing_delay=0, moderation_delay=0, init_limit_per_minute=0)
    sandbox = TikTokSandbox(config)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    client_timeout: aiohttp.ClientTimeout | None = None,
    **kwargs: Any,
) -> tuple[int, Any, dict[str, str]]:
    async with session.request(method, url, timeout=client_timeout or LONG, **kwargs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, dict(resp.headers)


class Graph:
    def __init__(self, session: aiohttp.ClientSession, sandbox: InstagramSandbox) -> None:
        self.session = session
        self.base = sandbox.base_url
        self.origin = sandbox.base_url.rsplit("/", 1)[0]

    async def post(
        self, path: str, *, client_timeout: aiohttp.ClientTimeout | None = None, **params: Any
    ):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{self.base}/{path}"
        return await request(
            self.session, "POST", url, data=params, headers=headers, client_timeout=client_timeout
        )

    async def get(self, path: str, **params: Any):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{self.base}/{path}"
        return await request(self.session, "GET", url, params=params, headers=headers)

    async def carousel(self, caption: str = "hello", urls: tuple[str, ...] = ("a", "b")) -> str:
        children = []
        for name in urls:
            status, body, _ = await self.post(
                f"{USER}/media", image_url=IMG.format(name), is_carousel_item="true"
            )
            assert status == 200, body
            children.append(body["id"])
        status, body, _ = await self.post(
            f"{USER}/media", media_type="CAROUSEL", children=",".join(children), caption=caption
        )
        assert status == 200, body
        return body["id"]

    async def publish(self, creation_id: str, client_timeout: aiohttp.ClientTimeout | None = None):
        return await self.post(
            f"{USER}/media_publish", creation_id=creation_id, client_timeout=client_timeout
        )

    async def control(self, method: str, path: str, body: Any = None):
        kwargs = {} if body is None else {"data": json.dumps(body)}
        return await request(self.session, method, f"{self.origin}/_sandbox/{path}", **kwargs)


class TikTok:
    def __init__(self, session: aiohttp.ClientSession, sandbox: TikTokSandbox) -> None:
        self.session = session
        self.base = sandbox.base_url

    async def post(
        self, path: str, body: dict[str, Any], *, token: str = "tok", client_timeout=None
    ):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return await request(
            self.session, "POST", self.base + path, data=json.dumps(body), headers=headers,
            client_timeout=client_timeout,
        )

    async def init(self, title: str = "Carousel", images: tuple[str, ...] = ("a.jpg", "b.jpg"),
                   *, token: str = "tok", client_timeout=None):
        return await self.post(
            INIT, init_body(title, images), token=token, client_timeout=client_timeout
        )

    async def control(self, method: str, path: str, body: Any = None):
        kwargs = {} if body is None else {"data": json.dumps(body)}
        return await request(self.session, method, f"{self.base}/_sandbox/{path}", **kwargs)


def init_body(title: str, images: tuple[str, ...]) -> dict[str, Any]:
    return {
        "media_type": "PHOTO",
        "post_mode": "DIRECT_POST",
        "post_info": {"title": title, "privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": [GCS + name for name in images],
            "photo_cover_index": 0,
        },
    }


@pytest.fixture
def graph(session: aiohttp.ClientSession, ig: InstagramSandbox) -> Graph:
    return Graph(session, ig)


@pytest.fixture
def tiktok(session: aiohttp.ClientSession, tt: TikTokSandbox) -> TikTok:
    return TikTok(session, tt)


def graph_error(status: int, body: Any, http: int, code: int) -> dict[str, Any]:
    assert status == http, body
    error = body["error"]
    assert (error["code"], error["type"]) == (code, "OAuthException"), error
    assert error["fbtrace_id"]
    return error


# --- the plan itself -------------------------------------------------------------------------


def test_plan_validates_rules() -> None:
    plan = FaultPlan(["init", "status"])
    bad: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("nope", "5xx", 0.1), {}),
        (("init", "boom", 0.1), {}),
        (("init", "5xx", 1.5), {}),
        (("init", "5xx", True), {}),
        (("init", "5xx", 0.1), {"after_serving": True}),
        (("init", "429", 0.1), {"after_serving": True}),
        (("init", "429", 0.1), {"retry_after": -1}),
        (("init", "timeout", 0.1), {"stall_seconds": -1}),
        (("init", "reset", 0.1), {"status": 500}),
        (("init", "5xx", 0.1), {"status": 404}),
        (("init", "429", 0.1), {"status": 503}),
    ]
    for args, options in bad:
        with pytest.raises(ValueError):
            plan.set(*args, **options)
    plan.set("init", "5xx", 0.6)
    with pytest.raises(ValueError, match="add up"):
        plan.set("init", "reset", 0.5)
    assert [r.kind for r in plan.rules()] == ["5xx"]  # a refused rule changes nothing
    # error_after_live is after serving by definition.
    assert plan.set("init", "error_after_live", 0.1).after_serving is True


def test_plan_set_replaces_and_rate_zero_removes() -> None:
    plan = FaultPlan(["media_publish"])
    plan.set("media_publish", "reset", 0.1)
    plan.set("media_publish", "reset", 0.2, after_serving=True)
    plan.set("media_publish", "reset", 0.3)  # replaces the first (same kind and timing)
    assert [(r.rate, r.after_serving) for r in plan.rules("media_publish")] == [
        (0.3, False),
        (0.2, True),
    ]
    assert plan.set("media_publish", "reset", 0, after_serving=True) is None
    assert [(r.rate, r.after_serving) for r in plan.rules()] == [(0.3, False)]
    plan.clear("media_publish")
    assert plan.rules() == []


def test_plan_is_reproducible_per_endpoint() -> None:
    def run(seed: int, noise: bool) -> list[tuple[int, str, int | None]]:
        plan = FaultPlan(["init", "status"], seed=seed)
        plan.set("init", "5xx", 0.2)
        plan.set("init", "reset", 0.1, after_serving=True)
        plan.set("status", "429", 0.5)
        for _ in range(300):
            if noise:  # calls to another endpoint do not shift init's stream
                plan.draw("status")
                plan.draw("status")
            plan.draw("init")
        return [(f.call, f.kind, f.status) for f in plan.events if f.endpoint == "init"]

    first = run(7, noise=False)
    assert first == run(7, noise=True)
    assert first != run(8, noise=False)
    kinds = [kind for _, kind, _ in first]
    assert 30 < kinds.count("5xx") < 90 and 10 < kinds.count("reset") < 55
    assert {status for _, kind, status in first if kind == "5xx"} == {500, 502, 503}

    plan = FaultPlan(["init"], seed=3)
    plan.set("init", "5xx", 0.5)
    outcomes = [plan.draw("init") is not None for _ in range(50)]
    plan.reseed()
    assert [plan.draw("init") is not None for _ in range(50)] == outcomes
    assert sum(plan.injected.values()) == sum(outcomes) * 2


def test_rate_one_always_fires_and_zero_never() -> None:
    plan = FaultPlan(["init"])
    assert plan.draw("init") is None
    plan.set("init", "timeout", 1.0, stall_seconds=0.1)
    assert all(plan.draw("init") is not None for _ in range(100))
    assert plan.injected[("init", "timeout")] == 100
    assert set(KINDS) == {"5xx", "429", "timeout", "reset", "error_after_live"}


# --- Instagram -------------------------------------------------------------------------------


async def test_instagram_5xx_before_serving(graph: Graph, ig: InstagramSandbox) -> None:
    ig.faults.set("create_container", "5xx", 1.0)
    seen = set()
    for _ in range(12):
        status, body, _ = await graph.post(f"{USER}/media", image_url=IMG.format("x"))
        seen.add(status)
        error = graph_error(status, body, status, 1 if status == 500 else 2)
        assert error["is_transient"] is True
        expected = "An unknown error" if status == 500 else "Service temporarily unavailable"
        assert error["message"].startswith(expected)
    assert seen <= {500, 502, 503} and len(seen) > 1
    assert ig.state.containers == {}  # nothing happened
    assert ig.calls.counts["create_container"] == 12  # faults are counted as calls
    assert ig.faults.injected[("create_container", "5xx")] == 12
    ig.faults.set("create_container", "5xx", 1.0, status=503)
    status, body, _ = await graph.post(f"{USER}/media", image_url=IMG.format("x"))
    graph_error(status, body, 503, 2)


async def test_instagram_429_has_retry_after(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "429", 1.0, retry_after=3)
    status, body, headers = await graph.publish(carousel)
    error = graph_error(status, body, 400, 4)  # Graph sends rate limits as HTTP 400
    assert error["message"] == "Application request limit reached" and error["is_transient"]
    assert headers["Retry-After"] == "3"
    assert json.loads(headers["X-App-Usage"])["call_count"] == 100
    assert ig.posts() == []
    ig.faults.set("media_publish", "429", 1.0, status=429)
    status, body, headers = await graph.publish(carousel)
    graph_error(status, body, 429, 4)
    assert headers["Retry-After"] == "1"


async def test_instagram_faults_come_after_the_token_check(
    session: aiohttp.ClientSession, graph: Graph, ig: InstagramSandbox
) -> None:
    ig.faults.set("publishing_limit", "5xx", 1.0)
    url = f"{graph.base}/{USER}/content_publishing_limit"
    status, body, _ = await request(session, "GET", url)  # no token
    graph_error(status, body, 400, 190)
    # A scripted fail_next wins over the probabilistic layer (and makes no draw).
    ig.fail_next("publishing_limit", status=400, code=17, message="User request limit reached")
    status, body, _ = await graph.get(f"{USER}/content_publishing_limit")
    graph_error(status, body, 400, 17)
    status, body, _ = await graph.get(f"{USER}/content_publishing_limit")
    graph_error(status, body, status, 1 if status == 500 else 2)
    assert ig.faults.injected[("publishing_limit", "5xx")] == 1
    assert ig.calls.counts["publishing_limit"] == 3


async def test_instagram_timeout_before_serving(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "timeout", 1.0, stall_seconds=STALL)
    with pytest.raises(asyncio.TimeoutError):
        await graph.publish(carousel, client_timeout=SHORT)
    await asyncio.sleep(STALL + 0.1)  # the stall is over: still nothing happened
    assert ig.posts() == [] and ig.container(carousel)["status_code"] == "FINISHED"
    # A client that waits the stall out gets 504 in the error envelope, never a late success.
    started = time.monotonic()
    status, body, _ = await graph.publish(carousel)
    assert time.monotonic() - started >= STALL
    graph_error(status, body, 504, 2)
    assert ig.posts() == []


async def test_instagram_timeout_after_serving(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "timeout", 1.0, stall_seconds=STALL, after_serving=True)
    with pytest.raises(asyncio.TimeoutError):
        await graph.publish(carousel, client_timeout=SHORT)
    [post] = ig.posts()  # live although the client never heard back
    assert post["creation_id"] == carousel
    ig.faults.clear()
    status, body, _ = await graph.get(carousel, fields="status_code")
    assert (status, body["status_code"]) == (200, "PUBLISHED")
    # The late answer is the real one.
    second = await graph.carousel(caption="other")
    ig.faults.set("media_publish", "timeout", 1.0, stall_seconds=0.2, after_serving=True)
    status, body, _ = await graph.publish(second)
    assert status == 200 and body["id"] == ig.posts()[1]["id"]


async def test_instagram_reset_before_serving(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "reset", 1.0)
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectionError):
        await graph.publish(carousel)
    assert time.monotonic() - started < 1
    assert ig.posts() == [] and ig.container(carousel)["status_code"] == "FINISHED"
    ig.faults.clear()
    status, _, _ = await graph.publish(carousel)  # the session recovers
    assert status == 200 and len(ig.posts()) == 1


async def test_instagram_reset_after_media_publish(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "reset", 1.0, after_serving=True)
    with pytest.raises(aiohttp.ClientConnectionError) as caught:
        await graph.publish(carousel)
    assert not isinstance(caught.value, aiohttp.ClientResponseError)
    [post] = ig.posts()  # the post exists though the client saw a reset
    assert post["creation_id"] == carousel
    assert ig.container(carousel)["status_code"] == "PUBLISHED"
    ig.faults.clear()
    # Retrying the same creation_id is refused: never a duplicate post.
    status, body, _ = await graph.publish(carousel)
    error = graph_error(status, body, 400, 100)
    assert error["message"] == "The container has already been published"
    assert ig.stats()["duplicate_posts"] == 0


async def test_instagram_error_after_live(graph: Graph, ig: InstagramSandbox) -> None:
    carousel = await graph.carousel()
    ig.faults.set("media_publish", "error_after_live", 1.0)
    status, body, _ = await graph.publish(carousel)
    assert graph_error(status, body, 500, 1)["is_transient"] is True
    assert len(ig.posts()) == 1 and ig.container(carousel)["status_code"] == "PUBLISHED"
    # The naive recovery -- rebuild and publish the same carousel again -- is a duplicate.
    ig.faults.clear()
    again = await graph.carousel()
    status, _, _ = await graph.publish(again)
    assert status == 200
    stats = ig.stats()
    assert (stats["posts"], stats["duplicate_posts"]) == (2, 1)
    assert stats["duplicate_groups"] == [[p["id"] for p in ig.posts()]]


async def test_instagram_http_fault_control(graph: Graph, ig: InstagramSandbox) -> None:
    rules = [
        {"endpoint": "container_status", "kind": "5xx", "rate": 0.3},
        {"endpoint": "container_status", "kind": "429", "rate": 0.2, "retry_after": 2},
        {"endpoint": "media_publish", "kind": "timeout", "rate": 0.5, "after_serving": True,
         "stall_seconds": 0.2},
    ]
    status, body, _ = await graph.control("POST", "faults", {"seed": 11, "rules": rules})
    assert status == 200, body
    assert body["seed"] == 11 and len(body["rules"]) == 3
    assert body["rules"][2]["stall_seconds"] == 0.2 and body["rules"][1]["retry_after"] == 2
    carousel = await graph.carousel()

    async def outcomes() -> list[tuple[int, str | None]]:
        out = []
        for _ in range(20):
            status, _, headers = await graph.get(carousel, fields="status_code")
            out.append((status, headers.get("Retry-After")))
        return out

    first = await outcomes()
    assert {s for s, _ in first} > {200} and (400, "2") in first
    status, body, _ = await graph.control("POST", "faults", {"seed": 11})  # reseed only
    assert len(body["rules"]) == 3
    assert await outcomes() == first
    status, body, _ = await graph.control("GET", "faults")
    injected = {(i["endpoint"], i["kind"]): i["count"] for i in body["injected"]}
    assert injected == dict(ig.faults.injected) and sum(injected.values()) > 0
    assert [e["seq"] for e in body["events"]] == list(range(1, len(body["events"]) + 1))
    # Bad bodies answer 400 and change nothing.
    for bad in (
        [1],
        {"rules": [{"endpoint": "container_status", "kind": "5xx"}]},
        {"rules": [{"endpoint": "init", "kind": "5xx", "rate": 0.1}]},
        {"rules": [*rules, {"endpoint": "media_publish", "kind": "reset", "rate": 0.6}]},
        {"seed": 1.5},
        {"bogus": 1},
    ):
        status, resp, _ = await graph.control("POST", "faults", bad)
        assert status == 400 and resp["error"], bad
    status, body, _ = await graph.control("GET", "faults")
    assert body["seed"] == 11 and len(body["rules"]) == 3
    status, body, _ = await graph.control("DELETE", "faults")
    assert (status, body["rules"]) == (200, []) and body["injected"]  # counters stay
    calls_before = dict(ig.calls.counts)
    await graph.control("GET", "faults")
    assert dict(ig.calls.counts) == calls_before  # control calls are not counted


async def test_instagram_stats_and_post_records(graph: Graph, ig: InstagramSandbox) -> None:
    for caption, urls in (("one", ("a", "b")), ("two", ("a", "b")), ("one", ("b", "a"))):
        status, _, _ = await graph.publish(await graph.carousel(caption, urls))
        assert status == 200
    status, body, _ = await graph.control("GET", "stats")
    assert body == {"posts": 3, "duplicate_posts": 0, "duplicate_groups": []}
    status, _, _ = await graph.publish(await graph.carousel("one", ("a", "b")))
    status, stats, _ = await graph.control("GET", "stats")
    assert (stats["posts"], stats["duplicate_posts"]) == (4, 1)
    status, body, _ = await graph.control("GET", "posts")
    posts = body["posts"]
    assert stats["duplicate_groups"] == [[posts[0]["id"], posts[3]["id"]]]
    assert posts[0]["image_urls"] == [IMG.format("a"), IMG.format("b")]
    assert len(posts[0]["children"]) == 2 and posts[0]["ig_user_id"] == USER
    assert posts[0]["creation_id"] != posts[3]["creation_id"]


async def test_instagram_slow_processing_over_http(graph: Graph, ig: InstagramSandbox) -> None:
    status, body, _ = await graph.control("POST", "config", {"processing_delay": 0.3})
    assert status == 200 and body["config"]["processing_delay"] == 0.3
    status, body, _ = await graph.post(f"{USER}/media", image_url=IMG.format("x"))
    assert ig.container(body["id"])["status_code"] == "IN_PROGRESS"


async def test_instagram_stop_ends_stalls(session: aiohttp.ClientSession) -> None:
    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=0.0))
    await sandbox.start()
    sandbox.faults.set("media_list", "timeout", 1.0)  # the default 30 s stall
    url = f"{sandbox.base_url}/{USER}/media?access_token=t"
    with pytest.raises(asyncio.TimeoutError):
        await request(session, "GET", url, client_timeout=SHORT)
    started = time.monotonic()
    await sandbox.stop()
    assert time.monotonic() - started < 2


# --- TikTok ----------------------------------------------------------------------------------


async def test_tiktok_5xx_before_serving(tiktok: TikTok, tt: TikTokSandbox) -> None:
    tt.faults.set("init", "5xx", 1.0)
    statuses = set()
    for _ in range(10):
        status, body, headers = await tiktok.init()
        statuses.add(status)
        assert body["error"]["code"] == "internal_error" and body["data"] == {}
        assert headers["X-Tt-Logid"] == body["error"]["log_id"]
    assert statuses <= {500, 502, 503}
    assert tt.posts() == [] and tt.calls.counts["init"] == 10
    tt.faults.set("status", "5xx", 1.0, status=502)
    status, body, _ = await tiktok.post(STATUS, {"publish_id": "x"})
    assert (status, body["error"]["code"]) == (502, "internal_error")


async def test_tiktok_429_has_retry_after_and_spares_the_limiter(session) -> None:
    sandbox = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, init_limit_per_minute=1))
    await sandbox.start()
    try:
        tiktok = TikTok(session, sandbox)
        sandbox.faults.set("init", "429", 1.0, retry_after=4)
        status, body, headers = await tiktok.init()
        assert (status, body["error"]["code"]) == (429, "rate_limit_exceeded")
        assert headers["Retry-After"] == "4"
        sandbox.faults.clear()
        status, body, _ = await tiktok.init()  # the injected 429 used no real budget
        assert status == 200, body
        status, body, headers = await tiktok.init()  # the real limiter sends no Retry-After
        assert status == 429 and "Retry-After" not in headers
    finally:
        await sandbox.stop()


async def test_tiktok_timeout_before_and_after(tiktok: TikTok, tt: TikTokSandbox) -> None:
    tt.faults.set("init", "timeout", 1.0, stall_seconds=STALL)
    with pytest.raises(asyncio.TimeoutError):
        await tiktok.init(client_timeout=SHORT)
    status, body, _ = await tiktok.init()  # waits the stall out: 504, nothing accepted
    assert (status, body["error"]["code"]) == (504, "internal_error")
    await asyncio.sleep(0.05)
    assert tt.posts() == []
    tt.faults.clear()
    tt.faults.set("init", "timeout", 1.0, stall_seconds=STALL, after_serving=True)
    with pytest.raises(asyncio.TimeoutError):
        await tiktok.init(client_timeout=SHORT)
    [post] = tt.posts()  # accepted although the client timed out
    assert post["title"] == "Carousel"


async def test_tiktok_reset_before_and_after(tiktok: TikTok, tt: TikTokSandbox) -> None:
    tt.faults.set("init", "reset", 1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        await tiktok.init()
    assert tt.posts() == []
    tt.faults.clear()
    tt.faults.set("init", "reset", 1.0, after_serving=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await tiktok.init()
    [post] = tt.posts()
    assert post["photo_images"] == [GCS + "a.jpg", GCS + "b.jpg"]
    assert tt.faults.injected == {("init", "reset"): 2}


async def test_tiktok_error_after_live_is_a_duplicate_trap(
    tiktok: TikTok, tt: TikTokSandbox
) -> None:
    tt.faults.set("init", "error_after_live", 1.0)
    status, body, _ = await tiktok.init()
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert len(tt.posts()) == 1
    tt.faults.clear()
    status, body, _ = await tiktok.init()  # a blind retry posts twice
    assert status == 200
    status, stats, _ = await tiktok.control("GET", "stats")
    assert (stats["posts"], stats["duplicate_posts"]) == (2, 1)
    assert stats["duplicate_groups"] == [[p["publish_id"] for p in tt.posts()]]


async def test_tiktok_stats_key(tiktok: TikTok, tt: TikTokSandbox) -> None:
    await tiktok.init("A")
    await tiktok.init("B")  # other title
    await tiktok.init("A", ("b.jpg", "a.jpg"))  # other order
    await tiktok.init("A", token="someone-else")  # other creator
    tt.script_fail_reason("internal")
    await tiktok.init("C")
    await tiktok.init("C")  # a re-post after a FAILED publish is no duplicate
    _, stats, _ = await tiktok.control("GET", "stats")
    assert stats == {"posts": 6, "duplicate_posts": 0, "failed": 1, "duplicate_groups": []}
    await tiktok.init("A")
    assert tt.stats()["duplicate_posts"] == 1
    _, body, _ = await tiktok.control("GET", "posts")
    assert {"open_id", "title", "photo_images"} <= set(body["posts"][0])


async def test_tiktok_token_endpoint_faults(tiktok: TikTok, tt: TikTokSandbox, session) -> None:
    tt.add_refresh_token("rft.one", "tok")
    form = {"client_key": "k", "client_secret": "s", "grant_type": "refresh_token",
            "refresh_token": "rft.one"}
    tt.faults.set("token", "5xx", 1.0, status=503)
    status, body, _ = await request(session, "POST", tt.base_url + OAUTH, data=form)
    assert (status, body["error"]) == (503, "internal_error") and body["log_id"]
    tt.faults.clear()
    tt.faults.set("token", "reset", 1.0, after_serving=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await request(session, "POST", tt.base_url + OAUTH, data=form)
    tt.faults.clear()
    # The refresh token rotated although the client never saw the new pair.
    status, body, _ = await request(session, "POST", tt.base_url + OAUTH, data=form)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_tiktok_faults_come_after_the_token_check(tiktok: TikTok, tt: TikTokSandbox) -> None:
    tt.faults.set("creator_info", "5xx", 1.0)
    tt.revoke_token("gone")
    status, body, _ = await tiktok.post(CREATOR_INFO, {}, token="gone")
    assert (status, body["error"]["code"]) == (401, "access_token_invalid")
    assert tt.faults.injected == {} and tt.calls.counts["creator_info"] == 1


async def test_tiktok_http_control_and_reproducibility(tiktok: TikTok, tt: TikTokSandbox) -> None:
    publish_id = (await tiktok.init())[1]["data"]["publish_id"]
    body = {"seed": "soak-1", "rules": [
        {"endpoint": "status", "kind": "5xx", "rate": 0.25},
        {"endpoint": "status", "kind": "reset", "rate": 0.25},
    ]}
    status, snapshot, _ = await tiktok.control("POST", "faults", body)
    assert status == 200 and snapshot["seed"] == "soak-1"

    async def run() -> list[Any]:
        out: list[Any] = []
        for _ in range(24):
            try:
                status, _, _ = await tiktok.post(STATUS, {"publish_id": publish_id})
                out.append(status)
            except aiohttp.ClientConnectionError:
                out.append("reset")
        return out

    first = await run()
    assert {200, "reset"} <= set(first) and set(first) - {200, "reset"} <= {500, 502, 503}
    events = (await tiktok.control("GET", "faults"))[1]["events"]
    await tiktok.control("POST", "faults", {"seed": "soak-1"})
    assert await run() == first
    again = (await tiktok.control("GET", "faults"))[1]["events"][len(events):]
    strip = lambda e: (e["call"], e["kind"], e["status"])  # noqa: E731
    assert [strip(e) for e in again] == [strip(e) for e in events]
    # replace=false adds to the rules; DELETE clears them.
    extra = {"replace": False, "rules": [{"endpoint": "init", "kind": "429", "rate": 1}]}
    status, snapshot, _ = await tiktok.control("POST", "faults", extra)
    assert len(snapshot["rules"]) == 3
    status, snapshot, _ = await tiktok.control("POST", "faults", {"rules": [{"endpoint": "x"}]})
    assert status == 400 and "rules[0]" in snapshot["error"]
    status, snapshot, _ = await tiktok.control("DELETE", "faults")
    assert snapshot["rules"] == []
    status, body, _ = await tiktok.init()
    assert status == 200


async def test_tiktok_slow_processing_over_http(tiktok: TikTok, tt: TikTokSandbox) -> None:
    status, body, _ = await tiktok.control("POST", "config", {"processing_delay": 0.3})
    assert status == 200 and body["processing_delay"] == 0.3
    publish_id = (await tiktok.init())[1]["data"]["publish_id"]
    status, body, _ = await tiktok.post(STATUS, {"publish_id": publish_id})
    assert body["data"]["status"] == "PROCESSING_DOWNLOAD"
