"""TikTok Content Posting API adapter (photo posts), over aiohttp.

Only documented calls and fields are used, so any server implementing TikTok's API
works behind DISTRIBUTION_TIKTOK_API_BASE (e.g. https://open.tiktokapis.com).
TikTok reports some errors with HTTP 200 and a non-"ok" error.code, so every
response's code is checked, not only its HTTP status.
See ../shared/reference/tiktok-content-posting-api.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from server.platforms.errors import PlatformError
from server.platforms.http import Observer, request_json, retry_after_seconds
from server.platforms.pacing import SlidingWindowPacer

PLATFORM = "tiktok"


@dataclass(frozen=True)
class CreatorInfo:
    username: str
    nickname: str
    privacy_level_options: tuple[str, ...]
    comment_disabled: bool


@dataclass(frozen=True)
class PhotoPost:
    """The body of a photo init call, in TikTok's own terms."""

    post_mode: str  # DIRECT_POST or MEDIA_UPLOAD
    photo_urls: list[str]
    cover_index: int
    title: str = ""
    description: str = ""
    privacy_level: str | None = None  # direct mode only
    disable_comment: bool = False
    auto_add_music: bool = False

    def body(self) -> dict[str, Any]:
        post_info: dict[str, Any] = {}
        if self.title:
            post_info["title"] = self.title
        if self.description:
            post_info["description"] = self.description
        if self.post_mode == "DIRECT_POST":
            post_info.update(
                privacy_level=self.privacy_level,
                disable_comment=self.disable_comment,
                auto_add_music=self.auto_add_music,
                brand_content_toggle=False,
                brand_organic_toggle=False,
            )
        return {
            "media_type": "PHOTO",
            "post_mode": self.post_mode,
            "post_info": post_info,
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_images": self.photo_urls,
                "photo_cover_index": self.cover_index,
            },
        }


@dataclass(frozen=True)
class PublishStatus:
    status: str  # PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED, ...
    fail_reason: str = ""
    post_ids: tuple[str, ...] = field(default_factory=tuple)
    log_id: str = ""


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    open_id: str

    def __repr__(self) -> str:
        return f"TokenGrant(open_id={self.open_id!r}, expires_in={self.expires_in}, <tokens redacted>)"


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per access token; calls beyond them wait (0 = no pacing)."""

    init: int = 6
    status: int = 30
    creator_info: int = 20
    window: float = 60.0


class TikTokClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        limits: RateLimits = RateLimits(),
        observe: Observer | None = None,
        on_wait: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._observe = observe
        self._on_wait = on_wait
        self.pacers = {
            "init": SlidingWindowPacer(limits.init, limits.window),
            "status": SlidingWindowPacer(limits.status, limits.window),
            "creator_info": SlidingWindowPacer(limits.creator_info, limits.window),
        }

    async def _call(self, endpoint: str, path: str, token: str, body: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
        waited = await self.pacers[endpoint].acquire(token)
        if waited and self._on_wait is not None:
            self._on_wait(PLATFORM, endpoint, waited)
        status, payload, headers = await request_json(
            self._session,
            PLATFORM,
            endpoint,
            "POST",
            f"{self._base}{path}",
            token=token,
            json_body=body if body is not None else {},
            observe=self._observe,
        )
        error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
        code = str(error.get("code", "") or ("ok" if status < 400 else ""))
        log_id = str(error.get("log_id", "") or "")
        if status >= 400 or code != "ok":
            raise PlatformError(
                platform=PLATFORM,
                endpoint=endpoint,
                http_status=status,
                code=code or f"http_{status}",
                message=str(error.get("message", "") or f"HTTP {status}"),
                trace_id=log_id,
                transient=status >= 500 or code == "internal_error",
                retry_after=retry_after_seconds(headers),
            )
        data = payload.get("data")
        return (data if isinstance(data, dict) else {}), log_id

    async def creator_info(self, token: str) -> CreatorInfo:
        data, _ = await self._call("creator_info", "/v2/post/publish/creator_info/query/", token, None)
        return CreatorInfo(
            username=str(data.get("creator_username", "")),
            nickname=str(data.get("creator_nickname", "")),
            privacy_level_options=tuple(str(o) for o in data.get("privacy_level_options") or ()),
            comment_disabled=bool(data.get("comment_disabled", False)),
        )

    async def init_photo_post(self, token: str, post: PhotoPost) -> str:
        """Starts a photo post; returns TikTok's publish_id. Changes the platform."""
        data, _ = await self._call("init", "/v2/post/publish/content/init/", token, post.body())
        publish_id = data.get("publish_id")
        if not publish_id:
            raise PlatformError(PLATFORM, "init", 200, "invalid_response", "init returned no publish_id")
        return str(publish_id)

    async def fetch_status(self, token: str, publish_id: str) -> PublishStatus:
        data, log_id = await self._call(
            "status", "/v2/post/publish/status/fetch/", token, {"publish_id": publish_id}
        )
        # Post ids are int64 and may exceed 2^53: Python's json keeps them exact; carry as text.
        post_ids = tuple(str(p) for p in data.get("publicaly_available_post_id") or ())
        return PublishStatus(
            status=str(data.get("status", "")),
            fail_reason=str(data.get("fail_reason", "") or ""),
            post_ids=post_ids,
            log_id=log_id,
        )

    async def refresh(self, client_key: str, client_secret: str, refresh_token: str) -> TokenGrant:
        """Refresh grant. The returned refresh_token replaces the old one (TikTok rotates them)."""
        status, payload, headers = await request_json(
            self._session,
            PLATFORM,
            "token",
            "POST",
            f"{self._base}/v2/oauth/token/",
            form={
                "client_key": client_key,
                "client_secret": client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            observe=self._observe,
        )
        if status >= 400 or "error" in payload and not payload.get("access_token"):
            raise PlatformError(
                platform=PLATFORM,
                endpoint="token",
                http_status=status,
                code=str(payload.get("error", f"http_{status}")),
                message=str(payload.get("error_description", "")),
                trace_id=str(payload.get("log_id", "")),
                transient=status >= 500,
                retry_after=retry_after_seconds(headers),
            )
        return TokenGrant(
            access_token=str(payload["access_token"]),
            expires_in=int(payload.get("expires_in", 0)),
            refresh_token=str(payload.get("refresh_token", refresh_token)),
            refresh_expires_in=int(payload.get("refresh_expires_in", 0)),
            open_id=str(payload.get("open_id", "")),
        )
