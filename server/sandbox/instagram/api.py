"""The Graph API over HTTP: request parsing, routing, the per-call preamble, error envelopes.

Every Graph call is counted, authenticated, then answered by a scripted error, a fault or
endpoints.py, in that order (README.md, "Scripted behaviour" and "Switchable faults").
"""

from __future__ import annotations

import functools
import json
import random
import string
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from server.sandbox.common import CallLog, ScriptedAnswers
from server.sandbox.faults import Fault, FaultInjected, FaultPlan
from server.sandbox.instagram import endpoints, errors
from server.sandbox.instagram.config import VERSION_RE
from server.sandbox.instagram.errors import GraphError, ScriptedError
from server.sandbox.instagram.params import Params, collect, str_param
from server.sandbox.instagram.state import InstagramState
from server.sandbox.media import ImageProbe

ENDPOINTS = (
    "create_container",
    "container_status",
    "batch_status",
    "media_publish",
    "media_read",
    "media_list",
    "publishing_limit",
    "token_refresh",
    "comment_create",
    "comment_list",
)

_TRACE_ALPHABET = string.ascii_letters + string.digits + "_-"
_EDGES = ("media", "media_publish", "content_publishing_limit", "comments")

# Serves the call; create_container also takes the image facts (`facts=`).
Serve = Callable[..., dict[str, Any]]


class GraphApi:
    """Answers every path the control API does not claim, the way graph.facebook.com does."""

    def __init__(
        self,
        state: InstagramState,
        calls: CallLog,
        faults: FaultPlan,
        scripted: ScriptedAnswers[ScriptedError],
        probe: ImageProbe | None = None,
    ) -> None:
        self._state = state
        self._calls = calls
        self._faults = faults
        self._scripted = scripted
        # Downloads an image the way Instagram does when a container is created.
        self._probe = probe or ImageProbe()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Adds the catch-all route: add the control routes first."""
        router.add_route("*", "/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            params = await read_params(request)
            endpoint, object_id, serve = self._route(request, params)
            self._calls.record(endpoint)
            self._authenticate(request, params)
            scripted = self._scripted.take(endpoint)
            if scripted is not None and not scripted.after_serving:
                raise scripted.error(request.method, object_id)
            if scripted is None:  # a scripted error takes the call: no fault draw for it
                self._faults.inject(request, endpoint)
            image_url = str_param(params, "image_url") if endpoint == "create_container" else ""
            if image_url:
                serve = functools.partial(serve, facts=await self._probe.facts(image_url))
            video_url = str_param(params, "video_url") if endpoint == "create_container" else ""
            if video_url:  # Instagram downloads a Reel's video to process it
                serve = functools.partial(serve, clip=await self._probe.clip_facts(video_url))
            body = serve()
            if scripted is not None:  # after serving: the call took effect, the client errs
                raise scripted.error(request.method, object_id)
            return web.json_response(body)
        except GraphError as exc:
            return error_response(exc)
        except FaultInjected:
            raise  # answered by the fault middleware
        except Exception as exc:  # a sandbox bug: answer like Graph, never a bare 500 page
            return error_response(errors.sandbox_bug(exc))

    def _route(self, request: web.Request, params: Params) -> tuple[str, str, Serve]:
        """The endpoint name, the object id in the path and the function serving the call."""
        state, method = self._state, request.method
        segments = request.path.split("/")[1:]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        if segments == ["refresh_access_token"]:
            # Instagram Login's refresh endpoint lives at the host root, outside the version path.
            if method != "GET":
                raise errors.unsupported(method, "refresh_access_token")
            return "token_refresh", "", functools.partial(endpoints.refresh_token, params)
        if not segments or not VERSION_RE.fullmatch(segments[0]) or "" in segments[1:]:
            raise errors.unknown_path(request.path)
        rest = segments[1:]
        if not rest:
            if method != "GET":
                raise errors.unsupported(method, "")
            return "batch_status", "", functools.partial(endpoints.batch_read, state, params)
        node = rest[0]
        if len(rest) == 1:
            if method != "GET":
                raise errors.unsupported(method, node)
            serve = functools.partial(endpoints.read_node, state, node, params)
            return self._node_endpoint(node, params), node, serve
        if len(rest) == 2:
            return self._edge(request, rest[1], node, params)
        raise errors.unknown_path("/" + "/".join(rest[1:]))

    def _edge(
        self, request: web.Request, edge: str, node: str, params: Params
    ) -> tuple[str, str, Serve]:
        """Routes /{node}/{edge}: the IG user's media, media_publish and publishing limit."""
        state, method = self._state, request.method
        if edge == "media" and method == "POST":
            serve = functools.partial(endpoints.create_container, state, node, params)
            return "create_container", node, serve
        if edge == "media" and method == "GET":

            def next_url(after: str) -> str:
                return str(request.url.update_query(after=after))

            serve = functools.partial(endpoints.media_list, state, node, params, next_url)
            return "media_list", node, serve
        if edge == "media_publish" and method == "POST":
            serve = functools.partial(endpoints.media_publish, state, node, params)
            return "media_publish", node, serve
        if edge == "content_publishing_limit" and method == "GET":
            serve = functools.partial(endpoints.publishing_limit, state, node, params)
            return "publishing_limit", node, serve
        if edge == "comments" and method == "POST":
            return "comment_create", node, functools.partial(endpoints.create_comment, state, node, params)
        if edge == "comments" and method == "GET":
            return "comment_list", node, functools.partial(endpoints.list_comments, state, node, params)
        if edge in _EDGES:
            raise errors.unsupported(method, node)
        raise errors.unknown_path("/" + edge)

    def _node_endpoint(self, node: str, params: Params) -> str:
        """media_read for media, container_status for containers (or unknown ids asking status)."""
        if node in self._state.media:
            return "media_read"
        if node in self._state.containers:
            return "container_status"
        raw = params.get("fields")
        asked = set(raw.split(",")) if isinstance(raw, str) else set()
        if not asked or asked & {"status", "status_code"}:
            return "container_status"
        return "media_read"

    def _authenticate(self, request: web.Request, params: Params) -> None:
        token = _header_token(request) or str_param(params, "access_token")
        if not token:
            raise GraphError(
                190,
                "An active access token must be used to query information about the current user.",
            )
        revoked_at = self._state.revoked_at(token)
        if revoked_at is not None:
            raise GraphError(
                190,
                f"Error validating access token: Session has expired on {_http_time(revoked_at)}. "
                f"The current time is {_http_time(time.time())}.",
                subcode=463,
            )


async def read_params(request: web.Request) -> Params:
    """Query string, then form or JSON body (the body wins)."""
    params = collect(request.query.items())
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise errors.param_error("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise errors.param_error("The JSON request body must be an object.")
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update(collect((k, v) for k, v in form.items() if isinstance(v, str)))
    return params


def error_response(exc: GraphError) -> web.Response:
    trace = "".join(random.choices(_TRACE_ALPHABET, k=11))
    return web.json_response(
        exc.payload(trace), status=exc.status, headers={"x-fb-trace-id": trace}
    )


def fault_response(fault: Fault) -> web.Response:
    """The Graph answer to an injected fault (README.md, "Switchable faults")."""
    if fault.kind == "429":
        # Graph sends its rate limits as HTTP 400 unless the rule says otherwise.
        response = error_response(errors.request_limit_reached(fault.status or 400))
        usage = {"call_count": 100, "total_cputime": 100, "total_time": 100}
        response.headers["X-App-Usage"] = json.dumps(usage, separators=(",", ":"))
        return response
    status = fault.status or 500
    if status == 500:
        return error_response(errors.unknown_error())
    return error_response(errors.unavailable(status))


def _header_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def _http_time(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
