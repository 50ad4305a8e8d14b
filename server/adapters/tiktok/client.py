"""TikTok Content Posting API adapter (photo posts), over aiohttp.

Only documented calls and fields are used, so any server implementing TikTok's API
works behind DISTRIBUTION_TIKTOK_API_BASE (e.g. https://open.tiktokapis.com).
TikTok reports some errors with HTTP 200 and a non-"ok" error.code, so every
response's code is checked, not only its HTTP status. Calls are paced per access token
to TikTok's documented rate limits (waiting, not failing). Every failure is raised as a
PlatformFailure judged by `errors`. The calls are docs/platforms.md's "TikTok flow".
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from server.adapters.http import NoUsableAnswer, Observer, request_json
from server.adapters.tiktok.errors import (
    PLATFORM,
    RATE_LIMITED,
    api_failure,
    bad_answer,
    fail_reason_error,
    no_answer_failure,
    oauth_failure,
)
from server.adapters.tiktok.pacing import Pacer
from server.adapters.tiktok.video import put_chunk, video_body, video_init_path
from server.domain.platforms import CreatorInfo, PhotoPost, PublishStatus, TokenGrant, VideoInit, VideoPost
from server.domain.ports import RateWindows

# The default margin: the spread of grant-to-arrival times measured on loopback under load
# (scripts/pacing_margin.py: a spread of 4 to 16 ms, SQLite and PostgreSQL alike),
# widened for a TLS connection to a distant server and a busy replica.
PACING_MARGIN = 2.0


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per access token; calls beyond them wait (0 = no pacing).
    TikTok's documented limits (docs/platforms.md, "TikTok rate limits"): init 6, status
    30, creator_info 20 per minute per user token."""

    init: int = 6
    status: int = 30
    creator_info: int = 20
    window: float = 60.0
    # Seconds added to the window: the most by which the time from letting a call go to its
    # arrival at TikTok may differ between two calls (pacing.py). Measured with
    # scripts/pacing_margin.py; docs/platforms.md, "TikTok rate limits".
    margin: float = PACING_MARGIN


@dataclass(frozen=True)
class AppCredentials:
    """The TikTok app's client key and secret, sent only with the refresh grant."""

    client_key: str = ""
    client_secret: str = ""

    def __repr__(self) -> str:
        return "AppCredentials(<redacted>)"


def photo_body(post: PhotoPost) -> dict[str, Any]:
    """The init request body for a photo post."""
    post_info: dict[str, Any] = {}
    if post.title:
        post_info["title"] = post.title
    if post.description:
        post_info["description"] = post.description
    if post.post_mode == "DIRECT_POST":
        post_info.update(
            privacy_level=post.privacy_level,
            disable_comment=post.disable_comment,
            auto_add_music=post.auto_add_music,
            # Always sent (the reference lists both as required; TikTok's own example leaves
            # them out): the safer reading, as Postiz does.
            brand_content_toggle=post.brand_content_toggle,
            brand_organic_toggle=post.brand_organic_toggle,
        )
    return {
        "media_type": "PHOTO",
        "post_mode": post.post_mode,
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": post.photo_urls,
            "photo_cover_index": post.cover_index,
        },
    }


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class TikTokClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        windows: RateWindows,
        limits: RateLimits = RateLimits(),
        app: AppCredentials = AppCredentials(),
        observe: Observer | None = None,
        on_wait: Callable[[str, str, float], None] | None = None,
        on_limited: Callable[[str, str], None] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._app = app
        self._observe = observe
        self._on_wait = on_wait
        # A rate-limit answer despite the pacing: the margin is too small for this network.
        self._on_limited = on_limited
        self.pacers = {
            endpoint: Pacer(windows, endpoint, limit, limits.window, limits.margin)
            for endpoint, limit in (("init", limits.init), ("status", limits.status),
                                    ("creator_info", limits.creator_info))
        }

    async def _call(
        self, endpoint: str, path: str, token: str, body: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        waited = await self.pacers[endpoint].acquire(token)
        if waited and self._on_wait is not None:
            self._on_wait(PLATFORM, endpoint, waited)
        try:
            status, payload, headers = await request_json(
                self._session, PLATFORM, endpoint, "POST", f"{self._base}{path}",
                token=token, json_body=body if body is not None else {}, observe=self._observe,
            )
        except NoUsableAnswer as exc:
            raise no_answer_failure(endpoint, exc) from None
        raw = payload.get("error")
        error = raw if isinstance(raw, dict) else {}
        code = str(error.get("code", "") or ("ok" if status < 400 else ""))
        log_id = str(error.get("log_id", "") or "")
        if status >= 400 or code != "ok":
            if (status == 429 or code == RATE_LIMITED) and self._on_limited is not None:
                self._on_limited(PLATFORM, endpoint)
            message = str(error.get("message", "") or f"HTTP {status}")
            raise api_failure(endpoint, status, code or f"http_{status}", message, log_id, headers)
        data = payload.get("data")
        return (data if isinstance(data, dict) else {}), log_id

    async def creator_info(self, token: str) -> CreatorInfo:
        data, _ = await self._call("creator_info", "/v2/post/publish/creator_info/query/", token, None)
        return CreatorInfo(
            username=str(data.get("creator_username", "")),
            nickname=str(data.get("creator_nickname", "")),
            privacy_level_options=tuple(str(o) for o in data.get("privacy_level_options") or ()),
            comment_disabled=bool(data.get("comment_disabled", False)),
            max_video_post_duration_sec=_whole(data.get("max_video_post_duration_sec")),
            duet_disabled=bool(data.get("duet_disabled", False)),
            stitch_disabled=bool(data.get("stitch_disabled", False)),
        )

    async def init_photo_post(self, token: str, post: PhotoPost) -> str:
        data, _ = await self._call("init", "/v2/post/publish/content/init/", token, photo_body(post))
        publish_id = data.get("publish_id")
        if not publish_id:
            raise bad_answer("init", "carries no publish_id")
        return str(publish_id)

    async def init_video_post(self, token: str, post: VideoPost) -> VideoInit:
        data, _ = await self._call("init", video_init_path(post), token, video_body(post))
        publish_id = data.get("publish_id")
        if not publish_id:
            raise bad_answer("init", "carries no publish_id")
        upload_url = str(data.get("upload_url") or "")
        if post.source == "FILE_UPLOAD" and not upload_url:
            raise bad_answer("init", "carries no upload_url for a FILE_UPLOAD")
        return VideoInit(str(publish_id), upload_url)

    async def upload_chunk(
        self, upload_url: str, first: int, last: int, total: int, content_type: str, body: AsyncIterable[bytes]
    ) -> None:
        # The upload URL is TikTok's own (from init's answer) and carries no bearer token.
        await put_chunk(self._session, upload_url, first, last, total, content_type, body, self._observe)

    async def fetch_status(self, token: str, publish_id: str) -> PublishStatus:
        data, log_id = await self._call(
            "status", "/v2/post/publish/status/fetch/", token, {"publish_id": publish_id}
        )
        status = str(data.get("status", ""))
        fail_reason = str(data.get("fail_reason", "") or "")
        # Post ids are int64 and may exceed 2^53: Python's json keeps them exact; carry as text.
        post_ids = tuple(str(p) for p in data.get("publicaly_available_post_id") or ())
        return PublishStatus(
            status=status,
            fail_reason=fail_reason,
            post_ids=post_ids,
            log_id=log_id,
            failure=fail_reason_error(fail_reason, log_id) if status == "FAILED" else None,
        )

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """Refresh grant. The returned refresh_token replaces the old one (TikTok rotates them)."""
        try:
            status, payload, headers = await request_json(
                self._session, PLATFORM, "token", "POST", f"{self._base}/v2/oauth/token/",
                form={
                    "client_key": self._app.client_key,
                    "client_secret": self._app.client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                observe=self._observe,
            )
        except NoUsableAnswer as exc:
            raise no_answer_failure("token", exc) from None
        if status >= 400 or ("error" in payload and not payload.get("access_token")):
            raise oauth_failure(status, payload, headers)
        if not payload.get("access_token"):
            raise bad_answer("token", "carries no access_token")
        return TokenGrant(
            access_token=str(payload["access_token"]),
            expires_in=int(payload.get("expires_in", 0)),
            refresh_token=str(payload.get("refresh_token", refresh_token)),
            refresh_expires_in=int(payload.get("refresh_expires_in", 0)),
            open_id=str(payload.get("open_id", "")),
        )
