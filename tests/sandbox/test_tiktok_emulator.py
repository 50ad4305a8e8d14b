"""The TikTok Content Posting API emulator, exercised over loopback HTTP like the adapter does."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig
from tests.support.processing import LONG, finish_tiktok_moderation, finish_tiktok_processing

REPO = Path(__file__).resolve().parents[2]
GCS = "https://storage.googleapis.com/bucket/"
JSON_UTF8 = "application/json; charset=UTF-8"
CREATOR_INFO = "/v2/post/publish/creator_info/query/"
INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
TOKEN = "/v2/oauth/token/"
LOG_ID = re.compile(r"^\d{14}[0-9A-F]{20}$")


class Api:
    """A thin client speaking to the emulator the way the service adapter does."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = "tok",
        content_type: str = JSON_UTF8,
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        async with self.session.post(self.base + path, data=data, headers=headers) as resp:
            return resp.status, json.loads(await resp.text())

    async def init(self, token: str = "tok", **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return await self.post(INIT, photo_body(**kwargs), token=token)

    async def publish_id(self, token: str = "tok", **kwargs: Any) -> str:
        status, body = await self.init(token, **kwargs)
        assert status == 200, body
        assert body["error"]["code"] == "ok"
        return body["data"]["publish_id"]

    async def status(self, publish_id: str, token: str = "tok") -> tuple[int, dict[str, Any]]:
        return await self.post(STATUS, {"publish_id": publish_id}, token=token)

    async def status_data(self, publish_id: str, token: str = "tok") -> dict[str, Any]:
        http_status, body = await self.status(publish_id, token)
        assert http_status == 200, body
        return body["data"]

    async def refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base + TOKEN, data=form) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as resp:
            assert resp.status == 200
            return await resp.json()


def photo_body(
    *,
    images: list[str] | None = None,
    mode: str = "DIRECT_POST",
    privacy: str | None = "PUBLIC_TO_EVERYONE",
    title: str = "Carousel",
    description: str = "A #carousel",
    cover: int = 0,
    **top_level: Any,
) -> dict[str, Any]:
    post_info: dict[str, Any] = {"title": title, "description": description}
    if mode == "DIRECT_POST":
        post_info.update(disable_comment=False, auto_add_music=True)
        post_info.update(brand_content_toggle=False, brand_organic_toggle=False)
        if privacy is not None:
            post_info["privacy_level"] = privacy
    body: dict[str, Any] = {
        "media_type": "PHOTO",
        "post_mode": mode,
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": [GCS + "a.jpg", GCS + "b.webp"] if images is None else images,
            "photo_cover_index": cover,
        },
    }
    body.update(top_level)
    return body


def assert_error(status: int, body: dict[str, Any], http_status: int, code: str) -> None:
    assert (status, body["error"]["code"]) == (http_status, code), body
    assert LOG_ID.match(body["error"]["log_id"])


@pytest.fixture
async def sandbox() -> AsyncIterator[TikTokSandbox]:
    sb = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, moderation_delay=0))
    yield sb
    await sb.stop()


@pytest.fixture
async def api(sandbox: TikTokSandbox) -> AsyncIterator[Api]:
    base = await sandbox.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    async with aiohttp.ClientSession() as session:
        yield Api(session, base)


# --- creator info ------------------------------------------------------------------------


async def test_creator_info_for_unknown_token_is_a_public_creator(api: Api) -> None:
    status, body = await api.post(CREATOR_INFO, token="anything")
    assert status == 200
    assert body["error"]["code"] == "ok" and body["error"]["message"] == ""
    assert LOG_ID.match(body["error"]["log_id"])
    data = body["data"]
    assert data["privacy_level_options"] == [
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    ]
    assert data["creator_username"] and data["creator_nickname"]
    for key in ("creator_avatar_url", "comment_disabled", "duet_disabled", "stitch_disabled"):
        assert key in data
    assert isinstance(data["max_video_post_duration_sec"], int)


async def test_unknown_token_containing_private_is_a_private_creator(api: Api) -> None:
    _, body = await api.post(CREATOR_INFO, token="my-private-token")
    assert body["data"]["privacy_level_options"] == [
        "FOLLOWER_OF_CREATOR",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    ]


async def test_added_creator_is_reported(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.add_creator("t1", username="alice", nickname="Alice", comment_disabled=True)
    _, body = await api.post(CREATOR_INFO, token="t1")
    data = body["data"]
    assert (data["creator_username"], data["creator_nickname"]) == ("alice", "Alice")
    assert data["comment_disabled"] is True


async def test_creator_who_cannot_post_gets_the_intentional_http_200_error(
    sandbox: TikTokSandbox, api: Api
) -> None:
    sandbox.add_creator("capped", can_post=False)
    status, body = await api.post(CREATOR_INFO, token="capped")
    assert_error(status, body, 200, "spam_risk_too_many_posts")
    status, body = await api.init("capped")
    assert_error(status, body, 403, "spam_risk_too_many_posts")


async def test_creator_info_rate_limit(api: Api) -> None:
    for _ in range(20):
        status, _ = await api.post(CREATOR_INFO)
        assert status == 200
    status, body = await api.post(CREATOR_INFO)
    assert_error(status, body, 429, "rate_limit_exceeded")


# --- lifecycle ----------------------------------------------------------------------------


async def test_direct_public_post_completes_then_gets_a_post_id_after_moderation(
    sandbox: TikTokSandbox, api: Api
) -> None:
    sandbox.config.processing_delay = LONG
    sandbox.config.moderation_delay = LONG
    publish_id = await api.publish_id()
    assert re.fullmatch(r"p_pub_url~v2\.\d+", publish_id) and len(publish_id) <= 64

    data = await api.status_data(publish_id)
    assert data["status"] == "PROCESSING_DOWNLOAD"
    assert "fail_reason" not in data and data["publicaly_available_post_id"] == []

    finish_tiktok_processing(sandbox, publish_id)
    data = await api.status_data(publish_id)
    assert data["status"] == "PUBLISH_COMPLETE"
    assert data["publicaly_available_post_id"] == [] and data["downloaded_bytes"] > 0  # in moderation

    finish_tiktok_moderation(sandbox, publish_id)
    _, raw = await api.status(publish_id)
    (post_id,) = raw["data"]["publicaly_available_post_id"]
    assert isinstance(post_id, int) and post_id > 2**53 and len(str(post_id)) == 19
    assert sandbox.publish(publish_id)["post_ids"] == [post_id]


async def test_self_only_post_never_gets_a_post_id(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.config.processing_delay = LONG
    sandbox.config.moderation_delay = LONG
    publish_id = await api.publish_id(privacy="SELF_ONLY")
    finish_tiktok_processing(sandbox, publish_id)
    finish_tiktok_moderation(sandbox, publish_id)  # what gives a public post its id
    data = await api.status_data(publish_id)
    assert data["status"] == "PUBLISH_COMPLETE"
    assert data["publicaly_available_post_id"] == []


async def test_inbox_upload_waits_for_the_creator(sandbox: TikTokSandbox, api: Api) -> None:
    publish_id = await api.publish_id(mode="MEDIA_UPLOAD", privacy=None)
    assert (await api.status_data(publish_id))["status"] == "SEND_TO_USER_INBOX"
    sandbox.complete_inbox(publish_id)
    data = await api.status_data(publish_id)
    assert data["status"] == "PUBLISH_COMPLETE"
    assert data["publicaly_available_post_id"] != []
    with pytest.raises(ValueError):
        sandbox.complete_inbox(publish_id)


async def test_complete_inbox_rejects_a_direct_post(sandbox: TikTokSandbox, api: Api) -> None:
    publish_id = await api.publish_id()
    with pytest.raises(ValueError):
        sandbox.complete_inbox(publish_id)
    with pytest.raises(KeyError):
        sandbox.complete_inbox("p_pub_url~v2.1")


async def test_posts_records_every_accepted_init(sandbox: TikTokSandbox, api: Api) -> None:
    first = await api.publish_id("t-a", title="one", cover=1)
    second = await api.publish_id("t-b", mode="MEDIA_UPLOAD", privacy=None)
    await api.init("t-a", images=[])  # rejected, not recorded
    posts = sandbox.posts()
    assert [p["publish_id"] for p in posts] == [first, second]
    assert posts[0]["title"] == "one" and posts[0]["photo_cover_index"] == 1
    assert posts[0]["privacy_level"] == "PUBLIC_TO_EVERYONE" and posts[0]["auto_add_music"]
    assert posts[0]["status"] == "PUBLISH_COMPLETE" and posts[0]["fail_reason"] is None
    assert posts[1]["post_mode"] == "MEDIA_UPLOAD"
    assert [p["publish_id"] for p in sandbox.posts("t-b")] == [second]
    assert posts[0]["open_id"] != posts[1]["open_id"]


# --- init validation ----------------------------------------------------------------------


async def test_private_creator_cannot_post_public(api: Api) -> None:
    status, body = await api.init("private-tok", privacy="PUBLIC_TO_EVERYONE")
    assert_error(status, body, 403, "privacy_level_option_mismatch")
    assert await api.publish_id("private-tok", privacy="FOLLOWER_OF_CREATOR")


async def test_direct_post_without_privacy_level_is_a_mismatch(api: Api) -> None:
    status, body = await api.init(privacy=None)
    assert_error(status, body, 403, "privacy_level_option_mismatch")


async def test_unverified_url_is_rejected(api: Api) -> None:
    images = [GCS + "a.jpg", "https://d1.cloudfront.net/b.jpg"]
    status, body = await api.init(images=images)
    assert_error(status, body, 403, "url_ownership_unverified")
    assert "cloudfront" in body["error"]["message"]


async def test_domain_property_covers_subdomains_over_https_only(
    sandbox: TikTokSandbox, api: Api
) -> None:
    sandbox.config.verified_url_prefixes = ("static.example.com",)
    assert await api.publish_id(images=["https://img.static.example.com/x.jpg"])
    assert await api.publish_id(images=["https://static.example.com/x.jpg"])
    for url in ("http://static.example.com/x.jpg", "https://example.com/x.jpg"):
        status, body = await api.init(images=[url])
        assert_error(status, body, 403, "url_ownership_unverified")


async def test_36_photos_are_too_many(api: Api) -> None:
    status, body = await api.init(images=[f"{GCS}{i}.jpg" for i in range(36)])
    assert_error(status, body, 400, "invalid_params")
    assert "photo_images" in body["error"]["message"]
    assert await api.publish_id("other", images=[f"{GCS}{i}.jpg" for i in range(35)])


async def test_title_length_counts_utf16_units(api: Api) -> None:
    status, body = await api.init(title="a" * 89 + "😀")  # 91 units
    assert_error(status, body, 400, "invalid_params")
    assert "title" in body["error"]["message"]
    assert await api.publish_id(title="a" * 88 + "😀")  # 90 units


async def test_description_length_counts_utf16_units(api: Api) -> None:
    status, body = await api.init(description="🍂" * 2000 + "a")  # 4001 units, 2001 characters
    assert_error(status, body, 400, "invalid_params")
    assert "description" in body["error"]["message"]
    assert await api.publish_id(description="🍂" * 2000)  # 4000 units


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda b: b.update(media_type="VIDEO"), "media_type"),
        (lambda b: b.pop("media_type"), "media_type"),
        (lambda b: b.update(post_mode="DIRECT POST"), "post_mode"),
        (lambda b: b["source_info"].update(source="FILE_UPLOAD"), "source"),
        (lambda b: b["source_info"].update(photo_images=[]), "photo_images"),
        (lambda b: b["source_info"].update(photo_cover_index=2), "photo_cover_index"),
        (lambda b: b["source_info"].pop("photo_cover_index"), "photo_cover_index"),
        (lambda b: b["post_info"].update(description="d" * 4001), "description"),
        (lambda b: b["post_info"].update(disable_comment="yes"), "disable_comment"),
        (lambda b: b.pop("post_info"), "post_info"),
    ],
)
async def test_invalid_init_bodies(api: Api, change: Any, named: str) -> None:
    body = photo_body()
    change(body)
    status, answer = await api.post(INIT, body)
    assert_error(status, answer, 400, "invalid_params")
    assert named in answer["error"]["message"]


async def test_plain_application_json_is_accepted_and_other_types_are_not(api: Api) -> None:
    status, _ = await api.post(INIT, photo_body(), content_type="application/json")
    assert status == 200
    status, body = await api.post(INIT, photo_body(), content_type="text/plain")
    assert_error(status, body, 400, "invalid_params")


async def test_seventh_init_in_a_minute_is_rate_limited(api: Api) -> None:
    for _ in range(6):
        assert await api.publish_id()
    status, body = await api.init()
    assert_error(status, body, 429, "rate_limit_exceeded")
    assert await api.publish_id("another-token")


# --- fail rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "title", "reason"),
    [
        ([GCS + "unreachable/a.jpg"], "ok", "photo_pull_failed"),
        (["https://cdn.photos.invalid/a.jpg"], "ok", "photo_pull_failed"),
        ([GCS + "a.jpg", GCS + "b.png"], "ok", "file_format_check_failed"),
        ([GCS + "a.jpg", GCS + "b-as-png.jpg"], "ok", "file_format_check_failed"),
        ([GCS + "a.jpg", GCS + "b-21mb.webp"], "ok", "picture_size_check_failed"),
        ([GCS + "img-1080x1920.jpg", GCS + "img-1086x1448.jpg"], "ok", "picture_size_check_failed"),
        ([GCS + "a.jpeg"], "Buy SPAM now", "spam_risk_text"),
    ],
)
async def test_sandbox_fail_rules(
    sandbox: TikTokSandbox, api: Api, images: list[str], title: str, reason: str
) -> None:
    sandbox.config.verified_url_prefixes = (GCS, "photos.invalid")
    publish_id = await api.publish_id(images=images, title=title)
    data = await api.status_data(publish_id)
    assert (data["status"], data["fail_reason"]) == ("FAILED", reason)
    assert data["publicaly_available_post_id"] == []
    assert sandbox.publish(publish_id)["fail_reason"] == reason


async def test_files_within_limits_succeed(api: Api) -> None:
    images = [GCS + "img-1080x1920.JPG", GCS + "b.webp", GCS + "c.jpeg"]
    publish_id = await api.publish_id(images=images, title="spammy? no")
    assert (await api.status_data(publish_id))["status"] == "PUBLISH_COMPLETE"


async def test_scripted_fail_reasons(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.script_fail_reason("internal", count=2)
    sandbox.script_fail_reason("auth_removed")
    reasons = []
    for _ in range(4):
        data = await api.status_data(await api.publish_id())
        reasons.append(data.get("fail_reason"))
    assert reasons == ["internal", "internal", "auth_removed", None]
    with pytest.raises(ValueError):
        sandbox.script_fail_reason("no_such_reason")


# --- status -------------------------------------------------------------------------------


async def test_status_errors(api: Api) -> None:
    status, body = await api.status("p_pub_url~v2.42")
    assert_error(status, body, 400, "invalid_publish_id")
    publish_id = await api.publish_id("alice")
    status, body = await api.status(publish_id, token="bob")
    assert_error(status, body, 400, "token_not_authorized_for_specified_publish_id")
    status, body = await api.post(STATUS, {})
    assert_error(status, body, 400, "invalid_params")


async def test_status_rate_limit(sandbox: TikTokSandbox, api: Api) -> None:
    publish_id = await api.publish_id()
    for _ in range(30):
        status, _ = await api.status(publish_id)
        assert status == 200
    status, body = await api.status(publish_id)
    assert_error(status, body, 429, "rate_limit_exceeded")
    sandbox.config.status_limit_per_minute = 0  # disabled
    assert (await api.status(publish_id))[0] == 200


# --- tokens -------------------------------------------------------------------------------


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {
        "client_key": "ck",
        "client_secret": "cs",
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


async def test_refresh_rotates_tokens(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.add_creator("old-access", username="carol")
    sandbox.add_refresh_token("rft.first", "old-access")
    publish_id = await api.publish_id("old-access")

    status, tokens = await api.refresh(refresh_form("rft.first"))
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "video.publish,video.upload"
    assert tokens["expires_in"] == 86400 and tokens["refresh_expires_in"] == 31536000
    assert tokens["refresh_token"] != "rft.first" and tokens["open_id"]

    new_access = tokens["access_token"]
    _, info = await api.post(CREATOR_INFO, token=new_access)
    assert info["data"]["creator_username"] == "carol"
    assert (await api.status_data(publish_id, token=new_access))["status"] == "PUBLISH_COMPLETE"
    assert (await api.status(publish_id, token="old-access"))[0] == 200

    status, body = await api.refresh(refresh_form("rft.first"))
    assert (status, body["error"]) == (400, "invalid_grant")
    assert body["error_description"] and LOG_ID.match(body["log_id"])
    status, again = await api.refresh(refresh_form(tokens["refresh_token"]))
    assert status == 200 and again["open_id"] == tokens["open_id"]
    assert sandbox.calls.counts["token"] == 3


async def test_token_endpoint_errors(api: Api) -> None:
    status, body = await api.refresh(refresh_form("never-issued"))
    assert (status, body["error"]) == (400, "invalid_grant")
    form = refresh_form("x")
    del form["grant_type"]
    status, body = await api.refresh(form)
    assert (status, body["error"]) == (400, "invalid_request")
    async with api.session.post(api.base + TOKEN, json=refresh_form("x")) as resp:
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_request"


async def test_issued_access_tokens_expire(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.config.access_token_ttl = 0
    sandbox.add_refresh_token("rft.x", "someone")
    _, tokens = await api.refresh(refresh_form("rft.x"))
    assert tokens["expires_in"] == 0
    status, body = await api.post(CREATOR_INFO, token=tokens["access_token"])
    assert_error(status, body, 401, "access_token_invalid")


async def test_revoked_and_missing_tokens_get_401(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.revoke_token("gone")
    for path in (CREATOR_INFO, INIT, STATUS):
        status, body = await api.post(path, photo_body(), token="gone")
        assert_error(status, body, 401, "access_token_invalid")
    status, body = await api.post(CREATOR_INFO, token=None)
    assert_error(status, body, 401, "access_token_invalid")


# --- scripted errors, control API, odds and ends ----------------------------------------


async def test_fail_next(sandbox: TikTokSandbox, api: Api) -> None:
    sandbox.fail_next("init", http_status=500, code="internal_error", message="boom", count=2)
    sandbox.fail_next("creator_info", http_status=200, code="reached_active_user_cap")
    sandbox.fail_next("token", http_status=400, code="invalid_client", message="bad key")
    for _ in range(2):
        status, body = await api.init()
        assert_error(status, body, 500, "internal_error")
        assert body["error"]["message"] == "boom"
    assert await api.publish_id()
    status, body = await api.post(CREATOR_INFO)
    assert_error(status, body, 200, "reached_active_user_cap")
    assert (await api.post(CREATOR_INFO))[1]["error"]["code"] == "ok"
    status, body = await api.refresh(refresh_form("x"))
    assert (status, body["error"], body["error_description"]) == (400, "invalid_client", "bad key")
    assert sandbox.calls.counts["init"] == 3
    with pytest.raises(ValueError):
        sandbox.fail_next("cancel", http_status=500, code="internal_error")


async def test_control_api(sandbox: TikTokSandbox, api: Api) -> None:
    async with api.session.post(
        api.base + "/_sandbox/config", json={"processing_delay": 0, "init_limit_per_minute": 1}
    ) as resp:
        assert resp.status == 200
    assert sandbox.config.init_limit_per_minute == 1
    async with api.session.post(api.base + "/_sandbox/config", json={"bogus": 1}) as resp:
        assert resp.status == 400

    publish_id = await api.publish_id(mode="MEDIA_UPLOAD", privacy=None)
    assert (await api.init())[0] == 429
    path = f"/_sandbox/inbox/{publish_id}/complete"
    async with api.session.post(api.base + path, json={"privacy_level": "SELF_ONLY"}) as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "PUBLISH_COMPLETE"

    posts = (await api.get("/_sandbox/posts"))["posts"]
    assert [(p["publish_id"], p["privacy_level"]) for p in posts] == [(publish_id, "SELF_ONLY")]
    assert (await api.get("/_sandbox/posts?access_token=nobody"))["posts"] == []
    calls = await api.get("/_sandbox/calls")
    assert calls == {"counts": {"init": 2}, "total": 2}
    assert (await api.get("/_sandbox/config"))["init_limit_per_minute"] == 1


async def test_control_api_set_up(sandbox: TikTokSandbox, api: Api) -> None:
    control = [
        ("/_sandbox/creators", {"access_token": "c1", "private": True, "can_post": False}),
        ("/_sandbox/refresh_tokens", {"refresh_token": "r1", "access_token": "c1"}),
        ("/_sandbox/revoke", {"access_token": "c2"}),
        ("/_sandbox/fail_reason", {"reason": "internal"}),
        (
            "/_sandbox/fail_next",
            {"endpoint": "status", "http_status": 500, "code": "internal_error"},
        ),
    ]
    for path, body in control:
        async with api.session.post(api.base + path, json=body) as resp:
            assert resp.status == 200, await resp.text()
    status, body = await api.post(CREATOR_INFO, token="c1")
    assert_error(status, body, 200, "spam_risk_too_many_posts")
    assert (await api.post(CREATOR_INFO, token="c2"))[0] == 401
    assert (await api.refresh(refresh_form("r1")))[0] == 200
    publish_id = await api.publish_id("c3")
    assert (await api.status(publish_id, token="c3"))[0] == 500
    assert (await api.status_data(publish_id, token="c3"))["fail_reason"] == "internal"


async def test_unknown_path_and_wrong_method(api: Api) -> None:
    status, body = await api.post("/v2/post/publish/cancel/", {})
    assert_error(status, body, 404, "not_found")
    async with api.session.get(api.base + STATUS) as resp:
        assert resp.status == 405
        assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_runs_stand_alone() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.sandbox.tiktok", "--port", "0",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=10)
        base = line.decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        async with aiohttp.ClientSession() as session:
            api = Api(session, base)
            assert (await api.post(CREATOR_INFO))[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0


async def test_branded_content_cannot_be_private(api: Api) -> None:
    body = photo_body(privacy="SELF_ONLY")
    body["post_info"]["brand_content_toggle"] = True
    status, answer = await api.post(INIT, body)
    assert (status, answer["error"]["code"]) == (400, "invalid_params")
    assert "SELF_ONLY" in answer["error"]["message"]
    body["post_info"]["privacy_level"] = "PUBLIC_TO_EVERYONE"
    status, answer = await api.post(INIT, body)
    assert status == 200, answer
