"""Instagram Graph API adapter: the content-publishing calls, over aiohttp.

Only documented calls and parameters are used, so any Graph-API-compatible server
works behind DISTRIBUTION_INSTAGRAM_API_BASE (e.g. https://graph.facebook.com/v23.0).
See ../shared/reference/instagram-graph-api.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from server.platforms.errors import PlatformError
from server.platforms.http import Observer, request_json, retry_after_seconds

PLATFORM = "instagram"

# Graph accepts up to 50 ids in one multi-id read.
MAX_IDS_PER_READ = 50


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    status_code: str  # IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED
    status: str  # human text; for ERROR it carries the error subcode


@dataclass(frozen=True)
class IgMedia:
    id: str
    permalink: str
    shortcode: str
    timestamp: str
    caption: str | None = None  # only when asked for and the API gives it


@dataclass(frozen=True)
class PublishingLimit:
    quota_usage: int
    quota_total: int
    quota_duration: int


class InstagramClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, observe: Observer | None = None) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._observe = observe

    async def _call(
        self,
        endpoint: str,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        status, payload, headers = await request_json(
            self._session,
            PLATFORM,
            endpoint,
            method,
            f"{self._base}/{path}",
            token=token,
            params=params,
            json_body=body,
            content_type="application/json",
            observe=self._observe,
        )
        if status >= 400 or "error" in payload:
            raise _graph_error(endpoint, status, payload, headers)
        return payload

    async def create_image_container(self, token: str, ig_user_id: str, image_url: str) -> str:
        """Creates a carousel item container for one image; returns its container id."""
        body = {"image_url": image_url, "is_carousel_item": True}
        payload = await self._call("create_container", "POST", f"{ig_user_id}/media", token, body=body)
        return _id(payload, "create_container")

    async def create_carousel_container(
        self, token: str, ig_user_id: str, children: list[str], caption: str
    ) -> str:
        """Creates the carousel container (caption goes here, never on the children)."""
        body: dict[str, Any] = {"media_type": "CAROUSEL", "children": ",".join(children)}
        if caption:
            body["caption"] = caption
        payload = await self._call("create_container", "POST", f"{ig_user_id}/media", token, body=body)
        return _id(payload, "create_container")

    async def container_statuses(self, token: str, container_ids: list[str]) -> dict[str, ContainerStatus]:
        """Reads the status of several containers, one multi-id request per 50 ids."""
        result: dict[str, ContainerStatus] = {}
        for start in range(0, len(container_ids), MAX_IDS_PER_READ):
            chunk = container_ids[start : start + MAX_IDS_PER_READ]
            if len(chunk) == 1:
                payload = {chunk[0]: await self._call(
                    "container_status", "GET", chunk[0], token, params={"fields": "status_code,status"}
                )}
            else:
                payload = await self._call(
                    "batch_status", "GET", "", token,
                    params={"ids": ",".join(chunk), "fields": "status_code,status"},
                )
            for cid in chunk:
                item = payload.get(cid)
                if not isinstance(item, dict) or "status_code" not in item:
                    raise PlatformError(PLATFORM, "container_status", 200, "", f"no status for container {cid}")
                result[cid] = ContainerStatus(cid, str(item["status_code"]), str(item.get("status", "")))
        return result

    async def publish(self, token: str, ig_user_id: str, creation_id: str) -> str:
        """Publishes a FINISHED container; returns the IG media id. Changes the platform."""
        payload = await self._call(
            "media_publish", "POST", f"{ig_user_id}/media_publish", token, body={"creation_id": creation_id}
        )
        return _id(payload, "media_publish")

    async def media(self, token: str, media_id: str) -> IgMedia:
        payload = await self._call(
            "media_read", "GET", media_id, token, params={"fields": "id,permalink,shortcode,timestamp"}
        )
        return _ig_media(payload)

    async def recent_media(self, token: str, ig_user_id: str, limit: int = 25) -> list[IgMedia]:
        payload = await self._call(
            "media_list", "GET", f"{ig_user_id}/media", token,
            params={"fields": "id,permalink,shortcode,timestamp,caption", "limit": str(limit)},
        )
        return [_ig_media(item) for item in payload.get("data", []) if isinstance(item, dict)]

    async def refresh_long_lived_token(self, token: str) -> tuple[str, int]:
        """Instagram Login: a fresh 60-day token for a long-lived one (at least 24 h old).
        Returns (access token, expires_in seconds). The endpoint lives at the host root;
        the token travels in the Authorization header like every other call."""
        parts = urlsplit(self._base)
        status, payload, headers = await request_json(
            self._session, PLATFORM, "token_refresh", "GET",
            f"{parts.scheme}://{parts.netloc}/refresh_access_token",
            token=token, params={"grant_type": "ig_refresh_token"}, observe=self._observe,
        )
        if status >= 400 or "error" in payload or not payload.get("access_token"):
            raise _graph_error("token_refresh", status, payload, headers)
        return str(payload["access_token"]), int(payload.get("expires_in", 0))

    async def publishing_limit(self, token: str, ig_user_id: str) -> PublishingLimit:
        payload = await self._call(
            "publishing_limit", "GET", f"{ig_user_id}/content_publishing_limit", token,
            params={"fields": "quota_usage,config"},
        )
        data = (payload.get("data") or [{}])[0]
        config = data.get("config") or {}
        return PublishingLimit(
            quota_usage=int(data.get("quota_usage", 0)),
            quota_total=int(config.get("quota_total", 0)),
            quota_duration=int(config.get("quota_duration", 86400)),
        )


def _id(payload: dict[str, Any], endpoint: str) -> str:
    value = payload.get("id")
    if not value:
        raise PlatformError(PLATFORM, endpoint, 200, "", "response carries no id")
    return str(value)


def _ig_media(payload: dict[str, Any]) -> IgMedia:
    return IgMedia(
        id=str(payload.get("id", "")),
        permalink=str(payload.get("permalink", "")),
        shortcode=str(payload.get("shortcode", "")),
        timestamp=str(payload.get("timestamp", "")),
        caption=str(payload["caption"]) if "caption" in payload else None,
    )


def _graph_error(endpoint: str, status: int, payload: dict[str, Any], headers: dict[str, str]) -> PlatformError:
    error = payload.get("error")
    if not isinstance(error, dict):
        error = {}
    return PlatformError(
        platform=PLATFORM,
        endpoint=endpoint,
        http_status=status,
        code=str(error.get("code", "")),
        subcode=str(error.get("error_subcode", "") or ""),
        message=str(error.get("message", f"HTTP {status}")),
        user_message=str(error.get("error_user_msg", "") or ""),
        trace_id=str(error.get("fbtrace_id", "") or ""),
        transient=bool(error.get("is_transient", False)) or status >= 500,
        retry_after=retry_after_seconds(headers),
    )
