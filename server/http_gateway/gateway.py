"""The HTTP/JSON gateway: the gRPC API over HTTP/1.1, transcoded by the contract's own
`google.api.http` annotations (AIP-127), in the service's process.

Each request is matched against the routes read from the descriptors at start, turned into
the request message (path variables, query parameters, the JSON body, `Idempotency-Key`
as `request_id`), and handed to the gRPC method in process, through the same interceptors
(server/grpc_api/inprocess.py): the same API keys and workspaces, limits, validation,
request ids and access log. Errors are google.rpc.Status in AIP-193's JSON form.
Server-streaming methods answer newline-delimited JSON, or server-sent events when the
caller accepts `text/event-stream`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import http_exceptions, web
from google.rpc import code_pb2, status_pb2

from server.grpc_api.inprocess import Caller, CallFailed, InProcessCalls
from server.grpc_api.status import with_request_info
from server.http_gateway import errors
from server.http_gateway.browsers import BrowserGuard
from server.http_gateway.console import Console
from server.http_gateway.errors import shown
from server.http_gateway.routes import Route, routes_for, service_descriptors
from server.http_gateway.transcode import BadRequest, parse_body, query_fields, to_json, to_message
from server.http_server import ROUTE_KEY
from server.logs import request_id as logged_request_id

log = logging.getLogger("distribution.http")

OPENAPI_PATH = "/api/v1/openapi.json"
# As the gRPC port (server/grpc_api/server.py): requests are ids and short texts.
MAX_REQUEST_BYTES = 1 * 1024 * 1024
# aiohttp's own limits, told apart by their numbers when its parser refuses a request: a
# request line (method, path and query) over MAX_REQUEST_LINE_BYTES is 414, a header line
# over MAX_HEADER_FIELD_BYTES or more than MAX_HEADERS headers is 431.
MAX_REQUEST_LINE_BYTES = 8190
MAX_HEADER_FIELD_BYTES = 16380
MAX_HEADERS = 128
REQUEST_ID_HEADER = "X-Request-Id"
# Headers that mean one thing each: sent twice, which one counts is anyone's guess (RFC 9110
# section 5.3), so such a request is refused rather than read one way or the other.
_SINGLE_HEADERS = ("Authorization", "Idempotency-Key", REQUEST_ID_HEADER, "X-Server-Timeout")
# X-Server-Timeout (Google APIs' system parameter): the seconds the caller waits, its deadline.
_MAX_SERVER_TIMEOUT = 86_400.0
_JSON = "application/json"
_NDJSON = "application/x-ndjson"
_SSE = "text/event-stream"


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class _MethodAnswer(web.Response):
    """An error answered by a method (already on the access log), not by the gateway."""


def error_response(
    rich: status_pb2.Status, request_id: str, answer: type[web.Response] = web.Response, *,
    status: int | None = None, headers: dict[str, str] | None = None,
) -> web.Response:
    """The AIP-193 JSON answer for `rich`, sent with `status` (default: the code's standard
    HTTP status); the body's `code` is always the status it is sent with. Its details name
    the request (RequestInfo: the request id, and the trace id while tracing)."""
    rich = with_request_info(rich, request_id)
    response = answer(
        text=_dumps(errors.error_body(rich, status)), status=status or errors.http_status(rich.code),
        content_type=_JSON, headers={REQUEST_ID_HEADER: request_id, **(headers or {})},
    )
    retry_after = errors.retry_after_seconds(rich)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _refusal(status: int, code: int, message: str, reason: str, request_id: str, **headers: str) -> web.Response:
    return error_response(errors.status(code, message, reason), request_id, status=status, headers=headers)


def _request_id(request: web.BaseRequest) -> str:
    """The caller's X-Request-Id when it is a sensible one (as the gRPC access log takes
    x-request-id metadata), else a new one; sent back and on every log line of the call."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if 0 < len(given) <= 128 and given.isascii() and given.isprintable() else uuid.uuid4().hex


def _common_names(request: web.BaseRequest) -> tuple[str, ...]:
    """The client certificate's common names (mutual TLS), as grpc's auth context gives them."""
    transport = request.transport
    certificate = transport.get_extra_info("peercert") if transport is not None else None
    if not certificate:
        return ()
    return tuple(
        value for rdn in certificate.get("subject", ()) for key, value in rdn if key == "commonName"
    )


# What wraps each request's handling (tracing's server span), in aiohttp middleware's shape.
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.BaseRequest, Handler], Awaitable[web.StreamResponse]]


class Gateway:
    """The HTTP server (aiohttp's low-level one: the gateway routes by the contract itself)
    serving every annotated method of the registered services, and with a Console, its
    static files under /console/. A BrowserGuard, when given, checks Host and Origin before
    anything else. Every refusal, those of the console and of aiohttp's HTTP parser included,
    is JSON google.rpc.Status."""

    def __init__(
        self, calls: InProcessCalls, openapi: bytes | None = None, console: Console | None = None,
        browsers: BrowserGuard | None = None, middleware: Middleware | None = None,
    ) -> None:
        self._calls = calls
        self._middleware = middleware
        self._openapi = openapi
        self.console = console
        self._browsers = browsers
        self.routes: list[Route] = routes_for(service_descriptors(calls.methods))

    def server(self) -> web.Server:
        """The aiohttp server to run (made on the event loop that will serve it). A handler
        whose caller went away is cancelled, as gRPC cancels such a call: a closed tab does
        not hold a watch stream open until its next event."""
        loop = asyncio.get_running_loop()

        def make_request(
            message: Any, payload: Any, protocol: Any, writer: Any, task: asyncio.Task[None]
        ) -> web.BaseRequest:
            return web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=MAX_REQUEST_BYTES
            )

        return _Server(
            self._handle, request_factory=make_request, handler_cancellation=True,
            max_line_size=MAX_REQUEST_LINE_BYTES, max_field_size=MAX_HEADER_FIELD_BYTES, max_headers=MAX_HEADERS,
            access_log=None,  # each call has its own `rpc` line, each refusal an `http request refused` line
        )

    def _find(self, verb: str, path: str) -> tuple[Route, dict[str, str]] | tuple[None, list[str]]:
        allowed: list[str] = []
        for route in self.routes:
            bound = route.match(path)
            if bound is None:
                continue
            if route.verb == verb:
                return route, bound
            allowed.append(route.verb)
        return None, allowed

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if self._middleware is not None:
            return await self._middleware(request, self._handle_request)
        return await self._handle_request(request)

    async def _handle_request(self, request: web.BaseRequest) -> web.StreamResponse:
        request_id = _request_id(request)
        # Every log line of this request carries it (aiohttp runs each request in a task of its
        # own); a call that reaches a method logs its `rpc` line with it too (AccessLog).
        logged_request_id.set(request_id)
        response = await self._answer(request, request_id)
        if response.status >= 400 and not isinstance(response, _MethodAnswer):
            log.info(
                "http request refused",
                extra={"verb": shown(request.method), "path": shown(request.path), "status": response.status},
            )
        return response

    async def _answer(self, request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        try:
            if self._browsers is not None:  # every path: the console's files as the API
                self._browsers.check(request)
            if self.console is not None and self.console.serves(request.path):
                return self.console.answer(request)
            if request.path == OPENAPI_PATH and request.method in ("GET", "HEAD") and self._openapi is not None:
                return web.Response(body=self._openapi, content_type=_JSON)
            route, found = self._find(request.method, request.path)
            if route is None:
                assert isinstance(found, list)
                return self._no_route(request, found, request_id)
            assert isinstance(found, dict)
            # For whatever wraps the request (tracing names its span by the route, not the path).
            request[ROUTE_KEY] = route.template
            for name in _SINGLE_HEADERS:
                if len(request.headers.getall(name, ())) > 1:
                    raise BadRequest(f"The {name} header must be sent once; this request sends it more than once",
                                     field=name)
            caller = Caller(
                metadata=self._metadata(request, request_id),
                common_names=_common_names(request),
                peer=str(request.remote or ""),
                deadline=_deadline(request),
            )
            if await self._calls.authenticated(route.method, caller):
                message = await self._request_message(request, route, found)
            else:
                # Refused before its query or body is read (a caller without a key learns no
                # field name): the call is made without them, so the refusal takes the one
                # path every refused call takes (access log, metrics) and answers 401.
                message = route.request_class()
            if route.server_streaming:
                return await self._stream(request, route, message, caller, request_id)
            response = await self._calls.unary(route.method, message, caller)
            return web.json_response(to_json(response), dumps=_dumps, headers={REQUEST_ID_HEADER: request_id})
        except CallFailed as failed:  # the method's own error, logged by AccessLog
            return error_response(failed.status, request_id, answer=_MethodAnswer)
        except errors.Refused as refused:
            return error_response(refused.rich(), request_id, status=refused.status, headers=refused.headers)
        except BadRequest as bad:
            return error_response(
                errors.status(code_pb2.INVALID_ARGUMENT, bad.message, "MALFORMED_REQUEST", bad.field), request_id
            )
        except web.HTTPRequestEntityTooLarge:
            response = _refusal(
                413, code_pb2.INVALID_ARGUMENT, f"The request body is larger than {MAX_REQUEST_BYTES} bytes",
                "REQUEST_TOO_LARGE", request_id, Connection="close",  # the rest of the body is not read
            )
            return response
        except Exception:  # a bug: the caller gets a bare INTERNAL, the log the details
            log.exception("unhandled error in the HTTP gateway", extra={"path": shown(request.path)})
            return error_response(
                errors.status(code_pb2.INTERNAL, "Internal error; the service log has the details", "INTERNAL_ERROR"),
                request_id,
            )

    def _no_route(self, request: web.BaseRequest, allowed: list[str], request_id: str) -> web.Response:
        target = f"{shown(request.method, 20)} {shown(request.path)}"
        if allowed:
            verbs = ", ".join(sorted(set(allowed)))
            # 405 has no google.rpc code: UNIMPLEMENTED (as grpc-gateway answers it), sent as 405.
            return _refusal(
                405, code_pb2.UNIMPLEMENTED, f"{shown(request.path)} takes {verbs}, not {shown(request.method, 20)}",
                "METHOD_NOT_ALLOWED", request_id, Allow=verbs,
            )
        return _refusal(
            404, code_pb2.NOT_FOUND, f"No API method at {target}; the routes are listed at {OPENAPI_PATH}",
            "ROUTE_NOT_FOUND", request_id,
        )

    @staticmethod
    def _metadata(request: web.BaseRequest, request_id: str) -> tuple[tuple[str, str], ...]:
        return (
            ("x-request-id", request_id),
            *(("authorization", value) for value in request.headers.getall("Authorization", ())),
        )

    async def _request_message(self, request: web.BaseRequest, route: Route, bound: dict[str, str]) -> Any:
        data = query_fields(request.query.items(), route.request)
        if route.body:
            body = await request.read()
            if body.strip():
                content_type = request.content_type
                if content_type != _JSON and not content_type.endswith("+json"):
                    raise BadRequest(
                        f"The request body must be JSON with Content-Type: {_JSON}, not {content_type or 'none'}"
                    )
                parsed = parse_body(body)
                if route.body == "*":
                    data.update(parsed)
                else:
                    data[route.body] = parsed
        elif request.can_read_body and (await request.read()).strip():
            raise BadRequest(
                f"{route.verb} {route.template} takes no request body; send its fields as query parameters"
            )
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            if "request_id" not in route.request.fields_by_name:
                raise BadRequest(f"{route.verb} {route.template} takes no Idempotency-Key", field="Idempotency-Key")
            bound = {**bound, "request_id": key}
        return to_message(data, route.request_class(), bound)

    async def _stream(
        self, request: web.BaseRequest, route: Route, message: Any, caller: Caller, request_id: str
    ) -> web.StreamResponse:
        """A server-streaming method as newline-delimited JSON or server-sent events.

        The response headers (200) go out when the method starts its stream, as a gRPC
        server's headers do: when it sends its initial metadata (WatchPublishes does so as soon
        as its start position is taken, before any event exists) or else with its first
        message. An error before that is an ordinary error response; one after it is the
        stream's last item (an `error` object, or an SSE `error` event)."""
        sse = _SSE in request.headers.get("Accept", "")
        stream = web.StreamResponse(headers={REQUEST_ID_HEADER: request_id, "Cache-Control": "no-cache"})
        stream.content_type = _SSE if sse else _NDJSON

        async def start(_metadata: Any = ()) -> None:
            if stream.prepared:
                return
            # Called from within the method (its initial metadata): a caller already gone is
            # not the method's error; the stream ends at its next write, or by cancellation.
            with contextlib.suppress(ConnectionError):
                await stream.prepare(request)

        responses = self._calls.stream(route.method, message, caller, started=start)
        try:
            try:
                async for item in responses:
                    await start()
                    await stream.write(_frame(to_json(item), sse))
            except CallFailed as failed:
                if not stream.prepared:
                    return error_response(failed.status, request_id, answer=_MethodAnswer)
                await stream.write(_frame(errors.error_body(failed.status), sse, event="error"))
            await start()  # a stream that ended before any message: 200 with no items
            await stream.write_eof()
        except ConnectionError:  # the caller went away: the stream ends, nothing to answer
            pass
        finally:
            await _close(responses)
        return stream


async def _close(responses: AsyncIterator[Any]) -> None:
    aclose = getattr(responses, "aclose", None)
    if aclose is not None:
        await aclose()


def _frame(data: dict[str, Any], sse: bool, event: str = "") -> bytes:
    text = _dumps(data)
    if not sse:
        return (text + "\n").encode()
    return ((f"event: {event}\n" if event else "") + f"data: {text}\n\n").encode()


def tls_context(certificate: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    """The same files as the gRPC port's TLS (checked at start by server/app.py): server
    certificate and key, and with a client CA, client certificates required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def load_openapi(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def routes_table(routes: Sequence[Route]) -> list[str]:
    """`VERB template -> method` lines, for the start log."""
    return [f"{r.verb} {r.template} -> {r.method}" for r in routes]


class _Server(web.Server):
    """aiohttp's low-level server, whose connections answer its parser's refusals as JSON."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._handler_options = {
            k: v for k, v in kwargs.items() if k not in ("request_factory", "handler_cancellation", "loop")
        }

    def __call__(self) -> web.RequestHandler:
        return _Connection(self, loop=asyncio.get_running_loop(), **self._handler_options)


class _Connection(web.RequestHandler):
    """One HTTP connection. aiohttp calls handle_error for a request its parser refuses
    before any handler runs (a request line or header too long, too many headers, bytes that
    are not HTTP/1.1, an unknown method name) and for a handler that failed; its own answer
    is plain text and its log line a traceback. Here the answer is the same AIP-193 JSON as
    every other, with a status that says what was wrong, and the log line one sentence."""

    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        request_id = uuid.uuid4().hex
        status, code, text, reason = _parser_refusal(status, exc)
        log.info(
            "http request refused", extra={"status": status, "reason": reason, "request_id": request_id},
        )
        response = _refusal(status, code, text, reason, request_id)
        response.force_close()  # the rest of what was sent cannot be read as a request
        return response


def _parser_refusal(status: int, exc: BaseException | None) -> tuple[int, int, str, str]:
    """(HTTP status, google.rpc code, message, reason) for a request aiohttp refused itself.
    Never quotes what was sent: a malformed header could be someone's API key."""
    if isinstance(exc, http_exceptions.LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else None
        if limit == MAX_REQUEST_LINE_BYTES:
            return (414, code_pb2.INVALID_ARGUMENT,
                    f"The request line (method, path and query) is longer than {MAX_REQUEST_LINE_BYTES} bytes",
                    "REQUEST_LINE_TOO_LONG")
        return (431, code_pb2.INVALID_ARGUMENT,
                f"A header line is longer than {MAX_HEADER_FIELD_BYTES} bytes", "HEADERS_TOO_LARGE")
    if isinstance(exc, http_exceptions.BadHttpMessage) and "Too many headers" in str(exc):
        return 431, code_pb2.INVALID_ARGUMENT, f"The request has more than {MAX_HEADERS} headers", "HEADERS_TOO_LARGE"
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return (400, code_pb2.INVALID_ARGUMENT, "The request's method is not an HTTP method (or the request is not "
                "HTTP: TLS sent to a plaintext port?)", "MALFORMED_HTTP")
    if isinstance(exc, http_exceptions.BadHttpMessage) or status == 400:
        what = type(exc).__name__ if exc is not None else "request"
        return 400, code_pb2.INVALID_ARGUMENT, f"The request is not valid HTTP/1.1 ({what})", "MALFORMED_HTTP"
    if status == 504:
        return 504, code_pb2.DEADLINE_EXCEEDED, "The request was not answered in time", "TIMEOUT"
    log.error("HTTP request failed outside the gateway's handler", exc_info=exc)
    return 500, code_pb2.INTERNAL, "Internal error; the service log has the details", "INTERNAL_ERROR"


def _deadline(request: web.BaseRequest) -> float | None:
    """The caller's deadline from X-Server-Timeout (seconds, decimals allowed), as
    time.monotonic(); None without the header."""
    text = request.headers.get("X-Server-Timeout")
    if text is None:
        return None
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= _MAX_SERVER_TIMEOUT:
        raise BadRequest(
            f"X-Server-Timeout must be a number of seconds above 0 and at most {_MAX_SERVER_TIMEOUT:g}; "
            f"got {text[:40]!r}", field="X-Server-Timeout",
        )
    return time.monotonic() + seconds
