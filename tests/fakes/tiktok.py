"""A scriptable TikTok Content Posting API (the TikTokApi port) for the unit layer.

Healthy by default: the creator may use every privacy level, init accepts the post as
`v_pub_1`, `v_pub_2`, ..., a direct post reads PUBLISH_COMPLETE (no public post id: TikTok
gives one only after moderation) and an inbox upload SEND_TO_USER_INBOX, refresh grants
rotate both tokens.

Statuses are scripted per publish id in `statuses` (set them before the run: ids are
predictable): each read takes the next entry, the last one stays. An entry is a status
name or a `PublishStatus` (see `status()`). Failures come from `TikTokFailure`, built with
the TikTok adapter's own error table (server/adapters/tiktok/errors.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from server.adapters.http import NoUsableAnswer
from server.adapters.tiktok.errors import api_failure, bad_answer, fail_reason_error, no_answer_failure, oauth_failure
from server.adapters.tiktok.video import upload_failure
from server.domain.platforms import (
    CreatorInfo,
    PhotoPost,
    PlatformFailure,
    PublishStatus,
    TokenGrant,
    VideoInit,
    VideoPost,
)
from tests.fakes.scripted import ScriptedApi

ENDPOINTS = {
    "creator_info": "creator_info",
    "init_photo_post": "init",
    "fetch_status": "status",
    "refresh": "token",
    "init_video_post": "init",
}
ALL_PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
PRIVATE_CREATOR_LEVELS = ("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")


def status(name: str, *, post_ids: tuple[str, ...] = (), fail_reason: str = "", log_id: str = "log-1") -> PublishStatus:
    """A status/fetch answer as the adapter builds it (a FAILED one carries its mapped failure)."""
    return PublishStatus(
        status=name, fail_reason=fail_reason, post_ids=post_ids, log_id=log_id,
        failure=fail_reason_error(fail_reason, log_id) if name == "FAILED" else None,
    )


class TikTokFailure:
    """PlatformFailures as the TikTok adapter raises them, for a port method's call."""

    @staticmethod
    def answered(
        method: str,
        *,
        status: int = 200,
        code: str = "invalid_params",
        message: str = "",
        log_id: str = "log-err-1",
        retry_after: float | None = None,
    ) -> PlatformFailure:
        """TikTok answered with an error.code other than "ok" (often with HTTP 200)."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        return api_failure(ENDPOINTS[method], status, code, message, log_id, headers)

    @staticmethod
    def server_error(method: str, status: int = 500) -> PlatformFailure:
        """internal_error with a 5xx: transient; on init it may come after the post was accepted."""
        return TikTokFailure.answered(method, status=status, code="internal_error", message="Something went wrong")

    @staticmethod
    def rate_limited(method: str, retry_after: float | None = None) -> PlatformFailure:
        """HTTP 429 rate_limit_exceeded: proves nothing was done; may be resent."""
        return TikTokFailure.answered(method, status=429, code="rate_limit_exceeded", retry_after=retry_after)

    @staticmethod
    def token_rejected(method: str) -> PlatformFailure:
        return TikTokFailure.answered(method, status=401, code="access_token_invalid",
                                      message="The access token is invalid or not found in the request.")

    @staticmethod
    def timed_out(method: str) -> PlatformFailure:
        """The request was sent and no answer came (timeout or reset)."""
        return no_answer_failure(ENDPOINTS[method], NoUsableAnswer("no answer in time", sent=True))

    @staticmethod
    def refused(method: str) -> PlatformFailure:
        """No connection was made: the request never reached TikTok."""
        return no_answer_failure(ENDPOINTS[method], NoUsableAnswer("cannot connect: refused", sent=False))

    @staticmethod
    def refresh_refused() -> PlatformFailure:
        """The token endpoint refused the refresh grant (invalid_grant): final."""
        return oauth_failure(400, {"error": "invalid_grant", "error_description": "Refresh token is invalid",
                                   "log_id": "log-oauth"}, {})

    @staticmethod
    def upload_refused(status: int) -> PlatformFailure:
        """The upload URL answered a chunk PUT with `status` (403 expired, 416 wrong range, 5xx)."""
        return upload_failure(status, f"HTTP {status}")

    @staticmethod
    def bad_answer(method: str) -> PlatformFailure:
        """An "ok" answer without what the API promises (for init: no publish_id)."""
        return bad_answer(ENDPOINTS[method], "carries no publish_id")


class FakeTikTok(ScriptedApi):
    def __init__(self) -> None:
        super().__init__()
        self.privacy_level_options: tuple[str, ...] = ALL_PRIVACY_LEVELS
        self.nickname = "Creator"
        self.comment_disabled = False  # the creator turned comments off for their account
        self.statuses: dict[str, list[str | PublishStatus]] = {}
        self.posts: dict[str, PhotoPost] = {}  # publish id -> what init sent
        self.videos: dict[str, VideoPost] = {}  # publish id -> what video init sent
        self.max_video_post_duration_sec = 600
        self.duet_disabled = False
        self.stitch_disabled = False
        # Each acknowledged chunk: (upload_url, first, last, total, bytes received), in order;
        # and the largest piece any chunk body was streamed in.
        self.chunks: list[tuple[str, int, int, int, int]] = []
        self.largest_piece = 0
        self._counts = {"publish": 0, "grant": 0}

    async def creator_info(self, token: str) -> CreatorInfo:
        def effect() -> CreatorInfo:
            return CreatorInfo("creator", self.nickname, self.privacy_level_options,
                               comment_disabled=self.comment_disabled, duet_disabled=self.duet_disabled,
                               stitch_disabled=self.stitch_disabled,
                               max_video_post_duration_sec=self.max_video_post_duration_sec)

        return await self._answer("creator_info", {"token": token}, effect)

    async def init_photo_post(self, token: str, post: PhotoPost) -> str:
        def effect() -> str:
            self._counts["publish"] += 1
            publish_id = f"v_pub_{self._counts['publish']}"
            self.posts[publish_id] = post
            final = "SEND_TO_USER_INBOX" if post.post_mode == "MEDIA_UPLOAD" else "PUBLISH_COMPLETE"
            self.statuses.setdefault(publish_id, [final])
            return publish_id

        return await self._answer("init_photo_post", {"token": token, "post": post}, effect)

    async def fetch_status(self, token: str, publish_id: str) -> PublishStatus:
        def effect() -> PublishStatus:
            script = self.statuses.get(publish_id)
            if not script:
                raise TikTokFailure.answered("fetch_status", status=400, code="invalid_publish_id")
            entry = script.pop(0) if len(script) > 1 else script[0]
            return entry if isinstance(entry, PublishStatus) else status(entry)

        return await self._answer("fetch_status", {"token": token, "publish_id": publish_id}, effect)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        def effect() -> TokenGrant:
            self._counts["grant"] += 1
            n = self._counts["grant"]
            return TokenGrant(f"tt-access-{n}", 86400, f"tt-refresh-{n}", 365 * 86400, "open-id")

        return await self._answer("refresh", {"refresh_token": refresh_token}, effect)

    async def init_video_post(self, token: str, post: VideoPost) -> VideoInit:
        def effect() -> VideoInit:
            self._counts["publish"] += 1
            publish_id = f"v_pub_{self._counts['publish']}"
            self.videos[publish_id] = post
            final = "SEND_TO_USER_INBOX" if post.post_mode == "MEDIA_UPLOAD" else "PUBLISH_COMPLETE"
            self.statuses.setdefault(publish_id, [final])
            upload_url = f"https://upload.tiktok.test/{publish_id}" if post.source == "FILE_UPLOAD" else ""
            return VideoInit(publish_id, upload_url)

        return await self._answer("init_video_post", {"token": token, "post": post}, effect)

    async def upload_chunk(
        self, upload_url: str, first: int, last: int, total: int, content_type: str, body: AsyncIterable[bytes]
    ) -> None:
        """Reads the streamed body as TikTok would (recording the largest piece), then answers."""
        received = 0
        async for piece in body:
            self.largest_piece = max(self.largest_piece, len(piece))
            received += len(piece)

        def effect() -> None:
            self.chunks.append((upload_url, first, last, total, received))

        args = {"upload_url": upload_url, "first": first, "last": last, "total": total, "content_type": content_type}
        return await self._answer("upload_chunk", args, effect)
