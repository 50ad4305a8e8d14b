"""Loopback emulator of the Instagram Graph API content-publishing endpoints.

The service's Instagram adapter talks to this emulator exactly as it would to
``https://graph.facebook.com/<version>``: same paths, parameters, response JSON and Graph
error envelope (see ../shared/reference/instagram-graph-api.md).
``InstagramSandbox.start()`` returns the base URL *including* the version, e.g.
``http://127.0.0.1:41234/v23.0``; any ``vNN.N`` prefix is served, an unversioned path is not.
Stand-alone: ``python -m server.sandbox.instagram --port 8081`` (prints the base URL).

Endpoints (call-log names in brackets):

* ``POST /{ver}/{ig-user-id}/media``                     [create_container]
* ``GET  /{ver}/{container-id}?fields=status_code,status`` [container_status]
* ``GET  /{ver}/{ig-media-id}?fields=...``               [media_read]
* ``GET  /{ver}/?ids=a,b&fields=...`` (multi-id read)     [batch_status]
* ``POST /{ver}/{ig-user-id}/media_publish``             [media_publish]
* ``GET  /{ver}/{ig-user-id}/media``                     [media_list]
* ``GET  /{ver}/{ig-user-id}/content_publishing_limit``  [publishing_limit]

Requests
--------
Parameters may come as query string, form-encoded (or multipart) body or JSON object body;
they are merged, the body winning. ``children`` may be a comma-separated string, a JSON array
(as a string or a real array) or repeated ``children[]`` form keys. ``fields`` follows Graph
syntax, including nesting (``children{id,media_url}``); an unknown field answers code 100
"Tried accessing nonexisting field".

Sandbox conventions
-------------------
Tokens: ``Authorization: Bearer <token>`` (or ``OAuth <token>``) or ``access_token``. Any
non-empty token is accepted; none -> code 190; a token passed to ``revoke_token()`` -> code 190
subcode 463 "Error validating access token: Session has expired ...".

IG users: any all-digit id is an IG professional account, created on first use (username
``sandbox_<id>``); a non-digit id (or the id of a container or media) answers code 100
subcode 33 "Unsupported post/get request. Object with ID ... does not exist ...". Tokens are
not bound to users.

Image fetch (the sandbox never fetches): the container is created (HTTP 200) and, after the
processing delay, goes ``ERROR`` with ``status`` "Error: Media upload has failed with error
code <subcode>"; first matching rule wins:

1. 2207052 (could not be fetched, code 9004): the scheme is not http(s), there is no host,
   the host ends with ``.invalid``, or the URL contains ``unreachable`` (any case);
2. 2207005 (unsupported format, code 36001): the path's extension is not ``.jpg``,
   ``.jpeg`` or ``.png`` (PNG is undocumented but accepted in practice);
3. 2207009 (aspect ratio, code 36003): the file name contains ``WxH`` (e.g.
   ``photo-2000x500.jpg``; the last such group counts) and w/h is outside 0.8..1.91.

Container lifecycle, computed lazily from ``time.monotonic()`` (no background tasks):
``IN_PROGRESS`` for ``processing_delay`` seconds (the delay in force when the container was
created), then ``ERROR`` (fetch rules above) or ``FINISHED``; a container never published
``container_ttl`` seconds after creation (the TTL in force when asked) is ``EXPIRED``, unless
it is ``ERROR``; ``PUBLISHED`` once published. Publishing a carousel also marks its children
``PUBLISHED`` (so they cannot be reused). Only image and carousel containers are emulated:
any other ``media_type`` (VIDEO, REELS, STORIES) answers code 100 subcode 2207023.

Create checks: token; 400 containers per user per rolling 24 h (``container_quota``; over
-> code 4 "Application request limit reached", is_transient true); image: ``image_url``
required, ``caption``/``location_id`` refused on carousel items (code 100); carousel:
2..10 children (100/2207028), each child known and of this user (24/2207006), created with
``is_carousel_item=true`` (code 100), ``FINISHED`` (9007/2207027); then the caption rules:
over 2200 characters or 30 hashtags -> 36004/2207010, over 20 @mentions -> 100/2207040.

Publish checks, in order: ``creation_id`` required (100); unknown (24/2207008); of another
user (24/2207006); a carousel item (100); already ``PUBLISHED`` (100 "The container has
already been published" -- never a duplicate post); ``EXPIRED`` (-2/2207020); ``ERROR`` or
``IN_PROGRESS`` (9007/2207027); ``publish_quota`` posts already in the last 24 h of wall
clock (9/2207042). Published media get 17-digit ids, 11-character shortcodes, permalink
``https://www.instagram.com/p/<shortcode>/`` and a ``+0000`` ISO timestamp; a carousel
reads back as ``CAROUSEL_ALBUM`` (its ``children`` edge lists child IMAGE media, which are
readable but not listed in ``/{ig-user-id}/media`` nor in ``posts()``).

Multi-id reads fail as a whole (code 100) if any id is unknown; at most 50 ids.
``content_publishing_limit``'s ``since`` is clamped to the last 24 h. Unknown paths answer
code 100 "Unknown path components"; a wrong method code 100 subcode 33 "Unsupported <method>
request". Errors omit ``error_subcode`` (and the user title/message) when Graph would; every
error is HTTP 400 unless scripted otherwise, with a random ``fbtrace_id`` (also sent as the
``x-fb-trace-id`` header).

Scripted behaviour: ``revoke_token()``, ``fail_media_reads()`` (the May 2026 "fresh objects
unreadable" incident: media reads answer 100/33 while everything else works) and
``fail_next()``, which answers the next calls of an endpoint with a given error after the
token check (``after_serving=True``: the call takes effect first, e.g. a publish that goes
live although the client sees an error). Scripted calls are still counted.

Switchable faults (``sandbox.faults``, a ``server.sandbox.faults.FaultPlan``; its module
doc is the full reference): probabilistic, seeded (default seed 0) rules per call-log name,
drawn after the token check and only when no ``fail_next`` script answers the call:

* ``sandbox.faults.set("media_publish", "reset", 0.1, after_serving=True)`` -- kinds
  ``"5xx"`` (HTTP 500 code 1 "An unknown error has occurred." or 502/503 code 2 "Service
  temporarily unavailable", ``is_transient`` true, nothing happened), ``"429"`` (HTTP 400
  code 4 "Application request limit reached", ``is_transient`` true, ``Retry-After:
  <retry_after>`` and ``X-App-Usage`` headers; ``status=429`` to send 429), ``"timeout"``
  (stall ``stall_seconds``; before serving: then 504 code 2 and nothing happened; with
  ``after_serving=True`` the publish goes live and the real answer comes after the stall),
  ``"reset"`` (TCP reset, no HTTP response; ``after_serving=True``: the call took effect
  first), ``"error_after_live"`` (``media_publish``: the post goes live, the container is
  ``PUBLISHED``, then HTTP 500 code 1);
* ``sandbox.faults.clear()``, ``sandbox.faults.reseed(seed)``, ``sandbox.faults.injected``
  (``Counter`` of ``(endpoint, kind)``), ``sandbox.faults.events``;
* over HTTP: ``GET|POST|DELETE /_sandbox/faults`` (``POST`` body ``{"seed": 7, "rules":
  [{"endpoint", "kind", "rate", "after_serving", "retry_after", "stall_seconds",
  "status"}]}``). Injected faults are counted in ``calls``; ``stop()`` ends running stalls.

Slow processing needs no fault: raise ``processing_delay`` (also over ``POST
/_sandbox/config``); it applies to containers created afterwards.

Duplicate detector: each post record (``posts()``, ``GET /_sandbox/posts``) carries its
``creation_id`` (carousel container), ``children`` (child container ids), ``ig_user_id``,
``caption`` and ``image_urls`` (ordered); ``stats()`` / ``GET /_sandbox/stats`` answers
``{"posts": N, "duplicate_posts": M, "duplicate_groups": [[media ids]]}``, where a post
duplicates an earlier one with the same container (refused by construction) or the same IG
user, caption and ordered image URLs; M counts every post but the first of each group.

Control API for out-of-process users (not counted in ``calls``): ``GET /_sandbox/posts``
(``?ig_user_id=`` filters), ``GET /_sandbox/stats``, ``GET /_sandbox/containers/{id}``,
``GET /_sandbox/calls``, ``GET|POST /_sandbox/config`` (JSON object of
InstagramSandboxConfig fields), ``GET|POST|DELETE /_sandbox/faults``, and
``POST /_sandbox/revoke`` ``{"token"}``, ``POST /_sandbox/fail_media_reads`` ``{"count"}``,
``POST /_sandbox/fail_next`` (JSON object of ``fail_next()``'s arguments). Bad control
requests answer HTTP 400 ``{"error": "<text>"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import collections
import dataclasses
import json
import random
import re
import signal
import string
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import uvloop
from aiohttp import web

from server.http_server import AppServer
from server.sandbox import common
from server.sandbox.common import CallLog
from server.sandbox.faults import Fault, FaultInjected, FaultPlan

__all__ = ["ENDPOINTS", "GraphError", "InstagramSandbox", "InstagramSandboxConfig", "main"]

ENDPOINTS = (
    "create_container",
    "container_status",
    "batch_status",
    "media_publish",
    "media_read",
    "media_list",
    "publishing_limit",
    "token_refresh",
)

# Instagram Login long-lived tokens: valid 60 days, refreshed for another 60.
LONG_LIVED_TOKEN_SECONDS = 5184000

DAY = 86400.0
MIN_CHILDREN, MAX_CHILDREN = 2, 10
MAX_CAPTION_CHARS, MAX_HASHTAGS, MAX_MENTIONS = 2200, 30, 20
MAX_IDS = 50
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 25, 100
MIN_ASPECT, MAX_ASPECT = 0.8, 1.91

FETCH_FAILED, BAD_FORMAT, BAD_ASPECT = 2207052, 2207005, 2207009

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

CONTAINER_FIELDS = frozenset({"id", "status_code", "status"})
MEDIA_FIELDS = frozenset(
    {
        "id",
        "media_type",
        "media_product_type",
        "permalink",
        "shortcode",
        "timestamp",
        "caption",
        "username",
        "children",
        "media_url",
        "owner",
        "like_count",
        "comments_count",
        "is_comment_enabled",
    }
)
LIMIT_FIELDS = frozenset({"quota_usage", "config"})

_VERSION_RE = re.compile(r"v\d+\.\d+")
_DIGITS_RE = re.compile(r"[0-9]+")
_HASHTAG_RE = re.compile(r"(?<!\w)#\w+")
_MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")
_DIMENSIONS_RE = re.compile(r"(?<![0-9])([0-9]{1,5})[xX]([0-9]{1,5})(?![0-9])")
_LIST_KEY_RE = re.compile(r"(.+)\[[0-9]*\]")
_SHORTCODE_ALPHABET = string.ascii_letters + string.digits + "_-"
_TRACE_ALPHABET = string.ascii_letters + string.digits + "_-"

Params = dict[str, Any]
Fields = dict[str, "Fields | None"]


# --- errors ----------------------------------------------------------------------------------


class GraphError(Exception):
    """An error answered in the Graph envelope ``{"error": {...}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        is_transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg

    def payload(self, fbtrace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.is_transient
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}


def _unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
    )


def _unknown_path(path: str) -> GraphError:
    return GraphError(100, f"Unknown path components: {path}")


def _param_error(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, f"(#100) {message}", subcode=subcode)


def _nonexisting_field(name: str, node_type: str) -> GraphError:
    return _param_error(f"Tried accessing nonexisting field ({name}) on node type ({node_type})")


def _media_not_found(media_id: str) -> GraphError:
    message = f"The media with id {media_id} cannot be found"
    return GraphError(24, message, subcode=2207006, user_title="Media not found", user_msg=message)


def _not_ready() -> GraphError:
    return GraphError(
        9007,
        "Media ID is not available",
        subcode=2207027,
        user_title="Media not ready for publishing",
        user_msg="The media is not ready to be published. Please wait a moment.",
    )


def _expired() -> GraphError:
    message = "The media you are trying to access has expired"
    return GraphError(
        -2,
        message,
        subcode=2207020,
        user_title="Media expired",
        user_msg=f"{message}. Please create a new container.",
    )


def _carousel_size(count: int) -> GraphError:
    message = "Carousels need at least 2 photos/videos and no more than 10 photos/videos."
    return GraphError(
        100,
        message,
        subcode=2207028,
        user_title="Carousel item count out of range",
        user_msg=f"{message} This carousel has {count}.",
    )


def _caption_error(detail: str) -> GraphError:
    return GraphError(
        36004,
        f"The caption is too long: {detail}",
        subcode=2207010,
        user_title="Caption too long",
        user_msg=f"The caption {detail}. Use at most 2200 characters, 30 hashtags and 20 @ tags.",
    )


def _too_many_mentions(count: int) -> GraphError:
    return GraphError(
        100,
        f"Cannot use more than {MAX_MENTIONS} tags per created media.",
        subcode=2207040,
        user_title="Too many tags",
        user_msg=f"The caption has {count} @ tags; the maximum is {MAX_MENTIONS}.",
    )


def _publish_quota_reached() -> GraphError:
    message = (
        "You reached maximum number of posts that is allowed to be published by "
        "Content Publishing API"
    )
    return GraphError(
        9,
        message,
        subcode=2207042,
        user_title="Maximum number of posts reached",
        user_msg=f"{message}. Please try again tomorrow.",
    )


def _container_quota_reached() -> GraphError:
    return GraphError(4, "Application request limit reached", is_transient=True)


# --- configuration and state -----------------------------------------------------------------


@dataclass
class InstagramSandboxConfig:
    processing_delay: float = 1.0  # seconds a container stays IN_PROGRESS
    container_ttl: float = DAY  # seconds until a never-published container is EXPIRED
    publish_quota: int = 50  # content_publishing_limit quota_total per 24 h, per IG user
    api_version: str = "v23.0"  # version prefix of the base URL start() returns
    container_quota: int = 400  # containers one IG user may create per rolling 24 h


@dataclass
class _Container:
    id: str
    ig_user_id: str
    media_type: str  # "IMAGE" or "CAROUSEL"
    is_carousel_item: bool
    image_url: str | None
    children: list[str]
    caption: str | None
    created_mono: float
    created_wall: float
    ready_at: float  # monotonic time processing ends
    failure: int | None  # the 22070xx subcode the container fails with, if any
    extra: dict[str, Any] = field(default_factory=dict)
    published_media_id: str | None = None


@dataclass
class _Media:
    id: str
    ig_user_id: str
    creation_id: str
    media_type: str  # "CAROUSEL_ALBUM" or "IMAGE"
    caption: str | None
    shortcode: str
    published_wall: float
    media_url: str | None
    children: list[str] = field(default_factory=list)  # child media ids
    child_containers: list[str] = field(default_factory=list)
    parent_id: str | None = None

    @property
    def permalink(self) -> str:
        return f"https://www.instagram.com/p/{self.shortcode}/"

    @property
    def timestamp(self) -> str:
        return _iso(self.published_wall)


@dataclass
class _ScriptedError:
    status: int
    code: int
    subcode: int | None
    message: str | None  # None: the "Unsupported <method> request" text for the object
    is_transient: bool
    remaining: int
    after_serving: bool = False

    def error(self, method: str, object_id: str) -> GraphError:
        if self.message is None:
            base = _unsupported(method, object_id)
            message = base.message
        else:
            message = self.message
        return GraphError(
            self.code,
            message,
            subcode=self.subcode,
            status=self.status,
            is_transient=self.is_transient,
        )


# --- the sandbox -----------------------------------------------------------------------------


class InstagramSandbox:
    """In-memory Instagram Graph API (content publishing), served by an aiohttp app."""

    def __init__(self, config: InstagramSandboxConfig | None = None) -> None:
        self.config = config if config is not None else InstagramSandboxConfig()
        self.calls = CallLog()
        # Switchable probabilistic faults (server.sandbox.faults); seed 0 until reseeded.
        self.faults = FaultPlan(ENDPOINTS)
        self.app = self._build_app()
        self._server: AppServer | None = None
        self._containers: dict[str, _Container] = {}
        self._media: dict[str, _Media] = {}
        self._posts: list[str] = []  # top-level media ids, publish order
        # Kept as posts are made, so neither a new shortcode nor the quota walks every post.
        self._shortcodes: set[str] = set()
        self._post_times: dict[str, list[float]] = collections.defaultdict(list)  # per IG user, ascending
        self._users: set[str] = set()
        self._container_times: dict[str, collections.deque[float]] = {}
        self._revoked: dict[str, float] = {}
        self._scripted: dict[str, collections.deque[_ScriptedError]] = {
            name: collections.deque() for name in ENDPOINTS
        }
        self._rng = random.Random()
        # Set by start(): what DISTRIBUTION_INSTAGRAM_API_BASE points at.
        self.base_url = ""

    # --- serving ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 and returns the base URL with the version, e.g. ``.../v23.0``."""
        if self._server is not None:
            raise RuntimeError("the Instagram sandbox is already started")
        server = AppServer(self.app, port=port)
        origin = await server.start()
        self._server = server
        self.base_url = f"{origin}/{self.config.api_version}"
        return self.base_url

    async def stop(self) -> None:
        self.faults.release()
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()

    # --- inspection ------------------------------------------------------------------------

    def posts(self, ig_user_id: str | None = None) -> list[dict[str, Any]]:
        """Published media (carousels and single images), in publish order."""
        return [
            self._post_dict(self._media[media_id])
            for media_id in self._posts
            if ig_user_id is None or self._media[media_id].ig_user_id == ig_user_id
        ]

    def stats(self) -> dict[str, Any]:
        """``{"posts": N, "duplicate_posts": M, "duplicate_groups": [[media ids]]}``.

        A post duplicates an earlier one if both come from the same container (impossible
        by construction) or if the IG user, the caption and the ordered image URLs are all
        equal. M counts every post but the first of each group.
        """
        groups: list[list[str]] = []
        where: dict[tuple[Any, ...], int] = {}
        for media_id in self._posts:
            m = self._media[media_id]
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
            "posts": len(self._posts),
            "duplicate_posts": sum(len(group) - 1 for group in duplicates),
            "duplicate_groups": duplicates,
        }

    def container(self, container_id: str) -> dict[str, Any] | None:
        """A container's stored state with its current status, or None if unknown."""
        c = self._containers.get(container_id)
        if c is None:
            return None
        status_code = self._status_code(c)
        return {
            "id": c.id,
            "ig_user_id": c.ig_user_id,
            "media_type": c.media_type,
            "status_code": status_code,
            "status": self._status_text(c, status_code),
            "is_carousel_item": c.is_carousel_item,
            "image_url": c.image_url,
            "children": list(c.children),
            "caption": c.caption,
            "created_at": _iso(c.created_wall),
            "published_media_id": c.published_media_id,
            "extra": dict(c.extra),
        }

    # --- scripted behaviour ----------------------------------------------------------------

    def revoke_token(self, token: str) -> None:
        """Calls with this token answer code 190 subcode 463 (session expired)."""
        self._revoked.setdefault(token, time.time())

    def fail_media_reads(self, count: int) -> None:
        """The next `count` GET /{ig-media-id} calls answer 100/33 "Unsupported get request"."""
        _check_count(count)
        self._scripted["media_read"].append(
            _ScriptedError(400, 100, 33, None, is_transient=False, remaining=count)
        )

    def fail_next(
        self,
        endpoint: str,
        *,
        status: int,
        code: int,
        subcode: int | None = None,
        message: str = "An unexpected error has occurred. Please retry your request later.",
        is_transient: bool = False,
        count: int = 1,
        after_serving: bool = False,
    ) -> None:
        """The next `count` calls to `endpoint` (a CallLog name) answer this Graph error.

        The error comes after the token check. With ``after_serving`` the call takes effect
        first (a publish goes live, a container is created) and the client still gets the error.
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {list(ENDPOINTS)}")
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {status!r}")
        _check_count(count)
        self._scripted[endpoint].append(
            _ScriptedError(status, code, subcode, message, is_transient, count, after_serving)
        )

    def _take_scripted(self, endpoint: str) -> _ScriptedError | None:
        queue = self._scripted[endpoint]
        if not queue:
            return None
        scripted = queue[0]
        scripted.remaining -= 1
        if scripted.remaining <= 0:
            queue.popleft()
        return scripted

    # --- container state -------------------------------------------------------------------

    def _status_code(self, c: _Container) -> str:
        if c.published_media_id is not None:
            return PUBLISHED
        now = time.monotonic()
        ready = now >= c.ready_at
        if ready and c.failure is not None:
            return ERROR
        if now - c.created_mono >= self.config.container_ttl:
            return EXPIRED
        return FINISHED if ready else IN_PROGRESS

    @staticmethod
    def _status_text(c: _Container, status_code: str) -> str:
        if status_code == ERROR:
            return f"Error: Media upload has failed with error code {c.failure}"
        return STATUS_TEXT[status_code]

    def _new_id(self, prefix: str) -> str:
        while True:
            candidate = prefix + "".join(self._rng.choices(string.digits, k=17 - len(prefix)))
            if not self._is_object(candidate) and candidate not in self._users:
                return candidate

    def _new_shortcode(self) -> str:
        while True:
            candidate = "".join(self._rng.choices(_SHORTCODE_ALPHABET, k=11))
            if candidate not in self._shortcodes:
                self._shortcodes.add(candidate)
                return candidate

    def _is_object(self, object_id: str) -> bool:
        return object_id in self._containers or object_id in self._media

    def _user(self, ig_user_id: str, method: str) -> str:
        """Validates an IG user id (creating the user on first use)."""
        if not _DIGITS_RE.fullmatch(ig_user_id) or self._is_object(ig_user_id):
            raise _unsupported(method, ig_user_id)
        self._users.add(ig_user_id)
        return ig_user_id

    # --- endpoint: create container ----------------------------------------------------------

    def _create_container(self, ig_user_id: str, params: Params) -> dict[str, Any]:
        self._user(ig_user_id, "post")
        self._check_container_quota(ig_user_id)
        media_type = _str_param(params, "media_type") or "IMAGE"
        if media_type == "CAROUSEL":
            container = self._new_carousel(ig_user_id, params)
        elif media_type == "IMAGE":
            container = self._new_image(ig_user_id, params)
        else:
            raise _param_error(
                f"The media type {media_type} is unknown (the sandbox emulates IMAGE and "
                "CAROUSEL containers only)",
                subcode=2207023,
            )
        self._containers[container.id] = container
        self._container_times[ig_user_id].append(container.created_wall)
        return {"id": container.id}

    def _check_container_quota(self, ig_user_id: str) -> None:
        times = self._container_times.setdefault(ig_user_id, collections.deque())
        window_start = time.time() - DAY
        while times and times[0] <= window_start:
            times.popleft()
        if len(times) >= self.config.container_quota:
            raise _container_quota_reached()

    def _new_image(self, ig_user_id: str, params: Params) -> _Container:
        image_url = _str_param(params, "image_url")
        if not image_url:
            raise _param_error("The parameter image_url is required.")
        is_item = _bool_param(params, "is_carousel_item")
        caption = _str_param(params, "caption")
        if is_item:
            for name in ("caption", "location_id"):
                if _str_param(params, name):
                    raise _param_error(f"The parameter {name} is not supported on carousel items.")
        if caption:
            _check_caption(caption)
        return self._make_container(
            ig_user_id, params, "IMAGE", is_item, image_url, [], caption, fetch_failure(image_url)
        )

    def _new_carousel(self, ig_user_id: str, params: Params) -> _Container:
        if _bool_param(params, "is_carousel_item"):
            raise _param_error("A carousel container cannot be a carousel item.")
        children = _id_list_param(params, "children")
        if not MIN_CHILDREN <= len(children) <= MAX_CHILDREN:
            raise _carousel_size(len(children))
        items = [self._child(ig_user_id, child_id) for child_id in children]
        for item in items:
            if not item.is_carousel_item:
                raise _param_error(
                    f"The media with id {item.id} was not created with is_carousel_item=true "
                    "and cannot be a carousel item."
                )
        if any(self._status_code(item) != FINISHED for item in items):
            raise _not_ready()
        caption = _str_param(params, "caption")
        if caption:
            _check_caption(caption)
        return self._make_container(
            ig_user_id, params, "CAROUSEL", False, None, children, caption, None
        )

    def _child(self, ig_user_id: str, child_id: str) -> _Container:
        child = self._containers.get(child_id)
        if child is None or child.ig_user_id != ig_user_id:
            raise _media_not_found(child_id)
        return child

    def _make_container(
        self,
        ig_user_id: str,
        params: Params,
        media_type: str,
        is_item: bool,
        image_url: str | None,
        children: list[str],
        caption: str | None,
        failure: int | None,
    ) -> _Container:
        known = {"media_type", "image_url", "is_carousel_item", "caption", "children"}
        now = time.monotonic()
        return _Container(
            id=self._new_id("17"),
            ig_user_id=ig_user_id,
            media_type=media_type,
            is_carousel_item=is_item,
            image_url=image_url,
            children=children,
            caption=caption,
            created_mono=now,
            created_wall=time.time(),
            ready_at=now + self.config.processing_delay,
            failure=failure,
            extra={k: v for k, v in params.items() if k not in known and k != "access_token"},
        )

    # --- endpoint: publish -----------------------------------------------------------------

    def _media_publish(self, ig_user_id: str, params: Params) -> dict[str, Any]:
        self._user(ig_user_id, "post")
        creation_id = _str_param(params, "creation_id")
        if not creation_id:
            raise _param_error("The parameter creation_id is required.")
        c = self._publishable(ig_user_id, creation_id)
        if self._quota_usage(ig_user_id) >= self.config.publish_quota:
            raise _publish_quota_reached()
        return {"id": self._publish(c).id}

    def _publishable(self, ig_user_id: str, creation_id: str) -> _Container:
        c = self._containers.get(creation_id)
        if c is None:
            message = (
                f"The media builder with creation id {creation_id} does not exist or has expired"
            )
            raise GraphError(24, message, subcode=2207008, user_title="Media builder not found")
        if c.ig_user_id != ig_user_id:
            raise _media_not_found(creation_id)
        if c.is_carousel_item:
            raise _param_error(
                "A carousel item cannot be published on its own; publish its carousel container."
            )
        status_code = self._status_code(c)
        if status_code == PUBLISHED:
            raise GraphError(100, "The container has already been published")
        if status_code == EXPIRED:
            raise _expired()
        if status_code != FINISHED:
            raise _not_ready()
        return c

    def _quota_usage(self, ig_user_id: str, since: float | None = None) -> int:
        window_start = time.time() - DAY
        if since is not None:
            window_start = max(window_start, since)
        times = self._post_times.get(ig_user_id, [])
        return len(times) - bisect.bisect_right(times, window_start)

    def _publish(self, c: _Container) -> _Media:
        now = time.time()
        shortcode = self._new_shortcode()
        media = _Media(
            id=self._new_id("18"),
            ig_user_id=c.ig_user_id,
            creation_id=c.id,
            media_type="CAROUSEL_ALBUM" if c.media_type == "CAROUSEL" else "IMAGE",
            caption=c.caption,
            shortcode=shortcode,
            published_wall=now,
            media_url=c.image_url,
            child_containers=list(c.children),
        )
        self._media[media.id] = media
        for child_id in c.children:
            child = self._publish_child(self._containers[child_id], media)
            media.children.append(child.id)
        if media.children:
            media.media_url = self._media[media.children[0]].media_url
        c.published_media_id = media.id
        self._posts.append(media.id)
        self._post_times[media.ig_user_id].append(media.published_wall)
        return media

    def _publish_child(self, child: _Container, parent: _Media) -> _Media:
        media = _Media(
            id=self._new_id("18"),
            ig_user_id=child.ig_user_id,
            creation_id=child.id,
            media_type="IMAGE",
            caption=None,
            shortcode=parent.shortcode,
            published_wall=parent.published_wall,
            media_url=child.image_url,
            parent_id=parent.id,
        )
        self._media[media.id] = media
        child.published_media_id = media.id
        return media

    # --- endpoints: reads ------------------------------------------------------------------

    def _read_node(self, object_id: str, params: Params) -> dict[str, Any]:
        fields = _parse_fields(params.get("fields"))
        return self._render(object_id, fields, "get")

    def _render(self, object_id: str, fields: Fields, method: str) -> dict[str, Any]:
        if object_id in self._containers:
            return self._render_container(self._containers[object_id], fields)
        if object_id in self._media:
            return self._render_media(self._media[object_id], fields)
        raise _unsupported(method, object_id)

    def _render_container(self, c: _Container, fields: Fields) -> dict[str, Any]:
        out: dict[str, Any] = {}
        status_code = self._status_code(c)
        for name in fields:
            if name not in CONTAINER_FIELDS:
                raise _nonexisting_field(name, "ShadowIGMediaBuilder")
            if name == "status_code":
                out[name] = status_code
            elif name == "status":
                out[name] = self._status_text(c, status_code)
        out["id"] = c.id
        return out

    def _render_media(self, m: _Media, fields: Fields) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, sub in fields.items():
            if name not in MEDIA_FIELDS:
                raise _nonexisting_field(name, "IGMedia")
            value = self._media_value(m, name, sub)
            if value is not None:
                out[name] = value
        out["id"] = m.id
        return out

    def _media_value(self, m: _Media, name: str, sub: Fields | None) -> Any:
        if name == "children":
            if not m.children:
                return None
            child_fields = sub or {"id": None}
            return {"data": [self._render_media(self._media[c], child_fields) for c in m.children]}
        values: dict[str, Any] = {
            "id": m.id,
            "media_type": m.media_type,
            "media_product_type": "FEED",
            "permalink": m.permalink,
            "shortcode": m.shortcode,
            "timestamp": m.timestamp,
            "caption": m.caption or None,
            "username": _username(m.ig_user_id),
            "media_url": m.media_url,
            "owner": {"id": m.ig_user_id},
            "like_count": 0,
            "comments_count": 0,
            "is_comment_enabled": True,
        }
        return values[name]

    def _batch_read(self, params: Params) -> dict[str, Any]:
        ids = list(dict.fromkeys(_id_list_param(params, "ids")))
        if not ids:
            raise _param_error("The parameter ids is required.")
        if len(ids) > MAX_IDS:
            raise _param_error(f"Too many IDs. Maximum: {MAX_IDS}. Provided: {len(ids)}.")
        missing = [object_id for object_id in ids if not self._is_object(object_id)]
        if missing:
            raise _param_error(
                f"Some of the aliases you requested do not exist: {','.join(missing)}"
            )
        fields = _parse_fields(params.get("fields"))
        return {object_id: self._render(object_id, fields, "get") for object_id in ids}

    def _media_list(self, ig_user_id: str, params: Params, request: web.Request) -> dict[str, Any]:
        self._user(ig_user_id, "get")
        fields = _parse_fields(params.get("fields"))
        limit = _int_param(params, "limit", DEFAULT_LIST_LIMIT)
        limit = max(1, min(limit, MAX_LIST_LIMIT))
        items = [m for m in self._posts[::-1] if self._media[m].ig_user_id == ig_user_id]
        start = 0
        after = _str_param(params, "after")
        if after:
            cursor_id = _decode_cursor(after)
            if cursor_id not in items:
                raise _param_error("The after cursor is invalid.")
            start = items.index(cursor_id) + 1
        page = items[start : start + limit]
        data = [self._render_media(self._media[m], fields) for m in page]
        result: dict[str, Any] = {"data": data}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _encode_cursor(page[0]), "after": _encode_cursor(page[-1])}
            }
            if start + limit < len(items):
                paging["next"] = str(request.url.update_query(after=_encode_cursor(page[-1])))
            result["paging"] = paging
        return result

    def _refresh_token(self, params: Params) -> dict[str, Any]:
        """GET /refresh_access_token?grant_type=ig_refresh_token: a new 60-day token.

        The token being refreshed was checked by _authenticate (header or access_token);
        it stays valid, as Instagram does not revoke it on refresh."""
        if params.get("grant_type") != "ig_refresh_token":
            raise _param_error("grant_type must be ig_refresh_token")
        return {
            "access_token": "IGQ" + "".join(self._rng.choices(string.ascii_letters + string.digits, k=48)),
            "token_type": "bearer",
            "expires_in": LONG_LIVED_TOKEN_SECONDS,
        }

    def _publishing_limit(self, ig_user_id: str, params: Params) -> dict[str, Any]:
        self._user(ig_user_id, "get")
        fields = _parse_fields(params.get("fields")) or {"quota_usage": None}
        since = params.get("since")
        since_ts = float(_int_param(params, "since", 0)) if since not in (None, "") else None
        entry: dict[str, Any] = {}
        for name in fields:
            if name not in LIMIT_FIELDS:
                raise _nonexisting_field(name, "ContentPublishingLimitResponse")
            if name == "quota_usage":
                entry[name] = self._quota_usage(ig_user_id, since_ts)
            else:
                entry[name] = {"quota_total": self.config.publish_quota, "quota_duration": int(DAY)}
        return {"data": [entry]}

    # --- dispatch --------------------------------------------------------------------------

    async def _graph(self, request: web.Request) -> web.Response:
        try:
            params = await _read_params(request)
            endpoint, object_id, serve = self._route(request, params)
            self.calls.record(endpoint)
            self._authenticate(request, params)
            scripted = self._take_scripted(endpoint)
            if scripted is not None and not scripted.after_serving:
                raise scripted.error(request.method, object_id)
            if scripted is None:
                self.faults.inject(request, endpoint)
            body = serve()
            if scripted is not None:
                raise scripted.error(request.method, object_id)
            return web.json_response(body)
        except GraphError as exc:
            return _error_response(exc)
        except FaultInjected:
            raise
        except Exception as exc:  # noqa: BLE001 - answer like Graph, never a bare 500 page
            return _error_response(
                GraphError(
                    1,
                    f"An unknown error occurred (sandbox: {exc!r})",
                    status=500,
                    is_transient=True,
                )
            )

    def _route(
        self, request: web.Request, params: Params
    ) -> tuple[str, str, Callable[[], dict[str, Any]]]:
        """The endpoint name, the object id in the path and the function serving the call."""
        segments = request.path.split("/")[1:]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        if segments == ["refresh_access_token"]:
            # Instagram Login's refresh endpoint lives at the host root, outside the version path.
            if request.method != "GET":
                raise _unsupported(request.method, "refresh_access_token")
            return "token_refresh", "", lambda: self._refresh_token(params)
        if not segments or not _VERSION_RE.fullmatch(segments[0]) or "" in segments[1:]:
            raise _unknown_path(request.path)
        rest, method = segments[1:], request.method
        if not rest:
            if method != "GET":
                raise _unsupported(method, "")
            return "batch_status", "", lambda: self._batch_read(params)
        node = rest[0]
        if len(rest) == 1:
            if method != "GET":
                raise _unsupported(method, node)
            return self._node_endpoint(node, params), node, lambda: self._read_node(node, params)
        if len(rest) == 2:
            edge = rest[1]
            if edge == "media" and method == "POST":
                return "create_container", node, lambda: self._create_container(node, params)
            if edge == "media" and method == "GET":
                return "media_list", node, lambda: self._media_list(node, params, request)
            if edge == "media_publish" and method == "POST":
                return "media_publish", node, lambda: self._media_publish(node, params)
            if edge == "content_publishing_limit" and method == "GET":
                return "publishing_limit", node, lambda: self._publishing_limit(node, params)
            if edge in ("media", "media_publish", "content_publishing_limit"):
                raise _unsupported(method, node)
        raise _unknown_path("/" + "/".join(rest[1:]))

    def _node_endpoint(self, node: str, params: Params) -> str:
        """media_read for media, container_status for containers (or unknown ids asking status)."""
        if node in self._media:
            return "media_read"
        if node in self._containers:
            return "container_status"
        raw = params.get("fields")
        asked = set(raw.split(",")) if isinstance(raw, str) else set()
        if not asked or asked & {"status", "status_code"}:
            return "container_status"
        return "media_read"

    def _authenticate(self, request: web.Request, params: Params) -> None:
        token = _header_token(request) or _str_param(params, "access_token")
        if not token:
            raise GraphError(
                190,
                "An active access token must be used to query information about the current user.",
            )
        revoked_at = self._revoked.get(token)
        if revoked_at is not None:
            raise GraphError(
                190,
                f"Error validating access token: Session has expired on {_http_time(revoked_at)}. "
                f"The current time is {_http_time(time.time())}.",
                subcode=463,
            )

    # --- control API -----------------------------------------------------------------------

    async def _ctl_posts(self, request: web.Request) -> web.Response:
        return web.json_response({"posts": self.posts(request.query.get("ig_user_id"))})

    async def _ctl_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _ctl_container(self, request: web.Request) -> web.Response:
        container = self.container(request.match_info["container_id"])
        if container is None:
            return web.json_response({"error": "no such container"}, status=404)
        return web.json_response({"container": container})

    async def _ctl_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"counts": dict(self.calls.counts)})

    async def _ctl_get_config(self, request: web.Request) -> web.Response:
        return web.json_response({"config": dataclasses.asdict(self.config)})

    async def _ctl_set_config(self, request: web.Request) -> web.Response:
        try:
            apply_config_update(self.config, await _control_body(request))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"config": dataclasses.asdict(self.config)})

    async def _ctl_revoke(self, request: web.Request) -> web.Response:
        return await self._control(request, lambda body: self.revoke_token(str(body["token"])))

    async def _ctl_fail_media_reads(self, request: web.Request) -> web.Response:
        return await self._control(request, lambda body: self.fail_media_reads(body["count"]))

    async def _ctl_fail_next(self, request: web.Request) -> web.Response:
        def apply(body: dict[str, Any]) -> None:
            self.fail_next(body.pop("endpoint"), **body)

        return await self._control(request, apply)

    @staticmethod
    async def _control(
        request: web.Request, action: Callable[[dict[str, Any]], None]
    ) -> web.Response:
        try:
            action(await _control_body(request))
        except KeyError as exc:
            return web.json_response({"error": f"missing field {exc}"}, status=400)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.faults.middleware(_fault_response)])
        app.router.add_get("/_sandbox/posts", self._ctl_posts)
        app.router.add_get("/_sandbox/stats", self._ctl_stats)
        app.router.add_get("/_sandbox/containers/{container_id}", self._ctl_container)
        app.router.add_get("/_sandbox/calls", self._ctl_calls)
        app.router.add_get("/_sandbox/config", self._ctl_get_config)
        app.router.add_post("/_sandbox/config", self._ctl_set_config)
        app.router.add_post("/_sandbox/revoke", self._ctl_revoke)
        app.router.add_post("/_sandbox/fail_media_reads", self._ctl_fail_media_reads)
        app.router.add_post("/_sandbox/fail_next", self._ctl_fail_next)
        self.faults.add_routes(app.router)
        app.router.add_route("*", "/{tail:.*}", self._graph)
        return app

    def _post_dict(self, m: _Media) -> dict[str, Any]:
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
        }

    def _image_urls(self, m: _Media) -> list[str | None]:
        """A post's image URLs in order: its children's for a carousel, its own for an image."""
        if m.children:
            return [self._media[child].media_url for child in m.children]
        return [m.media_url]


# --- sandbox rules ---------------------------------------------------------------------------


def fetch_failure(image_url: str) -> int | None:
    """The 22070xx subcode the sandbox's fetch rules give an image URL, or None if it is fine."""
    try:
        parts = urlsplit(image_url)
        host = parts.hostname or ""
    except ValueError:
        return FETCH_FAILED
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or host == "invalid"
        or host.endswith(".invalid")
        or "unreachable" in image_url.lower()
    ):
        return FETCH_FAILED
    name = parts.path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ("jpg", "jpeg", "png"):
        return BAD_FORMAT
    dimensions = _DIMENSIONS_RE.findall(name)
    if dimensions:
        width, height = (int(v) for v in dimensions[-1])
        if height == 0 or not MIN_ASPECT <= width / height <= MAX_ASPECT:
            return BAD_ASPECT
    return None


def _check_caption(caption: str) -> None:
    if len(caption) > MAX_CAPTION_CHARS:
        raise _caption_error(f"was {len(caption)} characters long (maximum {MAX_CAPTION_CHARS})")
    hashtags = len(_HASHTAG_RE.findall(caption))
    if hashtags > MAX_HASHTAGS:
        raise _caption_error(f"has {hashtags} hashtags (maximum {MAX_HASHTAGS})")
    mentions = len(_MENTION_RE.findall(caption))
    if mentions > MAX_MENTIONS:
        raise _too_many_mentions(mentions)


# --- request parsing -------------------------------------------------------------------------


async def _read_params(request: web.Request) -> Params:
    """Query string, then form or JSON body (the body wins)."""
    params = _collect(request.query.items())
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise _param_error("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise _param_error("The JSON request body must be an object.")
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update(_collect((k, v) for k, v in form.items() if isinstance(v, str)))
    return params


def _collect(items: Iterable[tuple[str, str]]) -> Params:
    """Merges repeated ``name[]``/``name[N]`` keys into a list; otherwise the first value wins."""
    out: Params = {}
    for key, value in items:
        match = _LIST_KEY_RE.fullmatch(key)
        if match:
            out.setdefault(match.group(1), [])
            if isinstance(out[match.group(1)], list):
                out[match.group(1)].append(value)
        else:
            out.setdefault(key, value)
    return out


def _header_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def _str_param(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _param_error(f"Param {name} must be a string.")


def _bool_param(params: Params, name: str) -> bool:
    value = params.get(name)
    if value is None or value is False or value == "":
        return False
    if value is True:
        return True
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _param_error(f"Param {name} must be a boolean.")


def _int_param(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _param_error(f"Param {name} must be an integer.")
    try:
        return int(str(value).strip())
    except ValueError:
        raise _param_error(f"Param {name} must be an integer.") from None


def _id_list_param(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise _param_error(f"Param {name} must be a list of ids.") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise _param_error(f"Param {name} must be a list of ids.")
    return [str(v).strip() for v in value if str(v).strip()]


def _parse_fields(raw: Any) -> Fields:
    """Graph ``fields`` syntax: ``a,b{c,d},e`` -> {"a": None, "b": {"c": None, "d": None}, ...}."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        raw = ",".join(str(v) for v in raw)
    fields, _ = _parse_field_list(str(raw), 0, nested=False)
    return fields


def _parse_field_list(text: str, pos: int, *, nested: bool) -> tuple[Fields, int]:
    out: Fields = {}
    name, sub = "", None
    while pos < len(text):
        char = text[pos]
        if char == ",":
            _add_field(out, name, sub)
            name, sub = "", None
            pos += 1
        elif char == "{":
            if sub is not None or not name.strip():
                raise _param_error(f"Syntax error in fields: {text!r}")
            sub, pos = _parse_field_list(text, pos + 1, nested=True)
        elif char == "}":
            if not nested:
                raise _param_error(f"Syntax error in fields: {text!r}")
            _add_field(out, name, sub)
            return out, pos + 1
        else:
            if sub is not None and not char.isspace():
                raise _param_error(f"Syntax error in fields: {text!r}")
            name += char
            pos += 1
    if nested:
        raise _param_error(f"Syntax error in fields: {text!r}")
    _add_field(out, name, sub)
    return out, pos


def _add_field(out: Fields, name: str, sub: Fields | None) -> None:
    if name.strip():
        out[name.strip()] = sub


# --- small helpers ---------------------------------------------------------------------------


def _check_count(count: Any) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _http_time(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def _username(ig_user_id: str) -> str:
    return f"sandbox_{ig_user_id}"


def _encode_cursor(media_id: str) -> str:
    return base64.urlsafe_b64encode(media_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise _param_error("The after cursor is invalid.") from None


def _fbtrace_id() -> str:
    return "".join(random.choices(_TRACE_ALPHABET, k=11))


def _fault_response(fault: Fault) -> web.Response:
    """The Graph answer to an injected fault (see server.sandbox.faults)."""
    if fault.kind == "429":
        response = _error_response(
            GraphError(
                4,
                "Application request limit reached",
                status=fault.status or 400,
                is_transient=True,
            )
        )
        usage = {"call_count": 100, "total_cputime": 100, "total_time": 100}
        response.headers["X-App-Usage"] = json.dumps(usage, separators=(",", ":"))
        return response
    status = fault.status or 500
    if status == 500:
        return _error_response(
            GraphError(1, "An unknown error has occurred.", status=500, is_transient=True)
        )
    return _error_response(
        GraphError(2, "Service temporarily unavailable", status=status, is_transient=True)
    )


def _error_response(exc: GraphError) -> web.Response:
    trace = _fbtrace_id()
    return web.json_response(
        exc.payload(trace), status=exc.status, headers={"x-fb-trace-id": trace}
    )


async def _control_body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ValueError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def apply_config_update(config: InstagramSandboxConfig, update: dict[str, Any]) -> None:
    """Validates every field of `update` first, then sets them on `config`."""
    common.apply_config_update(config, update, _config_value)


def _config_value(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, str):
        if not isinstance(value, str) or not _VERSION_RE.fullmatch(value):
            raise ValueError(f"{name} must look like 'v23.0'")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    if isinstance(current, int) and not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return float(value) if isinstance(current, float) else value


# --- stand-alone -----------------------------------------------------------------------------


async def _serve(sandbox: InstagramSandbox, port: int) -> None:
    url = await sandbox.start(port)
    print(url, flush=True)
    print("Instagram Graph API sandbox serving; Ctrl-C to stop.", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
            pass
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    defaults = InstagramSandboxConfig()
    parser = argparse.ArgumentParser(
        prog="python -m server.sandbox.instagram",
        description="Instagram Graph API content-publishing emulator (images and carousels).",
    )
    parser.add_argument("--port", type=int, default=8081, help="loopback port (0 picks a free one)")
    parser.add_argument("--processing-delay", type=float, default=defaults.processing_delay)
    parser.add_argument("--container-ttl", type=float, default=defaults.container_ttl)
    parser.add_argument("--publish-quota", type=int, default=defaults.publish_quota)
    parser.add_argument("--api-version", default=defaults.api_version)
    args = parser.parse_args(argv)
    if not _VERSION_RE.fullmatch(args.api_version):
        parser.error("--api-version must look like v23.0")
    config = InstagramSandboxConfig(
        processing_delay=args.processing_delay,
        container_ttl=args.container_ttl,
        publish_quota=args.publish_quota,
        api_version=args.api_version,
    )
    try:
        uvloop.run(_serve(InstagramSandbox(config), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
