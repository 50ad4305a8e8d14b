"""The Instagram emulator's in-memory world: IG users, containers, published media, quotas.

Container status is computed when asked, from the wall clock (``time.time()``): no
background tasks, and a world saved to a state file and loaded again goes on where it
was. The checks raise the GraphError Instagram answers (README.md has the rules and their
order).
"""

from __future__ import annotations

import bisect
import collections
import random
import re
import string
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.sandbox.instagram import errors
from server.sandbox.instagram.config import DAY, InstagramSandboxConfig
from server.sandbox.instagram.rules import MAX_CHILDREN, MIN_CHILDREN
from server.sandbox.persist import token_key

IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED = (
    "IN_PROGRESS",
    "FINISHED",
    "ERROR",
    "EXPIRED",
    "PUBLISHED",
)
STATUS_TEXT = {
    IN_PROGRESS: "In Progress: Media is still being processed.",
    FINISHED: "Finished: Media has been uploaded and it is ready to be published.",
    EXPIRED: "Expired: Media container has expired. Please create a new container.",
    PUBLISHED: "Published: Media has been successfully published.",
}

_DIGITS_RE = re.compile(r"[0-9]+")
_SHORTCODE_ALPHABET = string.ascii_letters + string.digits + "_-"


# What a published container reads back as: a reel is a VIDEO (its media_product_type says REELS).
_MEDIA_TYPES = {"CAROUSEL": "CAROUSEL_ALBUM", "IMAGE": "IMAGE", "REELS": "VIDEO"}


@dataclass
class Container:
    id: str
    ig_user_id: str
    media_type: str  # "IMAGE", "REELS" or "CAROUSEL"
    is_carousel_item: bool
    image_url: str | None
    children: list[str]
    caption: str | None
    created_wall: float
    ready_at: float  # wall-clock time processing ends
    failure: int | None  # the 22070xx subcode the container fails with, if any
    extra: dict[str, Any]  # the other parameters it was created with, for inspection
    published_media_id: str | None = None


@dataclass
class Media:
    id: str
    ig_user_id: str
    creation_id: str
    media_type: str  # "CAROUSEL_ALBUM", "IMAGE" or "VIDEO" (a reel)
    caption: str | None
    shortcode: str
    published_wall: float
    media_url: str | None
    children: list[str] = field(default_factory=list)  # child media ids
    child_containers: list[str] = field(default_factory=list)
    # Comments, oldest first: {"id", "text", "timestamp", "from_id"}.
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def permalink(self) -> str:
        return f"https://www.instagram.com/p/{self.shortcode}/"

    @property
    def timestamp(self) -> str:
        return iso(self.published_wall)


class InstagramState:
    """Containers, media and IG users; `config` is shared with the control API, which may
    change it between calls."""

    def __init__(self, config: InstagramSandboxConfig) -> None:
        self.config = config
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.posts: list[str] = []  # top-level media ids, publish order
        # Kept as posts are made, so neither a new shortcode nor the quota walks every post.
        self._shortcodes: set[str] = set()
        self._post_times: dict[str, list[float]] = collections.defaultdict(list)  # ascending
        self._users: set[str] = set()
        self._container_times: dict[str, collections.deque[float]] = {}
        self._revoked: dict[str, float] = {}  # token hash -> when revoke_token() was called
        self._rng = random.Random()

    # --- tokens and users ------------------------------------------------------------------

    def revoke(self, token: str) -> None:
        self._revoked.setdefault(token_key(token), time.time())

    def revoked_at(self, token: str) -> float | None:
        return self._revoked.get(token_key(token))

    def user(self, ig_user_id: str, method: str) -> str:
        """Validates an IG user id (creating the user on first use)."""
        if not _DIGITS_RE.fullmatch(ig_user_id) or self.is_object(ig_user_id):
            raise errors.unsupported(method, ig_user_id)
        self._users.add(ig_user_id)
        return ig_user_id

    def is_object(self, object_id: str) -> bool:
        return object_id in self.containers or object_id in self.media

    # --- containers ------------------------------------------------------------------------

    def status_code(self, c: Container) -> str:
        if c.published_media_id is not None:
            return PUBLISHED
        now = time.time()
        ready = now >= c.ready_at
        if ready and c.failure is not None:
            return ERROR
        if now - c.created_wall >= self.config.container_ttl:
            return EXPIRED
        return FINISHED if ready else IN_PROGRESS

    @staticmethod
    def status_text(c: Container, status_code: str) -> str:
        if status_code == ERROR:
            return f"Error: Media upload has failed with error code {c.failure}"
        return STATUS_TEXT[status_code]

    def check_container_quota(self, ig_user_id: str) -> None:
        times = self._container_times.setdefault(ig_user_id, collections.deque())
        window_start = time.time() - DAY
        while times and times[0] <= window_start:
            times.popleft()
        if len(times) >= self.config.container_quota:
            raise errors.request_limit_reached()

    def check_carousel_items(self, ig_user_id: str, children: list[str]) -> None:
        """The children of a new carousel: 2..10 of this user's FINISHED carousel items."""
        if not MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            raise errors.carousel_size(len(children))
        items = [self._child(ig_user_id, child_id) for child_id in children]
        for item in items:
            if not item.is_carousel_item:
                raise errors.param_error(
                    f"The media with id {item.id} was not created with is_carousel_item=true "
                    "and cannot be a carousel item."
                )
        if any(self.status_code(item) != FINISHED for item in items):
            raise errors.not_ready()

    def _child(self, ig_user_id: str, child_id: str) -> Container:
        child = self.containers.get(child_id)
        if child is None or child.ig_user_id != ig_user_id:
            raise errors.media_not_found(child_id)
        return child

    def add_container(
        self,
        ig_user_id: str,
        media_type: str,
        *,
        is_item: bool,
        image_url: str | None,
        children: list[str],
        caption: str | None,
        failure: int | None,
        extra: dict[str, Any],
        processing: float | None = None,
    ) -> Container:
        """Stores a container that passed its checks; it processes for `processing` seconds
        (by default processing_delay)."""
        now = time.time()
        container = Container(
            id=self._new_id("17"),
            ig_user_id=ig_user_id,
            media_type=media_type,
            is_carousel_item=is_item,
            image_url=image_url,
            children=children,
            caption=caption,
            created_wall=now,
            ready_at=now + (self.config.processing_delay if processing is None else processing),
            failure=failure,
            extra=extra,
        )
        self.containers[container.id] = container
        self._container_times[ig_user_id].append(container.created_wall)
        return container

    # --- publishing ------------------------------------------------------------------------

    def publish(self, ig_user_id: str, creation_id: str) -> Media:
        """Publishes a container, after Instagram's checks in Instagram's order."""
        c = self._publishable(ig_user_id, creation_id)
        if self.quota_usage(ig_user_id) >= self.config.publish_quota:
            raise errors.publish_quota_reached()
        return self._publish(c)

    def _publishable(self, ig_user_id: str, creation_id: str) -> Container:
        c = self.containers.get(creation_id)
        if c is None:
            message = (
                f"The media builder with creation id {creation_id} does not exist or has expired"
            )
            raise errors.GraphError(
                24, message, subcode=2207008, user_title="Media builder not found"
            )
        if c.ig_user_id != ig_user_id:
            raise errors.media_not_found(creation_id)
        if c.is_carousel_item:
            raise errors.param_error(
                "A carousel item cannot be published on its own; publish its carousel container."
            )
        status_code = self.status_code(c)
        if status_code == PUBLISHED:
            # Never a duplicate post: Instagram refuses to publish a container twice.
            raise errors.GraphError(100, "The container has already been published")
        if status_code == EXPIRED:
            raise errors.expired()
        if status_code != FINISHED:
            raise errors.not_ready()
        return c

    def quota_usage(self, ig_user_id: str, since: float | None = None) -> int:
        """Posts `ig_user_id` published in the last 24 h (and since `since`, if given)."""
        window_start = time.time() - DAY
        if since is not None:
            window_start = max(window_start, since)
        times = self._post_times.get(ig_user_id, [])
        return len(times) - bisect.bisect_right(times, window_start)

    def _publish(self, c: Container) -> Media:
        media = Media(
            id=self._new_id("18"),
            ig_user_id=c.ig_user_id,
            creation_id=c.id,
            media_type=_MEDIA_TYPES[c.media_type],
            caption=c.caption,
            shortcode=self._new_shortcode(),
            published_wall=time.time(),
            media_url=c.image_url or c.extra.get("video_url"),
            child_containers=list(c.children),
        )
        self.media[media.id] = media
        for child_id in c.children:
            child = self._publish_child(self.containers[child_id], media)
            media.children.append(child.id)
        if media.children:
            media.media_url = self.media[media.children[0]].media_url
        c.published_media_id = media.id
        self.posts.append(media.id)
        self._post_times[media.ig_user_id].append(media.published_wall)
        return media

    def _publish_child(self, child: Container, parent: Media) -> Media:
        """A carousel's child goes live with it (and so cannot be reused)."""
        media = Media(
            id=self._new_id("18"),
            ig_user_id=child.ig_user_id,
            creation_id=child.id,
            media_type="IMAGE",
            caption=None,
            shortcode=parent.shortcode,
            published_wall=parent.published_wall,
            media_url=child.image_url,
        )
        self.media[media.id] = media
        child.published_media_id = media.id
        return media

    def _new_id(self, prefix: str) -> str:
        while True:
            candidate = prefix + "".join(self._rng.choices(string.digits, k=17 - len(prefix)))
            if not self.is_object(candidate) and candidate not in self._users:
                return candidate

    def _new_shortcode(self) -> str:
        while True:
            candidate = "".join(self._rng.choices(_SHORTCODE_ALPHABET, k=11))
            if candidate not in self._shortcodes:
                self._shortcodes.add(candidate)
                return candidate

    # --- comments --------------------------------------------------------------------------

    def add_comment(self, media_id: str, text: str) -> dict[str, Any]:
        """A comment by the owner on one of their posts (not on a carousel's item)."""
        m = self.media.get(media_id)
        if m is None or media_id not in self.posts:
            raise errors.unsupported("post", media_id)
        comment = {"id": self._new_id("179"), "text": text, "timestamp": iso(time.time()), "from_id": m.ig_user_id}
        m.comments.append(comment)
        return comment

    def comments_of(self, media_id: str) -> list[dict[str, Any]]:
        m = self.media.get(media_id)
        if m is None:
            raise errors.unsupported("get", media_id)
        return list(m.comments)

    # --- the state file ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Containers, media, the order of posts and revoked tokens (hashed), as JSON data."""
        return {
            "containers": [asdict(c) for c in self.containers.values()],
            "media": [asdict(m) for m in self.media.values()],
            "posts": list(self.posts),
            "revoked": dict(self._revoked),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replaces this world with a snapshot's; what is derived (quotas, shortcodes) is rebuilt."""
        containers = [Container(**c) for c in state["containers"]]
        media = [Media(**m) for m in state["media"]]
        posts = [str(p) for p in state["posts"]]
        revoked = {str(k): float(v) for k, v in state["revoked"].items()}
        self.containers = {c.id: c for c in containers}
        self.media = {m.id: m for m in media}
        missing = [p for p in posts if p not in self.media]
        if missing:
            raise ValueError(f"posts {missing} are not among the media")
        self.posts = posts
        self._revoked = revoked
        self._shortcodes = {m.shortcode for m in media}
        self._post_times = collections.defaultdict(list)
        for media_id in posts:
            self._post_times[self.media[media_id].ig_user_id].append(self.media[media_id].published_wall)
        for times in self._post_times.values():
            times.sort()
        self._container_times = {}
        for c in sorted(containers, key=lambda c: c.created_wall):
            self._container_times.setdefault(c.ig_user_id, collections.deque()).append(c.created_wall)

    # --- inspection ------------------------------------------------------------------------

    def post_records(self, ig_user_id: str | None = None) -> list[dict[str, Any]]:
        """Published media (carousels and single images), in publish order."""
        return [
            self._post_record(self.media[media_id])
            for media_id in self.posts
            if ig_user_id is None or self.media[media_id].ig_user_id == ig_user_id
        ]

    def stats(self) -> dict[str, Any]:
        """The duplicate detector: README.md, "Duplicate detector"."""
        groups: list[list[str]] = []
        where: dict[tuple[Any, ...], int] = {}
        for media_id in self.posts:
            m = self.media[media_id]
            keys = [
                ("container", m.creation_id),
                ("content", m.ig_user_id, m.caption or "", tuple(self._image_urls(m))),
            ]
            index = next((where[k] for k in keys if k in where), None)
            if index is None:
                index = len(groups)
                groups.append([])
            groups[index].append(media_id)
            for key in keys:
                where.setdefault(key, index)
        duplicates = [group for group in groups if len(group) > 1]
        return {
            "posts": len(self.posts),
            "duplicate_posts": sum(len(group) - 1 for group in duplicates),
            "duplicate_groups": duplicates,
        }

    def container_record(self, container_id: str) -> dict[str, Any] | None:
        """A container's stored state with its current status, or None if unknown."""
        c = self.containers.get(container_id)
        if c is None:
            return None
        status_code = self.status_code(c)
        return {
            "id": c.id,
            "ig_user_id": c.ig_user_id,
            "media_type": c.media_type,
            "status_code": status_code,
            "status": self.status_text(c, status_code),
            "is_carousel_item": c.is_carousel_item,
            "image_url": c.image_url,
            "children": list(c.children),
            "caption": c.caption,
            "created_at": iso(c.created_wall),
            "published_media_id": c.published_media_id,
            "extra": dict(c.extra),
        }

    def _post_record(self, m: Media) -> dict[str, Any]:
        return {
            "id": m.id,
            "ig_user_id": m.ig_user_id,
            "creation_id": m.creation_id,
            "media_type": m.media_type,
            "children": list(m.child_containers),
            "caption": m.caption,
            "permalink": m.permalink,
            "shortcode": m.shortcode,
            "timestamp": m.timestamp,
            "media_url": m.media_url,
            "image_urls": self._image_urls(m),
            # The post options as Instagram kept them: on the carousel container, and per item.
            "collaborators": list(self._options(m.creation_id).get("collaborators", [])),
            "location_id": self._options(m.creation_id).get("location_id"),
            "items": [
                {"alt_text": opts.get("alt_text", ""), "user_tags": list(opts.get("user_tags", []))}
                for opts in (self._options(cid) for cid in m.child_containers)
            ],
            "comments": [dict(c) for c in m.comments],
        }

    def _options(self, container_id: str) -> dict[str, Any]:
        c = self.containers.get(container_id)
        return c.extra if c is not None else {}

    def _image_urls(self, m: Media) -> list[str | None]:
        """A post's image URLs in order: its children's for a carousel, its own for an image."""
        if m.children:
            return [self.media[child].media_url for child in m.children]
        return [m.media_url]


def iso(wall: float) -> str:
    """Graph's timestamp format, e.g. ``2026-05-04T10:00:00+0000``."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
