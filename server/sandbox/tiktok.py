"""Loopback emulator of TikTok's Content Posting API for photo posts (carousels).

The service's TikTok adapter talks to this emulator exactly as it would to
``https://open.tiktokapis.com``: same paths, bodies, response JSON and error envelope.
``TikTokSandbox.start()`` returns the origin (``http://127.0.0.1:<port>``); the adapter
appends ``/v2/...``. Stand-alone: ``python -m server.sandbox.tiktok --port 8082``.

Endpoints (see ../shared/reference/tiktok-content-posting-api.md):

* ``POST /v2/post/publish/creator_info/query/``  (call-log name ``creator_info``)
* ``POST /v2/post/publish/content/init/``        (``init``; ``media_type`` must be ``PHOTO``)
* ``POST /v2/post/publish/status/fetch/``        (``status``)
* ``POST /v2/oauth/token/``                      (``token``; ``grant_type=refresh_token`` only)

Every v2 response is ``{"data": {...}, "error": {"code", "message", "log_id"}}``; the
token endpoint uses the OAuth shape ``{"error", "error_description", "log_id"}``.
Unknown paths answer HTTP 404 with error code ``not_found``, a wrong method HTTP 405 with
``method_not_allowed``.

Sandbox conventions
-------------------
Access tokens (``Authorization: Bearer <token>``):

* Any token the sandbox has not seen is accepted, so the sandbox needs no credentials.
  It gets a default **public** creator (privacy options ``PUBLIC_TO_EVERYONE``,
  ``MUTUAL_FOLLOW_FRIENDS``, ``SELF_ONLY``) whose ``open_id`` is derived from the token,
  so the same token always means the same creator.
* Except: an unknown token containing the substring ``private`` gets a **private** creator
  (``FOLLOWER_OF_CREATOR``, ``MUTUAL_FOLLOW_FRIENDS``, ``SELF_ONLY``).
* ``add_creator()`` binds a token to a configured creator (and un-revokes it);
  ``revoke_token()`` makes a token answer HTTP 401 ``access_token_invalid``; a missing or
  empty bearer token gets the same 401.
* Access tokens issued by ``/v2/oauth/token/`` expire after ``access_token_ttl`` seconds;
  tokens that were never issued by the sandbox never expire.

Token endpoint: only refresh tokens registered with ``add_refresh_token()`` or issued by
the endpoint itself are accepted (others: 400 ``invalid_grant``). Refresh tokens rotate:
the used one stops working, the new pair belongs to the same creator, and the previous
access token stays valid until it expires. ``client_key`` and ``client_secret`` must be
present but any value (even empty) is accepted. A missing parameter or a body that is not
form-encoded: 400 ``invalid_request``; any grant type but ``refresh_token``: 400
``unsupported_grant_type``.

Init checks, in order: body (400 ``invalid_params``, the message names the field); creator
cannot post (403 ``spam_risk_too_many_posts``); ``DIRECT_POST`` privacy level missing or
not among the creator's options (403 ``privacy_level_option_mismatch``); photo URL not
verified (403 ``url_ownership_unverified``). A verified URL starts with one of
``config.verified_url_prefixes``; an entry without ``://`` (e.g. ``example.com``) is a
domain property covering that host and its subdomains over https only.

Rate limits: per access token and endpoint, a 60-second sliding window over the requests
that were let through (invalid ones count too); over the limit: HTTP 429
``rate_limit_exceeded``. A limit of 0 disables it.

Publish lifecycle, computed lazily from ``time.monotonic()`` (no background tasks): a
publish is ``PROCESSING_DOWNLOAD`` for ``processing_delay`` seconds, then ``FAILED`` (with
a ``fail_reason``) or: ``DIRECT_POST`` -> ``PUBLISH_COMPLETE``; ``MEDIA_UPLOAD`` ->
``SEND_TO_USER_INBOX`` until ``complete_inbox()`` -> ``PUBLISH_COMPLETE`` (the creator
posts the draft with the ``privacy_level`` they pick; default: their first option, i.e.
``PUBLIC_TO_EVERYONE`` for a public creator). A completed
``PUBLIC_TO_EVERYONE`` post gets ``publicaly_available_post_id`` = ``[<19-digit int>]``
(above 2**53, sent as a JSON number) ``moderation_delay`` seconds after completion; other
privacy levels never get one. Both delays are taken from the config at init time.

Sandbox fail rules (the sandbox cannot really download), first match wins:

1. a reason scripted with ``script_fail_reason()`` (consumed by the next accepted inits);
2. ``photo_pull_failed``: a URL containing ``unreachable`` or whose host ends ``.invalid``;
3. ``file_format_check_failed``: a path extension other than ``.jpg``, ``.jpeg``, ``.webp``;
4. ``picture_size_check_failed``: a file name containing ``WxH`` (e.g.
   ``img-1086x1448.jpg``) whose shorter side is over 1080 (which image is not said);
5. ``spam_risk_text``: a title containing the word ``spam`` (any case).

``fail_next()`` makes the next calls of an endpoint return a scripted error before any
other check (HTTP 200 allowed, as for creator_info's intentional HTTP-200 errors).

Switchable faults (``sandbox.faults``, a ``server.sandbox.faults.FaultPlan``; its module
doc is the full reference): probabilistic, seeded (default seed 0) rules per call-log name
(``creator_info``, ``init``, ``status``, ``token``), drawn after ``fail_next`` and the
access-token check and before the rate limiter (a before-serving fault uses no rate budget):

* ``sandbox.faults.set("init", "error_after_live", 0.05)`` -- kinds ``"5xx"`` (HTTP
  500/502/503 ``internal_error``, nothing happened), ``"429"`` (HTTP 429
  ``rate_limit_exceeded`` with ``Retry-After: <retry_after>``), ``"timeout"`` (stall
  ``stall_seconds``; before serving: then 504 ``internal_error`` and nothing happened; with
  ``after_serving=True`` the init is accepted and the real answer comes after the stall),
  ``"reset"`` (TCP reset, no HTTP response; ``after_serving=True``: the call took effect
  first, e.g. a refresh token rotated), ``"error_after_live"`` (``init``: the publish is
  accepted, then HTTP 500 ``internal_error``). The token endpoint answers faults in its
  OAuth shape (``{"error": "internal_error" | "rate_limit_exceeded", ...}``);
* ``sandbox.faults.clear()``, ``sandbox.faults.reseed(seed)``, ``sandbox.faults.injected``
  (``Counter`` of ``(endpoint, kind)``), ``sandbox.faults.events``;
* over HTTP: ``GET|POST|DELETE /_sandbox/faults`` (``POST`` body ``{"seed": 7, "rules":
  [{"endpoint", "kind", "rate", "after_serving", "retry_after", "stall_seconds",
  "status"}]}``). Injected faults are counted in ``calls``; ``stop()`` ends running stalls.

Slow processing needs no fault: raise ``processing_delay`` (also over ``POST
/_sandbox/config``); it applies to inits accepted afterwards.

Duplicate detector: each post record (``posts()``, ``GET /_sandbox/posts``) carries the
creator's ``open_id``, the ordered ``photo_images`` and the ``title``; ``stats()`` / ``GET
/_sandbox/stats`` answers ``{"posts": N, "duplicate_posts": M, "failed": F,
"duplicate_groups": [[publish ids]]}``: N accepted inits, of which F end ``FAILED``; among
the others, an init with the same open_id, photo URLs (in order) and title as an earlier one
is a duplicate (M counts every init but the first of each group). A re-post after a FAILED
publish is therefore not a duplicate.

Control API for out-of-process users (not counted in ``calls``): ``GET /_sandbox/posts``
(``?access_token=`` filters), ``GET /_sandbox/stats``, ``GET /_sandbox/calls``,
``GET|POST /_sandbox/config``, ``GET|POST|DELETE /_sandbox/faults``,
``POST /_sandbox/inbox/{publish_id}/complete`` (optional ``{"privacy_level"}``), and one
``POST`` per set-up method: ``/_sandbox/creators``, ``/_sandbox/refresh_tokens``,
``/_sandbox/revoke``, ``/_sandbox/fail_next``, ``/_sandbox/fail_reason``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime
import hashlib
import json
import posixpath
import re
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import uvloop
from aiohttp import web

from server.http_server import AppServer
from server.sandbox import common
from server.sandbox.common import CallLog
from server.sandbox.faults import Fault, FaultInjected, FaultPlan

ENDPOINTS = ("creator_info", "init", "status", "token")

PUBLIC_PRIVACY_OPTIONS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PRIVATE_PRIVACY_OPTIONS = ("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PUBLIC = "PUBLIC_TO_EVERYONE"

DIRECT_POST = "DIRECT_POST"
MEDIA_UPLOAD = "MEDIA_UPLOAD"
POST_MODES = (DIRECT_POST, MEDIA_UPLOAD)

FAIL_REASONS = frozenset(
    {
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
        "internal",
        "video_pull_failed",
        "photo_pull_failed",
        "publish_cancelled",
        "auth_removed",
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "spam_risk_text",
        "spam_risk",
    }
)

MAX_PHOTOS = 35
MAX_TITLE_UNITS = 90
MAX_DESCRIPTION_UNITS = 4000
MAX_SHORT_SIDE = 1080
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".webp")
RATE_WINDOW = 60.0
SCOPE = "video.publish,video.upload"

_SIZE_IN_NAME = re.compile(r"(\d+)[xX](\d+)")
_SPAM_WORD = re.compile(r"\bspam\b", re.IGNORECASE)
_JSON_TYPES = ("application/json",)
_FORM_TYPE = "application/x-www-form-urlencoded"
_POST_INFO_FLAGS = (
    "disable_comment",
    "auto_add_music",
    "brand_content_toggle",
    "brand_organic_toggle",
)
_POST_CAP = "The daily post cap from API is reached for the current user."
_AVATAR_BASE = "https://p16-sign.tiktokcdn-us.com/sandbox-avatar"
_TOKEN_INVALID = "The access token is invalid or not found in the request."


@dataclass
class TikTokSandboxConfig:
    processing_delay: float = 1.0
    moderation_delay: float = 5.0
    init_limit_per_minute: int = 6
    status_limit_per_minute: int = 30
    creator_info_limit_per_minute: int = 20
    verified_url_prefixes: tuple[str, ...] = ("https://storage.googleapis.com/",)
    access_token_ttl: int = 86400
    refresh_token_ttl: int = 31536000


@dataclass
class _Creator:
    open_id: str
    username: str
    nickname: str
    private: bool = False
    can_post: bool = True
    comment_disabled: bool = False

    @property
    def privacy_level_options(self) -> tuple[str, ...]:
        return PRIVATE_PRIVACY_OPTIONS if self.private else PUBLIC_PRIVACY_OPTIONS


@dataclass
class _RefreshGrant:
    open_id: str
    expires_at: float


@dataclass
class _Publish:
    publish_id: str
    open_id: str
    post_mode: str
    privacy_level: str | None
    title: str
    description: str
    photo_images: list[str]
    photo_cover_index: int
    disable_comment: bool
    auto_add_music: bool
    brand_content_toggle: bool
    brand_organic_toggle: bool
    is_aigc: bool
    ready_at: float
    moderation_delay: float
    fail_reason: str | None
    post_id: int
    photo_bytes: list[int]
    created_at: float
    completed_at: float | None = None  # MEDIA_UPLOAD: when the creator posted the draft


@dataclass
class _ScriptedError:
    http_status: int
    code: str
    message: str
    remaining: int


class ApiError(Exception):
    """An error answered with the v2 envelope."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


class OAuthError(Exception):
    """An error answered in the OAuth token-endpoint shape."""

    def __init__(self, error: str, description: str, http_status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.http_status = http_status


def new_log_id() -> str:
    """A TikTok-style log id: UTC YYYYMMDDHHMMSS plus 20 upper-case hex digits (34 chars)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as TikTok ("UTF-16 runes") and JavaScript count it."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _json(payload: dict[str, Any], status: int, log_id: str) -> web.Response:
    return web.json_response(payload, status=status, headers={"X-Tt-Logid": log_id})


def envelope(
    data: dict[str, Any], code: str = "ok", message: str = "", status: int = 200
) -> web.Response:
    log_id = new_log_id()
    body = {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}
    return _json(body, status, log_id)


def oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    log_id = new_log_id()
    body = {"error": error, "error_description": description, "log_id": log_id}
    return _json(body, status, log_id)


# --- URL rules ---------------------------------------------------------------------------


def is_verified_url(url: str, properties: tuple[str, ...]) -> bool:
    """True if url belongs to a URL-prefix property or (https only) a domain property."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for prop in properties:
        if "://" in prop:
            if url.startswith(prop):
                return True
        elif parts.scheme == "https" and host:
            domain = prop.strip().lstrip(".").lower()
            if domain and (host == domain or host.endswith("." + domain)):
                return True
    return False


def _pull_fails(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return "unreachable" in url.lower() or host == "invalid" or host.endswith(".invalid")


def _file_name(url: str) -> str:
    return posixpath.basename(urlsplit(url).path)


def _format_fails(url: str) -> bool:
    extension = posixpath.splitext(_file_name(url))[1].lower()
    return extension not in PHOTO_EXTENSIONS


def _size_fails(url: str) -> bool:
    for width, height in _SIZE_IN_NAME.findall(_file_name(url)):
        if min(int(width), int(height)) > MAX_SHORT_SIDE:
            return True
    return False


def sandbox_fail_reason(photo_images: list[str], title: str) -> str | None:
    """The fail_reason the sandbox rules give a publish, or None if it succeeds."""
    if any(_pull_fails(url) for url in photo_images):
        return "photo_pull_failed"
    if any(_format_fails(url) for url in photo_images):
        return "file_format_check_failed"
    if any(_size_fails(url) for url in photo_images):
        return "picture_size_check_failed"
    if _SPAM_WORD.search(title):
        return "spam_risk_text"
    return None


def _photo_bytes(url: str) -> int:
    """A stable fake size for a photo, 150-500 kB."""
    digest = hashlib.sha256(url.encode()).digest()
    return 150_000 + int.from_bytes(digest[:4], "big") % 350_000


# --- request parsing -----------------------------------------------------------------------


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_params", message)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type not in _JSON_TYPES:
        raise _invalid("Content-Type must be application/json; charset=UTF-8")
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise _invalid("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("request body must be a JSON object")
    return body


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise _invalid(f"{name} is required and must be an object")
    return value


def _optional_str(obj: dict[str, Any], name: str, path: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{path}.{name} must be a string")
    return value


def _optional_bool(obj: dict[str, Any], name: str, path: str) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _invalid(f"{path}.{name} must be a boolean")
    return value


def _check_length(text: str, path: str, limit: int) -> None:
    units = utf16_units(text)
    if units > limit:
        raise _invalid(f"{path} is {units} UTF-16 units long; photo posts allow at most {limit}")


def _photo_images(source_info: dict[str, Any]) -> list[str]:
    images = source_info.get("photo_images")
    if not isinstance(images, list) or not images:
        raise _invalid("source_info.photo_images must be a non-empty list of URLs")
    if len(images) > MAX_PHOTOS:
        raise _invalid(
            f"source_info.photo_images has {len(images)} photos; at most {MAX_PHOTOS} are allowed"
        )
    if not all(isinstance(url, str) and url for url in images):
        raise _invalid("source_info.photo_images must contain only non-empty URL strings")
    return list(images)


def _cover_index(source_info: dict[str, Any], count: int) -> int:
    index = source_info.get("photo_cover_index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _invalid("source_info.photo_cover_index is required and must be an integer")
    if not 0 <= index < count:
        raise _invalid(f"source_info.photo_cover_index {index} is out of range for {count} photos")
    return index


@dataclass
class _InitRequest:
    post_mode: str
    post_info: dict[str, Any]
    title: str
    description: str
    privacy_level: str | None
    photo_images: list[str]
    photo_cover_index: int
    is_aigc: bool


def parse_init(body: dict[str, Any]) -> _InitRequest:
    """Validates a /content/init/ body; raises ApiError(400, invalid_params) naming the problem."""
    if body.get("media_type") != "PHOTO":
        raise _invalid("media_type is required and must be PHOTO")
    post_mode = body.get("post_mode")
    if post_mode not in POST_MODES:
        raise _invalid("post_mode is required and must be DIRECT_POST or MEDIA_UPLOAD")
    post_info = _object(body, "post_info")
    source_info = _object(body, "source_info")
    if source_info.get("source") != "PULL_FROM_URL":
        raise _invalid("source_info.source must be PULL_FROM_URL (the only source for photos)")
    images = _photo_images(source_info)
    cover = _cover_index(source_info, len(images))
    title = _optional_str(post_info, "title", "post_info")
    description = _optional_str(post_info, "description", "post_info")
    _check_length(title, "post_info.title", MAX_TITLE_UNITS)
    _check_length(description, "post_info.description", MAX_DESCRIPTION_UNITS)
    privacy = post_info.get("privacy_level")
    if privacy is not None and not isinstance(privacy, str):
        raise _invalid("post_info.privacy_level must be a string")
    for name in _POST_INFO_FLAGS:
        _optional_bool(post_info, name, "post_info")
    is_aigc = body.get("is_aigc")
    if is_aigc is not None and not isinstance(is_aigc, bool):
        raise _invalid("is_aigc must be a boolean")
    return _InitRequest(
        post_mode=post_mode,
        post_info=post_info,
        title=title,
        description=description,
        privacy_level=privacy,
        photo_images=images,
        photo_cover_index=cover,
        is_aigc=bool(is_aigc),
    )


# --- rate limiting -------------------------------------------------------------------------


class SlidingWindowLimiter:
    """At most `limit` admitted hits per key in any RATE_WINDOW seconds."""

    def __init__(self) -> None:
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def admit(self, key: str, limit: int, now: float) -> bool:
        if limit <= 0:
            return True
        hits = self._hits[key]
        while hits and now - hits[0] >= RATE_WINDOW:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        self._hits.clear()


# --- the sandbox ---------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TikTokSandbox:
    """In-process TikTok Content Posting API (photo posts) with test set-up and inspection."""

    def __init__(self, config: TikTokSandboxConfig | None = None) -> None:
        self.config = config or TikTokSandboxConfig()
        self.calls = CallLog()
        # Switchable probabilistic faults (server.sandbox.faults); seed 0 until reseeded.
        self.faults = FaultPlan(ENDPOINTS)
        self._creators: dict[str, _Creator] = {}  # by open_id
        self._token_owner: dict[str, str] = {}  # access token -> open_id
        self._token_expiry: dict[str, float] = {}  # only tokens issued by /oauth/token/
        self._revoked: set[str] = set()
        self._refresh: dict[str, _RefreshGrant] = {}
        self._publishes: dict[str, _Publish] = {}  # insertion order = init order
        self._scripted_reasons: collections.deque[str] = collections.deque()
        self._scripted_errors: dict[str, collections.deque[_ScriptedError]] = {
            name: collections.deque() for name in ENDPOINTS
        }
        self._limiter = SlidingWindowLimiter()
        self._server: AppServer | None = None
        self.app = self._build_app()
        # Set by start(): what DISTRIBUTION_TIKTOK_API_BASE points at.
        self.base_url = ""

    # --- serving ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 and returns the origin, e.g. ``http://127.0.0.1:41234``."""
        if self._server is not None:
            raise RuntimeError("TikTokSandbox is already started")
        self._server = AppServer(self.app, port=port)
        self.base_url = await self._server.start()
        return self.base_url

    async def stop(self) -> None:
        self.faults.release()
        if self._server is not None:
            await self._server.stop()
            self._server = None

    # --- set-up and inspection ---------------------------------------------------------------

    def add_creator(
        self,
        access_token: str,
        *,
        private: bool = False,
        username: str = "sandbox_creator",
        nickname: str = "Sandbox Creator",
        open_id: str | None = None,
        can_post: bool = True,
        comment_disabled: bool = False,
    ) -> None:
        """Binds access_token to a creator (created, or replaced if open_id exists)."""
        if not access_token:
            raise ValueError("access_token must not be empty")
        open_id = open_id or _default_open_id(access_token)
        self._creators[open_id] = _Creator(
            open_id=open_id,
            username=username,
            nickname=nickname,
            private=private,
            can_post=can_post,
            comment_disabled=comment_disabled,
        )
        self._token_owner[access_token] = open_id
        self._token_expiry.pop(access_token, None)
        self._revoked.discard(access_token)

    def add_refresh_token(self, refresh_token: str, access_token: str) -> None:
        """Registers a refresh token that /v2/oauth/token/ accepts, for access_token's creator."""
        if not refresh_token:
            raise ValueError("refresh_token must not be empty")
        creator = self._creator(access_token, register=True)
        expires_at = time.monotonic() + self.config.refresh_token_ttl
        self._refresh[refresh_token] = _RefreshGrant(creator.open_id, expires_at)

    def revoke_token(self, access_token: str) -> None:
        """Calls with this access token now get HTTP 401 access_token_invalid."""
        self._revoked.add(access_token)

    def posts(self, access_token: str | None = None) -> list[dict[str, Any]]:
        """Every accepted init, in init order; only access_token's creator's if given."""
        now = time.monotonic()
        publishes = list(self._publishes.values())
        if access_token is not None:
            open_id = self._token_owner.get(access_token) or _default_open_id(access_token)
            publishes = [p for p in publishes if p.open_id == open_id]
        return [self._describe(p, now) for p in publishes]

    def stats(self) -> dict[str, Any]:
        """``{"posts": N, "duplicate_posts": M, "failed": F, "duplicate_groups": [[ids]]}``.

        N counts every accepted init (what ``posts()`` lists). A duplicate is an accepted
        init with the same creator ``open_id``, ordered photo URLs and title as an earlier
        one; publishes that end ``FAILED`` (F of them; their fail_reason is fixed at init)
        never went live and are left out, so re-posting after a failure is no duplicate.
        M counts every publish but the first of each group.
        """
        groups: dict[tuple[Any, ...], list[str]] = {}
        failed = 0
        for pub in self._publishes.values():
            if pub.fail_reason is not None:
                failed += 1
                continue
            key = (pub.open_id, tuple(pub.photo_images), pub.title)
            groups.setdefault(key, []).append(pub.publish_id)
        duplicates = [group for group in groups.values() if len(group) > 1]
        return {
            "posts": len(self._publishes),
            "duplicate_posts": sum(len(group) - 1 for group in duplicates),
            "failed": failed,
            "duplicate_groups": duplicates,
        }

    def publish(self, publish_id: str) -> dict[str, Any] | None:
        pub = self._publishes.get(publish_id)
        return None if pub is None else self._describe(pub, time.monotonic())

    def complete_inbox(self, publish_id: str, *, privacy_level: str | None = None) -> None:
        """The creator posts a MEDIA_UPLOAD draft in the app: inbox -> PUBLISH_COMPLETE.

        privacy_level is what the creator picks in the app (default: their first option,
        PUBLIC_TO_EVERYONE for a public creator). Raises KeyError for an unknown id and
        ValueError if the publish is not a draft waiting in the inbox.
        """
        pub = self._publishes.get(publish_id)
        if pub is None:
            raise KeyError(f"unknown publish_id {publish_id!r}")
        status = self._state(pub, time.monotonic())[0]
        if pub.post_mode != MEDIA_UPLOAD or status != "SEND_TO_USER_INBOX":
            raise ValueError(
                f"publish {publish_id} is {pub.post_mode} in status {status}, not an inbox draft"
            )
        options = self._creators[pub.open_id].privacy_level_options
        if privacy_level is not None and privacy_level not in options:
            raise ValueError(f"privacy_level {privacy_level!r} is not one of {list(options)}")
        pub.privacy_level = privacy_level or options[0]
        pub.completed_at = time.monotonic()

    def script_fail_reason(self, reason: str, count: int = 1) -> None:
        """The next `count` accepted inits end FAILED with this fail_reason."""
        if reason not in FAIL_REASONS:
            raise ValueError(f"unknown fail_reason {reason!r}; one of {sorted(FAIL_REASONS)}")
        _check_count(count)
        self._scripted_reasons.extend([reason] * count)

    def fail_next(
        self, endpoint: str, *, http_status: int, code: str, message: str = "", count: int = 1
    ) -> None:
        """The next `count` calls to endpoint (a CallLog name) get this error before any check."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {list(ENDPOINTS)}")
        if not 100 <= http_status <= 599:
            raise ValueError(f"http_status must be an HTTP status code, got {http_status}")
        _check_count(count)
        self._scripted_errors[endpoint].append(_ScriptedError(http_status, code, message, count))

    # --- tokens and creators ---------------------------------------------------------------

    def _creator(self, access_token: str, *, register: bool) -> _Creator:
        """The creator behind a token; an unknown token gets a default creator."""
        open_id = self._token_owner.get(access_token)
        if open_id is not None:
            return self._creators[open_id]
        private = "private" in access_token
        creator = _Creator(
            open_id=_default_open_id(access_token),
            username="sandbox_private_creator" if private else "sandbox_creator",
            nickname="Sandbox Private Creator" if private else "Sandbox Creator",
            private=private,
        )
        if register:
            creator = self._creators.setdefault(creator.open_id, creator)
            self._token_owner[access_token] = creator.open_id
        return creator

    def _authenticate(self, request: web.Request) -> tuple[str, _Creator]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "access_token_invalid", _TOKEN_INVALID)
        expiry = self._token_expiry.get(token)
        if token in self._revoked or (expiry is not None and time.monotonic() >= expiry):
            raise ApiError(401, "access_token_invalid", _TOKEN_INVALID)
        return token, self._creator(token, register=True)

    def _issue_tokens(self, open_id: str) -> dict[str, Any]:
        now = time.monotonic()
        access_token = "act." + secrets.token_urlsafe(36)
        refresh_token = "rft." + secrets.token_urlsafe(36)
        self._token_owner[access_token] = open_id
        self._token_expiry[access_token] = now + self.config.access_token_ttl
        self._refresh[refresh_token] = _RefreshGrant(open_id, now + self.config.refresh_token_ttl)
        return {
            "access_token": access_token,
            "expires_in": self.config.access_token_ttl,
            "open_id": open_id,
            "refresh_expires_in": self.config.refresh_token_ttl,
            "refresh_token": refresh_token,
            "scope": SCOPE,
            "token_type": "Bearer",
        }

    # --- per-call preamble -------------------------------------------------------------------

    def _scripted_error(self, endpoint: str) -> _ScriptedError | None:
        queue = self._scripted_errors[endpoint]
        if not queue:
            return None
        scripted = queue[0]
        scripted.remaining -= 1
        if scripted.remaining <= 0:
            queue.popleft()
        return scripted

    def _begin(self, request: web.Request, endpoint: str, limit: int) -> tuple[str, _Creator]:
        """Counts the call, applies fail_next, authenticates and rate-limits."""
        self.calls.record(endpoint)
        scripted = self._scripted_error(endpoint)
        if scripted is not None:
            raise ApiError(scripted.http_status, scripted.code, scripted.message)
        token, creator = self._authenticate(request)
        self.faults.inject(request, endpoint)
        if not self._limiter.admit(f"{endpoint}:{token}", limit, time.monotonic()):
            raise ApiError(
                429, "rate_limit_exceeded", f"The API rate limit ({limit}/minute) was exceeded."
            )
        return token, creator

    # --- v2 handlers -------------------------------------------------------------------------

    async def _creator_info(self, request: web.Request) -> web.Response:
        _, creator = self._begin(request, "creator_info", self.config.creator_info_limit_per_minute)
        if not creator.can_post:
            # Documented as an intentional HTTP-200 error.
            return envelope({}, "spam_risk_too_many_posts", _POST_CAP)
        return envelope(
            {
                "creator_avatar_url": f"{_AVATAR_BASE}/{creator.open_id}.jpeg",
                "creator_username": creator.username,
                "creator_nickname": creator.nickname,
                "privacy_level_options": list(creator.privacy_level_options),
                "comment_disabled": creator.comment_disabled,
                "duet_disabled": creator.private,
                "stitch_disabled": creator.private,
                "max_video_post_duration_sec": 600,
            }
        )

    async def _init(self, request: web.Request) -> web.Response:
        _, creator = self._begin(request, "init", self.config.init_limit_per_minute)
        req = parse_init(await _json_body(request))
        if not creator.can_post:
            raise ApiError(403, "spam_risk_too_many_posts", _POST_CAP)
        if req.post_mode == DIRECT_POST:
            _check_privacy(req.privacy_level, creator)
        properties = self.config.verified_url_prefixes
        unverified = [u for u in req.photo_images if not is_verified_url(u, properties)]
        if unverified:
            raise ApiError(
                403,
                "url_ownership_unverified",
                f"The URL prefix or domain of {unverified[0]} is not verified for this app.",
            )
        pub = self._accept(req, creator)
        return envelope({"publish_id": pub.publish_id})

    async def _status(self, request: web.Request) -> web.Response:
        _, creator = self._begin(request, "status", self.config.status_limit_per_minute)
        publish_id = (await _json_body(request)).get("publish_id")
        if not isinstance(publish_id, str) or not publish_id:
            raise _invalid("publish_id is required and must be a string")
        pub = self._publishes.get(publish_id)
        if pub is None:
            raise ApiError(400, "invalid_publish_id", f"publish_id {publish_id} does not exist.")
        if pub.open_id != creator.open_id:
            raise ApiError(
                400,
                "token_not_authorized_for_specified_publish_id",
                "The access token is not authorized to fetch the status of this publish_id.",
            )
        status, fail_reason, post_ids, downloaded = self._state(pub, time.monotonic())
        data: dict[str, Any] = {"status": status}
        if fail_reason is not None:
            data["fail_reason"] = fail_reason
        data["publicaly_available_post_id"] = post_ids
        data["downloaded_bytes"] = downloaded
        return envelope(data)

    async def _token(self, request: web.Request) -> web.Response:
        self.calls.record("token")
        scripted = self._scripted_error("token")
        if scripted is not None:
            raise OAuthError(scripted.code, scripted.message, scripted.http_status)
        self.faults.inject(request, "token")
        if request.content_type != _FORM_TYPE:
            raise OAuthError("invalid_request", f"Content-Type must be {_FORM_TYPE}.")
        form = await request.post()
        missing = [n for n in ("client_key", "client_secret", "grant_type") if n not in form]
        if missing:
            raise OAuthError("invalid_request", f"Missing required parameter: {missing[0]}.")
        if form["grant_type"] != "refresh_token":
            raise OAuthError("unsupported_grant_type", "The sandbox supports only refresh_token.")
        refresh_token = form.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token.")
        grant = self._refresh.pop(refresh_token, None)
        if grant is None or time.monotonic() >= grant.expires_at:
            raise OAuthError("invalid_grant", "Refresh token is invalid or expired.")
        tokens = self._issue_tokens(grant.open_id)
        log_id = new_log_id()
        return _json(tokens, 200, log_id)

    # --- publishes ---------------------------------------------------------------------------

    def _new_publish_id(self) -> str:
        while True:
            publish_id = f"p_pub_url~v2.{secrets.randbelow(9 * 10**18) + 10**18}"
            if publish_id not in self._publishes:
                return publish_id

    def _accept(self, req: _InitRequest, creator: _Creator) -> _Publish:
        now = time.monotonic()
        scripted = self._scripted_reasons.popleft() if self._scripted_reasons else None
        info = req.post_info
        pub = _Publish(
            publish_id=self._new_publish_id(),
            open_id=creator.open_id,
            post_mode=req.post_mode,
            privacy_level=req.privacy_level if req.post_mode == DIRECT_POST else None,
            title=req.title,
            description=req.description,
            photo_images=req.photo_images,
            photo_cover_index=req.photo_cover_index,
            disable_comment=bool(info.get("disable_comment")),
            auto_add_music=bool(info.get("auto_add_music")),
            brand_content_toggle=bool(info.get("brand_content_toggle")),
            brand_organic_toggle=bool(info.get("brand_organic_toggle")),
            is_aigc=req.is_aigc,
            ready_at=now + self.config.processing_delay,
            moderation_delay=self.config.moderation_delay,
            fail_reason=scripted or sandbox_fail_reason(req.photo_images, req.title),
            post_id=7_300_000_000_000_000_000 + secrets.randbelow(10**17),
            photo_bytes=[_photo_bytes(url) for url in req.photo_images],
            created_at=now,
        )
        self._publishes[pub.publish_id] = pub
        return pub

    def _state(self, pub: _Publish, now: float) -> tuple[str, str | None, list[int], int]:
        """(status, fail_reason, publicaly_available_post_id, downloaded_bytes) at `now`."""
        total = sum(pub.photo_bytes)
        if now < pub.ready_at:
            span = pub.ready_at - pub.created_at
            return "PROCESSING_DOWNLOAD", None, [], int(total * (now - pub.created_at) / span)
        if pub.fail_reason is not None:
            downloaded = 0 if pub.fail_reason == "photo_pull_failed" else total
            return "FAILED", pub.fail_reason, [], downloaded
        completed_at = pub.ready_at if pub.post_mode == DIRECT_POST else pub.completed_at
        if completed_at is None:
            return "SEND_TO_USER_INBOX", None, [], total
        public = pub.privacy_level == PUBLIC and now >= completed_at + pub.moderation_delay
        return "PUBLISH_COMPLETE", None, [pub.post_id] if public else [], total

    def _describe(self, pub: _Publish, now: float) -> dict[str, Any]:
        status, fail_reason, post_ids, downloaded = self._state(pub, now)
        return {
            "publish_id": pub.publish_id,
            "open_id": pub.open_id,
            "post_mode": pub.post_mode,
            "privacy_level": pub.privacy_level,
            "title": pub.title,
            "description": pub.description,
            "photo_images": list(pub.photo_images),
            "photo_cover_index": pub.photo_cover_index,
            "disable_comment": pub.disable_comment,
            "auto_add_music": pub.auto_add_music,
            "brand_content_toggle": pub.brand_content_toggle,
            "brand_organic_toggle": pub.brand_organic_toggle,
            "is_aigc": pub.is_aigc,
            "status": status,
            "fail_reason": fail_reason,
            "post_ids": post_ids,
            "downloaded_bytes": downloaded,
        }

    # --- control API -------------------------------------------------------------------------

    async def _ctl_posts(self, request: web.Request) -> web.Response:
        return web.json_response({"posts": self.posts(request.query.get("access_token"))})

    async def _ctl_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _ctl_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"counts": dict(self.calls.counts), "total": self.calls.total()})

    async def _ctl_get_config(self, request: web.Request) -> web.Response:
        return web.json_response(dataclasses.asdict(self.config))

    async def _ctl_set_config(self, request: web.Request) -> web.Response:
        apply_config_update(self.config, await _control_body(request))
        return web.json_response(dataclasses.asdict(self.config))

    async def _ctl_complete_inbox(self, request: web.Request) -> web.Response:
        body = await _control_body(request, allow_empty=True)
        publish_id = request.match_info["publish_id"]
        self.complete_inbox(publish_id, privacy_level=body.get("privacy_level"))
        return web.json_response(self.publish(publish_id))

    async def _ctl_add_creator(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        self.add_creator(**body)
        return web.json_response({"ok": True})

    async def _ctl_add_refresh_token(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        self.add_refresh_token(body["refresh_token"], body["access_token"])
        return web.json_response({"ok": True})

    async def _ctl_revoke(self, request: web.Request) -> web.Response:
        self.revoke_token((await _control_body(request))["access_token"])
        return web.json_response({"ok": True})

    async def _ctl_fail_next(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        self.fail_next(body.pop("endpoint"), **body)
        return web.json_response({"ok": True})

    async def _ctl_fail_reason(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        self.script_fail_reason(body["reason"], body.get("count", 1))
        return web.json_response({"ok": True})

    # --- app ---------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self.faults.middleware(_fault_response), _error_middleware]
        )
        app.router.add_post("/v2/post/publish/creator_info/query/", self._creator_info)
        app.router.add_post("/v2/post/publish/content/init/", self._init)
        app.router.add_post("/v2/post/publish/status/fetch/", self._status)
        app.router.add_post("/v2/oauth/token/", self._token)
        app.router.add_get("/_sandbox/posts", self._ctl_posts)
        app.router.add_get("/_sandbox/calls", self._ctl_calls)
        app.router.add_get("/_sandbox/stats", self._ctl_stats)
        app.router.add_get("/_sandbox/config", self._ctl_get_config)
        app.router.add_post("/_sandbox/config", self._ctl_set_config)
        app.router.add_post("/_sandbox/inbox/{publish_id}/complete", self._ctl_complete_inbox)
        app.router.add_post("/_sandbox/creators", self._ctl_add_creator)
        app.router.add_post("/_sandbox/refresh_tokens", self._ctl_add_refresh_token)
        app.router.add_post("/_sandbox/revoke", self._ctl_revoke)
        app.router.add_post("/_sandbox/fail_next", self._ctl_fail_next)
        app.router.add_post("/_sandbox/fail_reason", self._ctl_fail_reason)
        self.faults.add_routes(app.router)
        return app


# --- helpers used by the sandbox -------------------------------------------------------------


def _default_open_id(access_token: str) -> str:
    return "sbx-" + hashlib.sha256(access_token.encode()).hexdigest()[:32]


def _check_count(count: int) -> None:
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")


def _check_privacy(privacy_level: str | None, creator: _Creator) -> None:
    options = creator.privacy_level_options
    if privacy_level is None:
        message = "post_info.privacy_level is required for DIRECT_POST."
        raise ApiError(403, "privacy_level_option_mismatch", message)
    if privacy_level not in options:
        raise ApiError(
            403,
            "privacy_level_option_mismatch",
            f"privacy_level {privacy_level} is not one of the creator's options {list(options)}.",
        )


class ControlError(Exception):
    """A bad control-API request (HTTP 400)."""


async def _control_body(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    text = await request.text()
    if not text.strip() and allow_empty:
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise ControlError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def apply_config_update(config: TikTokSandboxConfig, update: dict[str, Any]) -> None:
    """Validates every field of `update` first, then sets them on `config`."""
    common.apply_config_update(config, update, _config_value, ControlError)


def _config_value(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ControlError(f"{name} must be a list of strings")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ControlError(f"{name} must be a non-negative number")
    if isinstance(current, int) and not isinstance(value, int):
        raise ControlError(f"{name} must be an integer")
    return float(value) if isinstance(current, float) else value


@web.middleware
async def _error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    control = request.path.startswith("/_sandbox/")
    try:
        return await handler(request)
    except FaultInjected:
        raise  # answered by the fault middleware outside this one
    except ApiError as exc:
        return envelope({}, exc.code, exc.message, exc.http_status)
    except OAuthError as exc:
        return oauth_error(exc.error, exc.description, exc.http_status)
    except web.HTTPNotFound:
        return envelope({}, "not_found", f"No API at {request.path}.", 404)
    except web.HTTPMethodNotAllowed:
        message = f"{request.method} is not allowed on {request.path}."
        return envelope({}, "method_not_allowed", message, 405)
    except web.HTTPException:
        raise
    except (ControlError, TypeError, ValueError) as exc:
        if not control:
            return _internal_error(exc)
        return web.json_response({"error": str(exc)}, status=400)
    except KeyError as exc:
        if not control:
            return _internal_error(exc)
        return web.json_response({"error": f"not found or missing: {exc}"}, status=404)
    except Exception as exc:  # noqa: BLE001 - answer like TikTok, never a bare 500 page
        return _internal_error(exc)


def _fault_response(fault: Fault) -> web.Response:
    """TikTok's answer to an injected fault (see server.sandbox.faults)."""
    if fault.kind == "429":
        status = fault.status or 429
        message = "The API rate limit was exceeded. Please retry later."
        if fault.endpoint == "token":
            return oauth_error("rate_limit_exceeded", message, status)
        return envelope({}, "rate_limit_exceeded", message, status)
    status = fault.status or 500
    if status == 504:
        message = "The request timed out. Please try again later."
    else:
        message = "Something went wrong. Please try again later."
    if fault.endpoint == "token":
        return oauth_error("internal_error", message, status)
    return envelope({}, "internal_error", message, status)


def _internal_error(exc: BaseException) -> web.Response:
    return envelope({}, "internal_error", f"sandbox error: {exc!r}", 500)


# --- stand-alone -----------------------------------------------------------------------------


async def _serve(sandbox: TikTokSandbox, port: int) -> None:
    url = await sandbox.start(port)
    print(url, flush=True)
    print("TikTok sandbox serving; Ctrl-C to stop.", file=sys.stderr, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m server.sandbox.tiktok",
        description="TikTok Content Posting API emulator (photo posts).",
    )
    defaults = TikTokSandboxConfig()
    parser.add_argument("--port", type=int, default=8082, help="loopback port (0 picks a free one)")
    parser.add_argument("--processing-delay", type=float, default=defaults.processing_delay)
    parser.add_argument("--moderation-delay", type=float, default=defaults.moderation_delay)
    parser.add_argument(
        "--verified-url-prefix",
        action="append",
        help="URL prefix or domain property for PULL_FROM_URL (repeatable; replaces the default)",
    )
    args = parser.parse_args(argv)
    config = TikTokSandboxConfig(
        processing_delay=args.processing_delay, moderation_delay=args.moderation_delay
    )
    if args.verified_url_prefix:
        config.verified_url_prefixes = tuple(args.verified_url_prefix)
    try:
        uvloop.run(_serve(TikTokSandbox(config), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
