"""A scriptable Instagram Graph API (the InstagramApi port) for the unit layer.

Healthy by default: containers are FINISHED when first read, media_publish posts the
carousel (its container turns PUBLISHED, the post shows in the account's recent media),
permalinks are readable, the quota is 50 posts a day. Ids are predictable: item
containers `child-1`, `child-2`, ... in creation order, carousels `carousel-1`, ..., posts
`1790000000000001`, ....

Container statuses are scripted per container id in `statuses`: each read takes the next
entry, the last one stays ("IN_PROGRESS", "FINISHED", "EXPIRED", "PUBLISHED", "ERROR" or
"ERROR <subcode>"). Failures come from `IgFailure`, which builds them with the Instagram
adapter's own error table (server/adapters/instagram/errors.py), so a fake failure means
exactly what the real one does: whether it may be resent and whether it may have posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from server.adapters.http import NoUsableAnswer
from server.adapters.instagram.errors import bad_answer, container_error, graph_failure, no_answer_failure
from server.domain.options import UserTag
from server.domain.platforms import ContainerStatus, IgComment, IgMedia, PlatformFailure, PublishingLimit
from server.domain.ports import SingleMediaPost
from tests.fakes.clock import FakeClock
from tests.fakes.scripted import ScriptedApi

# The adapter's endpoint name for each port method (what a failure and the metrics name).
ENDPOINTS = {
    "create_image_container": "create_container",
    "create_carousel_container": "create_container",
    "create_media_container": "create_container",
    "container_statuses": "container_status",
    "publish": "media_publish",
    "media": "media_read",
    "recent_media": "media_list",
    "refresh_long_lived_token": "token_refresh",
    "publishing_limit": "publishing_limit",
    "comment": "comment_create",
    "comments": "comment_list",
}
LONG_LIVED_SECONDS = 60 * 86400


class IgFailure:
    """PlatformFailures as the Instagram adapter raises them, for a port method's call."""

    @staticmethod
    def answered(
        method: str,
        *,
        status: int = 400,
        code: str = "100",
        subcode: str = "",
        message: str = "Invalid parameter",
        is_transient: bool = False,
        retry_after: float | None = None,
        trace_id: str = "AbCdEfTrace",
    ) -> PlatformFailure:
        """Graph answered with its error envelope."""
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": int(code),
                                 "fbtrace_id": trace_id, "is_transient": is_transient}
        if subcode:
            error["error_subcode"] = int(subcode)
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        return graph_failure(ENDPOINTS[method], status, {"error": error}, headers)

    @staticmethod
    def server_error(method: str, status: int = 500) -> PlatformFailure:
        """An HTTP 5xx: transient; on media_publish it may come after the post went live."""
        return IgFailure.answered(method, status=status, code="2", message="Service temporarily unavailable",
                                  is_transient=True)

    @staticmethod
    def not_ready() -> PlatformFailure:
        """media_publish: "the media is not ready for publishing" (nothing was posted)."""
        return IgFailure.answered("publish", code="9007", subcode="2207027", message="Media ID is not available")

    @staticmethod
    def token_rejected(method: str) -> PlatformFailure:
        return IgFailure.answered(method, status=400, code="190", message="Error validating access token")

    @staticmethod
    def rate_limited(method: str, retry_after: float | None = None) -> PlatformFailure:
        return IgFailure.answered(method, status=400, code="4", message="Application request limit reached",
                                  retry_after=retry_after)

    @staticmethod
    def fetch_failed(method: str = "create_image_container") -> PlatformFailure:
        """The image URL could not be downloaded (subcode 2207052)."""
        return IgFailure.answered(method, code="9004", subcode="2207052",
                                  message="The media could not be fetched from this uri")

    @staticmethod
    def timed_out(method: str) -> PlatformFailure:
        """The request was sent and no answer came (timeout or reset)."""
        return no_answer_failure(ENDPOINTS[method], NoUsableAnswer("no answer in time", sent=True))

    @staticmethod
    def refused(method: str) -> PlatformFailure:
        """No connection was made: the request never reached Instagram."""
        return no_answer_failure(ENDPOINTS[method], NoUsableAnswer("cannot connect: refused", sent=False))

    @staticmethod
    def bad_answer(method: str) -> PlatformFailure:
        """An answer without what the API promises (no id, no status)."""
        return bad_answer(ENDPOINTS[method], "carries no id")


def graph_timestamp(moment: datetime) -> str:
    """A time as Graph writes it, e.g. 2026-03-02T09:00:00+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeInstagram(ScriptedApi):
    def __init__(self, clock: FakeClock | None = None) -> None:
        super().__init__()
        self._clock = clock or FakeClock()
        self.statuses: dict[str, list[str]] = {}  # container id -> statuses still to report
        self.captions: dict[str, str] = {}  # carousel container id -> caption
        self.posts: dict[str, list[IgMedia]] = {}  # IG user id -> posts, oldest first
        self.permalinks_ready = True
        self.quota_usage = 0
        self.quota_total = 50
        self._counts = {"child": 0, "carousel": 0, "image": 0, "reel": 0, "post": 0, "token": 0, "comment": 0}
        self.comments_on: dict[str, list[IgComment]] = {}  # IG media id -> its comments, oldest first
        self.comment_author = ""  # the IG user id comments are listed under ("": not given)

    # --- helpers for tests -----------------------------------------------------------------

    def add_container(self, container_id: str, *statuses: str) -> None:
        """A container the platform knows (e.g. one a crashed run created)."""
        self.statuses[container_id] = list(statuses or ("FINISHED",))

    def add_post(self, ig_user_id: str, caption: str | None, timestamp: datetime | None = None) -> IgMedia:
        """A post on the account that this service did not make (or whose answer it lost)."""
        self._counts["post"] += 1
        number = self._counts["post"]
        post = IgMedia(
            id=f"179000000000000{number}",
            permalink=f"https://www.instagram.com/p/Post{number}/",
            shortcode=f"Post{number}",
            timestamp=graph_timestamp(timestamp or self._clock.now()),
            caption=caption,
        )
        self.posts.setdefault(ig_user_id, []).append(post)
        return post

    def status_of(self, container_id: str) -> str:
        """The status the container's next read reports."""
        return self.statuses[container_id][0]

    # --- the port --------------------------------------------------------------------------

    async def create_image_container(
        self, token: str, ig_user_id: str, image_url: str, *, alt_text: str = "", user_tags: Sequence[UserTag] = ()
    ) -> str:
        def effect() -> str:
            self._counts["child"] += 1
            container_id = f"child-{self._counts['child']}"
            self.statuses.setdefault(container_id, ["FINISHED"])
            return container_id

        args: dict[str, Any] = {"token": token, "ig_user_id": ig_user_id, "image_url": image_url}
        # Options appear in the call's record only when set (as the adapter sends them).
        if alt_text:
            args["alt_text"] = alt_text
        if user_tags:
            args["user_tags"] = list(user_tags)
        return await self._answer("create_image_container", args, effect)

    async def create_media_container(self, token: str, ig_user_id: str, post: SingleMediaPost) -> str:
        def effect() -> str:
            kind = "reel" if post.reel else "image"
            self._counts[kind] += 1
            container_id = f"{kind}-{self._counts[kind]}"
            self.statuses.setdefault(container_id, ["FINISHED"])
            self.captions[container_id] = post.caption
            return container_id

        return await self._answer("create_media_container", {"token": token, "ig_user_id": ig_user_id, "post": post},
                                  effect)

    async def create_carousel_container(
        self, token: str, ig_user_id: str, children: Sequence[str], caption: str,
        *, collaborators: Sequence[str] = (), location_id: str = "",
    ) -> str:
        def effect() -> str:
            self._counts["carousel"] += 1
            container_id = f"carousel-{self._counts['carousel']}"
            self.statuses.setdefault(container_id, ["FINISHED"])
            self.captions[container_id] = caption
            return container_id

        args: dict[str, Any] = {
            "token": token, "ig_user_id": ig_user_id, "children": list(children), "caption": caption,
        }
        if collaborators:
            args["collaborators"] = list(collaborators)
        if location_id:
            args["location_id"] = location_id
        return await self._answer("create_carousel_container", args, effect)

    async def container_statuses(self, token: str, container_ids: Sequence[str]) -> dict[str, ContainerStatus]:
        def effect() -> dict[str, ContainerStatus]:
            unknown = [cid for cid in container_ids if cid not in self.statuses]
            if unknown:
                raise IgFailure.answered("container_statuses", code="100", subcode="33",
                                         message=f"Object {unknown[0]} does not exist")
            return {cid: self._read_status(cid) for cid in container_ids}

        return await self._answer("container_statuses", {"token": token, "container_ids": list(container_ids)}, effect)

    async def publish(self, token: str, ig_user_id: str, creation_id: str) -> str:
        def effect() -> str:
            if self.statuses.get(creation_id, ["FINISHED"])[0] != "FINISHED":
                raise IgFailure.not_ready()
            post = self.add_post(ig_user_id, self.captions.get(creation_id, ""))
            self.statuses[creation_id] = ["PUBLISHED"]
            self.quota_usage += 1
            return post.id

        args = {"token": token, "ig_user_id": ig_user_id, "creation_id": creation_id}
        return await self._answer("publish", args, effect)

    async def media(self, token: str, media_id: str) -> IgMedia:
        def effect() -> IgMedia:
            post = next((p for posts in self.posts.values() for p in posts if p.id == media_id), None)
            if post is None:
                raise IgFailure.answered("media", code="100", subcode="33", message=f"Object {media_id} does not exist")
            # The adapter does not ask for the caption here.
            return IgMedia(post.id, post.permalink if self.permalinks_ready else "", post.shortcode, post.timestamp)

        return await self._answer("media", {"token": token, "media_id": media_id}, effect)

    async def recent_media(self, token: str, ig_user_id: str, limit: int = 25) -> list[IgMedia]:
        def effect() -> list[IgMedia]:
            return list(reversed(self.posts.get(ig_user_id, [])))[:limit]

        return await self._answer("recent_media", {"token": token, "ig_user_id": ig_user_id, "limit": limit}, effect)

    async def comment(self, token: str, media_id: str, message: str) -> str:
        def effect() -> str:
            self._counts["comment"] += 1
            comment = IgComment(f"comment-{self._counts['comment']}", message, self.comment_author)
            self.comments_on.setdefault(media_id, []).append(comment)
            return comment.id

        return await self._answer("comment", {"token": token, "media_id": media_id, "message": message}, effect)

    async def comments(self, token: str, media_id: str) -> list[IgComment]:
        def effect() -> list[IgComment]:
            return list(self.comments_on.get(media_id, []))

        return await self._answer("comments", {"token": token, "media_id": media_id}, effect)

    async def refresh_long_lived_token(self, token: str) -> tuple[str, int]:
        def effect() -> tuple[str, int]:
            self._counts["token"] += 1
            return f"ig-token-{self._counts['token']}", LONG_LIVED_SECONDS

        return await self._answer("refresh_long_lived_token", {"token": token}, effect)

    async def publishing_limit(self, token: str, ig_user_id: str) -> PublishingLimit:
        def effect() -> PublishingLimit:
            return PublishingLimit(quota_usage=self.quota_usage, quota_total=self.quota_total, quota_duration=86400)

        return await self._answer("publishing_limit", {"token": token, "ig_user_id": ig_user_id}, effect)

    # --- internals -------------------------------------------------------------------------

    def _read_status(self, container_id: str) -> ContainerStatus:
        script = self.statuses[container_id]
        entry = script.pop(0) if len(script) > 1 else script[0]
        code, _, subcode = entry.partition(" ")
        if code != "ERROR":
            return ContainerStatus(container_id, code, code.title())
        text = f"Error: Media upload has failed with error code {subcode}" if subcode else "Error"
        return ContainerStatus(container_id, "ERROR", text, container_error(text))
