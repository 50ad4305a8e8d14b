"""Instagram Graph API adapter: the content-publishing calls, over aiohttp.

Only documented calls and parameters are used, so any Graph-API-compatible server
works behind DISTRIBUTION_INSTAGRAM_API_BASE (e.g. https://graph.facebook.com/v23.0).
The calls are docs/platforms.md's "Instagram flow". Every failure is raised as a
PlatformFailure judged by `errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from server.adapters.http import NoUsableAnswer, Observer, request_json
from server.adapters.instagram.errors import (
    COMMENT_ENDPOINT,
    PLATFORM,
    bad_answer,
    container_error,
    graph_failure,
    no_answer_failure,
)
from server.domain.options import UserTag
from server.domain.platforms import ContainerStatus, IgComment, IgMedia, PublishingLimit
from server.domain.ports import SingleMediaPost

# Graph accepts up to 50 ids in one multi-id read.
MAX_IDS_PER_READ = 50
# Pages of comments read when looking for a first comment (50 each).
MAX_COMMENT_PAGES = 10


class InstagramClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, observe: Observer | None = None) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._observe = observe

    async def _call(
        self,
        endpoint: str,
        method: str,
        url: str,
        token: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            status, payload, headers = await request_json(
                self._session, PLATFORM, endpoint, method, url,
                token=token, params=params, json_body=body, observe=self._observe,
            )
        except NoUsableAnswer as exc:
            raise no_answer_failure(endpoint, exc) from None
        if status >= 400 or "error" in payload:
            raise graph_failure(endpoint, status, payload, headers)
        return payload

    def _url(self, path: str) -> str:
        return f"{self._base}/{path}"

    async def create_image_container(
        self, token: str, ig_user_id: str, image_url: str, *, alt_text: str = "", user_tags: Sequence[UserTag] = ()
    ) -> str:
        """An item container: alt_text and user_tags belong on items (docs/platforms.md, "Instagram post options")."""
        body: dict[str, Any] = {"image_url": image_url, "is_carousel_item": True}
        if alt_text:
            body["alt_text"] = alt_text
        if user_tags:
            # A JSON body carries the array as such (no URL-encoding of the list needed).
            body["user_tags"] = [{"username": t.username, "x": t.x, "y": t.y} for t in user_tags]
        payload = await self._call("create_container", "POST", self._url(f"{ig_user_id}/media"), token, body=body)
        return _id(payload, "create_container")

    async def create_media_container(self, token: str, ig_user_id: str, post: SingleMediaPost) -> str:
        """A single image (image_url) or a Reel (media_type=REELS, video_url), with the
        caption and the options that fit it (docs/platforms.md, "Instagram single image and Reel")."""
        body: dict[str, Any] = (
            {"media_type": "REELS", "video_url": post.url} if post.reel else {"image_url": post.url}
        )
        optional: dict[str, Any] = {
            "caption": post.caption,
            "alt_text": post.alt_text,
            "user_tags": [{"username": t.username, "x": t.x, "y": t.y} for t in post.user_tags],
            "collaborators": list(post.collaborators),
            "location_id": post.location_id,
            "cover_url": post.cover_url,
        }
        body.update({name: value for name, value in optional.items() if value})
        if post.thumb_offset_ms is not None:
            body["thumb_offset"] = post.thumb_offset_ms
        if post.share_to_feed is not None:
            body["share_to_feed"] = post.share_to_feed
        payload = await self._call("create_container", "POST", self._url(f"{ig_user_id}/media"), token, body=body)
        return _id(payload, "create_container")

    async def create_carousel_container(
        self, token: str, ig_user_id: str, children: Sequence[str], caption: str,
        *, collaborators: Sequence[str] = (), location_id: str = "",
    ) -> str:
        """The caption, collaborators and location go on the carousel container, never on
        its children (Graph: "param collaborators is not allowed for carousel child")."""
        body: dict[str, Any] = {"media_type": "CAROUSEL", "children": ",".join(children)}
        if caption:
            body["caption"] = caption
        if collaborators:
            body["collaborators"] = list(collaborators)
        if location_id:
            body["location_id"] = location_id
        payload = await self._call("create_container", "POST", self._url(f"{ig_user_id}/media"), token, body=body)
        return _id(payload, "create_container")

    async def container_statuses(self, token: str, container_ids: Sequence[str]) -> dict[str, ContainerStatus]:
        """Reads the status of several containers, one multi-id request per 50 ids."""
        result: dict[str, ContainerStatus] = {}
        fields = {"fields": "status_code,status"}
        for start in range(0, len(container_ids), MAX_IDS_PER_READ):
            chunk = list(container_ids[start : start + MAX_IDS_PER_READ])
            if len(chunk) == 1:
                payload = {chunk[0]: await self._call("container_status", "GET", self._url(chunk[0]), token,
                                                      params=fields)}
            else:
                payload = await self._call("batch_status", "GET", self._url(""), token,
                                           params={"ids": ",".join(chunk), **fields})
            for cid in chunk:
                item = payload.get(cid)
                if not isinstance(item, dict) or "status_code" not in item:
                    raise bad_answer("container_status", f"has no status for container {cid}")
                status_code, text = str(item["status_code"]), str(item.get("status", ""))
                error = container_error(text) if status_code == "ERROR" else None
                result[cid] = ContainerStatus(cid, status_code, text, error)
        return result

    async def publish(self, token: str, ig_user_id: str, creation_id: str) -> str:
        payload = await self._call(
            "media_publish", "POST", self._url(f"{ig_user_id}/media_publish"), token,
            body={"creation_id": creation_id},
        )
        return _id(payload, "media_publish")

    async def media(self, token: str, media_id: str) -> IgMedia:
        payload = await self._call(
            "media_read", "GET", self._url(media_id), token, params={"fields": "id,permalink,shortcode,timestamp"}
        )
        return _ig_media(payload)

    async def recent_media(self, token: str, ig_user_id: str, limit: int = 25) -> list[IgMedia]:
        payload = await self._call(
            "media_list", "GET", self._url(f"{ig_user_id}/media"), token,
            params={"fields": "id,permalink,shortcode,timestamp,caption", "limit": str(limit)},
        )
        return [_ig_media(item) for item in payload.get("data", []) if isinstance(item, dict)]

    async def comment(self, token: str, media_id: str, message: str) -> str:
        payload = await self._call(
            COMMENT_ENDPOINT, "POST", self._url(f"{media_id}/comments"), token, body={"message": message}
        )
        return _id(payload, COMMENT_ENDPOINT)

    async def comments(self, token: str, media_id: str) -> list[IgComment]:
        """The media's comments, every page (a first comment is looked for right after the
        post went live, so there are few)."""
        found: list[IgComment] = []
        params = {"fields": "id,text,from", "limit": "50"}
        for _ in range(MAX_COMMENT_PAGES):
            payload = await self._call("comment_list", "GET", self._url(f"{media_id}/comments"), token, params=params)
            for item in payload.get("data", []):
                if isinstance(item, dict):
                    author = item.get("from")
                    found.append(IgComment(
                        id=str(item.get("id", "")), text=str(item.get("text", "")),
                        from_id=str(author.get("id", "")) if isinstance(author, dict) else "",
                    ))
            after = ((payload.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (payload.get("paging") or {}).get("next"):
                break
            params = {**params, "after": str(after)}
        return found

    async def refresh_long_lived_token(self, token: str) -> tuple[str, int]:
        """Instagram Login: a fresh 60-day token for a long-lived one (at least 24 h old).
        The endpoint lives at the host root; the token travels in the Authorization header
        like every other call."""
        parts = urlsplit(self._base)
        payload = await self._call(
            "token_refresh", "GET", f"{parts.scheme}://{parts.netloc}/refresh_access_token", token,
            params={"grant_type": "ig_refresh_token"},
        )
        if not payload.get("access_token"):
            raise bad_answer("token_refresh", "carries no access_token")
        return str(payload["access_token"]), int(payload.get("expires_in", 0))

    async def publishing_limit(self, token: str, ig_user_id: str) -> PublishingLimit:
        payload = await self._call(
            "publishing_limit", "GET", self._url(f"{ig_user_id}/content_publishing_limit"), token,
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
        raise bad_answer(endpoint, "carries no id")
    return str(value)


def _ig_media(payload: dict[str, Any]) -> IgMedia:
    return IgMedia(
        id=str(payload.get("id", "")),
        permalink=str(payload.get("permalink", "")),
        shortcode=str(payload.get("shortcode", "")),
        timestamp=str(payload.get("timestamp", "")),
        caption=str(payload["caption"]) if "caption" in payload else None,
    )
