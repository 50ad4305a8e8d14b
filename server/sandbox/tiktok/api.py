"""TikTok's API over HTTP: the v2 routes, the per-call preamble and the response envelopes.

Every v2 call is counted, then answered by a scripted error, an access-token refusal, a
fault or a rate limit, in that order, before endpoints.py serves it (README.md).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from server.sandbox.common import CallLog, ScriptedAnswers
from server.sandbox.faults import Fault, FaultInjected, FaultPlan, abort_connection
from server.sandbox.media import ImageFacts, ImageProbe
from server.sandbox.tiktok import endpoints, video
from server.sandbox.tiktok.accounts import TOKEN_INVALID, Accounts, Creator
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.errors import ApiError, OAuthError, ScriptedError, invalid
from server.sandbox.tiktok.oauth import TikTokLogin
from server.sandbox.tiktok.publishes import Publishes
from server.sandbox.tiktok.ratelimit import SlidingWindowLimiter

ENDPOINTS = ("creator_info", "init", "status", "token", "authorize", "user_info", "upload")

_FORM_TYPE = "application/x-www-form-urlencoded"


class TikTokApi:
    """Serves ``/v2/...`` the way open.tiktokapis.com does."""

    def __init__(
        self,
        config: TikTokSandboxConfig,
        *,
        accounts: Accounts,
        publishes: Publishes,
        calls: CallLog,
        faults: FaultPlan,
        scripted: ScriptedAnswers[ScriptedError],
        probe: ImageProbe | None = None,
        login: TikTokLogin | None = None,
    ) -> None:
        self._config = config
        self._login = login or TikTokLogin(config, accounts)
        # Downloads the photos the way TikTok pulls them.
        self._probe = probe or ImageProbe()
        self._accounts = accounts
        self._publishes = publishes
        self._calls = calls
        self._faults = faults
        self._scripted = scripted
        self._limiter = SlidingWindowLimiter()

    @property
    def rate_limited(self) -> dict[str, int]:
        """How many calls per endpoint were answered 429 rate_limit_exceeded by the limits."""
        return dict(self._limiter.refused)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v2/post/publish/creator_info/query/", self._creator_info)
        router.add_post("/v2/post/publish/content/init/", self._init)
        router.add_post("/v2/post/publish/status/fetch/", self._status)
        router.add_post("/v2/oauth/token/", self._token)
        router.add_get("/v2/auth/authorize/", self._authorize)
        router.add_get("/v2/user/info/", self._user_info)
        router.add_post("/v2/post/publish/video/init/", self._video_init)
        router.add_post("/v2/post/publish/inbox/video/init/", self._inbox_video_init)
        router.add_put("/upload/", self._upload)

    async def _creator_info(self, request: web.Request) -> web.Response:
        creator = self._begin(request, "creator_info", self._config.creator_info_limit_per_minute)
        return envelope(endpoints.creator_info(creator))

    async def _init(self, request: web.Request) -> web.Response:
        creator = self._begin(request, "init", self._config.init_limit_per_minute)
        body = await _json_body(request)
        verified = self._config.verified_url_prefixes
        facts = await self._photo_facts(body)
        return envelope(endpoints.init(self._publishes, creator, body, verified, facts))

    async def _video_init(self, request: web.Request) -> web.Response:
        return await self._any_video_init(request, "DIRECT_POST")

    async def _inbox_video_init(self, request: web.Request) -> web.Response:
        return await self._any_video_init(request, "MEDIA_UPLOAD")

    async def _any_video_init(self, request: web.Request, post_mode: str) -> web.Response:
        creator = self._begin(request, "init", self._config.init_limit_per_minute)
        body = await _json_body(request)
        source = body.get("source_info")
        url = source.get("video_url") if isinstance(source, dict) else None
        pulled = await self._probe.facts(url) if isinstance(url, str) and url else None
        origin = str(request.url.origin())
        verified = self._config.verified_url_prefixes
        return envelope(endpoints.video_init(self._publishes, creator, body, post_mode, verified, pulled, origin))

    async def _upload(self, request: web.Request) -> web.Response:
        """PUT to an upload_url: one chunk (video.py has the rules). A refused chunk's body is
        read and dropped before the answer, so the sender, still writing it, sees the answer
        rather than a connection closed under it."""
        self._calls.record("upload")
        self._faults.inject(request, "upload")
        try:
            return await self._chunk(request)
        except ApiError:
            while await request.content.readany():
                pass
            raise

    async def _chunk(self, request: web.Request) -> web.Response:
        pub = self._publishes.by_upload_id(request.query.get("upload_id", ""))
        if pub is None:
            raise ApiError(404, "not_found", "No upload task for this upload_id.")
        if video.upload_expired(pub.created_at):
            raise ApiError(403, "upload_url_expired", "The upload URL has expired (one hour after init).")
        chunk = video.check_chunk_headers(request)
        index = len(pub.chunks)
        last_acked = pub.chunks[-1] if pub.chunks else None
        if last_acked is not None and [chunk.first, chunk.last] == last_acked[:2]:
            # The answer to this chunk may have been lost: acknowledged again, received once.
            await video.read_chunk(request, chunk, 0)
            return _upload_answer(pub.awaiting_upload)
        expected = (
            video.chunk_range(pub.video_size, pub.chunk_size, pub.total_chunk_count, index)
            if index < pub.total_chunk_count else None
        )
        if chunk.total != pub.video_size or expected != (chunk.first, chunk.last):
            want = f"bytes {expected[0]}-{expected[1]}/{pub.video_size}" if expected else "no more chunks"
            raise ApiError(416, "invalid_file_upload", f"Content-Range out of order or off the plan; expected {want}.")
        stall = self._config.upload_stall_seconds if index + 1 == self._config.upload_stall_at_chunk else 0.0
        drop = index + 1 == self._config.upload_drop_at_chunk
        try:
            head = await video.read_chunk(request, chunk, stall, drop)
        except video.ChunkDropped:
            self._config.upload_drop_at_chunk = 0
            return abort_connection(request)
        if head is None:
            raise ApiError(400, "invalid_file_upload", "The chunk ended before Content-Length bytes.")
        self._publishes.received(pub, chunk.first, chunk.last, head)
        return _upload_answer(pub.awaiting_upload)

    async def _photo_facts(self, body: dict[str, Any]) -> list[ImageFacts] | None:
        """What pulling each photo of a well-formed init shows; None for any other body
        (endpoints.init refuses it)."""
        source = body.get("source_info")
        images = source.get("photo_images") if isinstance(source, dict) else None
        if not isinstance(images, list) or not 0 < len(images) <= 35 or not all(isinstance(u, str) for u in images):
            return None
        return list(await asyncio.gather(*(self._probe.facts(url) for url in images)))

    async def _status(self, request: web.Request) -> web.Response:
        creator = self._begin(request, "status", self._config.status_limit_per_minute)
        return envelope(endpoints.status(self._publishes, creator, await _json_body(request)))

    async def _token(self, request: web.Request) -> web.Response:
        self._calls.record("token")
        scripted = self._scripted.take("token")
        if scripted is not None:
            raise scripted.oauth_error()
        self._faults.inject(request, "token")
        if request.content_type != _FORM_TYPE:
            raise OAuthError("invalid_request", f"Content-Type must be {_FORM_TYPE}.")
        tokens = endpoints.token(self._accounts, self._login, await request.post())
        return _json(tokens, 200, new_log_id())

    async def _authorize(self, request: web.Request) -> web.Response:
        self._calls.record("authorize")
        return self._login.authorize(request.query)

    async def _user_info(self, request: web.Request) -> web.Response:
        creator = self._begin(request, "user_info", self._config.user_info_limit_per_minute)
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        try:
            return envelope(self._login.user_info(token, creator, request.query.get("fields", "")))
        except ValueError as exc:
            raise invalid(str(exc)) from None

    def _begin(self, request: web.Request, endpoint: str, limit: int) -> Creator:
        """Counts the call, applies fail_next, authenticates, injects faults, rate-limits."""
        self._calls.record(endpoint)
        scripted = self._scripted.take(endpoint)
        if scripted is not None:
            raise scripted.api_error()
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "access_token_invalid", TOKEN_INVALID)
        creator = self._accounts.authenticate(token)
        # After the token check and before the limiter: a before-serving fault uses no budget.
        self._faults.inject(request, endpoint)
        # Counted at arrival, the moment TikTok's servers see the call.
        arrived = time.monotonic()
        if not self._limiter.admit(f"{endpoint}:{token}", limit, arrived, self._config.rate_window, endpoint):
            raise ApiError(
                429, "rate_limit_exceeded", f"The API rate limit ({limit}/minute) was exceeded."
            )
        return creator


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers errors in TikTok's shapes, never a bare aiohttp page (control routes answer
    their own bad requests; a sandbox bug there answers internal_error too)."""
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
    except Exception as exc:  # a sandbox bug: answer like TikTok, never a bare 500 page
        return envelope({}, "internal_error", f"sandbox error: {exc!r}", 500)


def fault_response(fault: Fault) -> web.Response:
    """TikTok's answer to an injected fault; the token endpoint answers in its OAuth shape."""
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


def envelope(
    data: dict[str, Any], code: str = "ok", message: str = "", status: int = 200
) -> web.Response:
    """The v2 response: ``{"data": {...}, "error": {"code", "message", "log_id"}}``."""
    log_id = new_log_id()
    body = {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}
    return _json(body, status, log_id)


def oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    log_id = new_log_id()
    body = {"error": error, "error_description": description, "log_id": log_id}
    return _json(body, status, log_id)


def new_log_id() -> str:
    """A TikTok-style log id: UTC YYYYMMDDHHMMSS plus 20 upper-case hex digits (34 chars)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()


def _upload_answer(more: bool) -> web.Response:
    """206 while chunks remain, 201 once the upload is complete (TikTok answers with no body)."""
    return web.Response(status=206 if more else 201, headers={"X-Tt-Logid": new_log_id()})


def _json(payload: dict[str, Any], status: int, log_id: str) -> web.Response:
    return web.json_response(payload, status=status, headers={"X-Tt-Logid": log_id})


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise invalid("Content-Type must be application/json; charset=UTF-8")
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise invalid("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    return body
