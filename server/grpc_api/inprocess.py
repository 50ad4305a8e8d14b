"""The gRPC methods called in process, through the same interceptor chain as a call that
came over the socket: what the HTTP gateway (server/http_gateway/) serves.

Why not a loopback gRPC channel to our own port: it would cost a second serialisation, an
HTTP/2 round trip and a TLS handshake per call (with mutual TLS the gateway would also
need a client certificate of its own, and could not pass on the HTTP caller's). Why not the
use cases directly: authentication, per-caller limits, the request id, the access log, the
metrics and the mapping of domain errors to google.rpc.Status all live in the interceptors;
calling the servicers without them would be a second API. Here the registered method
handlers are resolved through the very interceptor objects the server uses (so per-caller
limits are shared between both transports) and called with a small ServicerContext that
carries the HTTP caller's metadata and client certificate. Measured in bench/cases/http.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from google.rpc import status_pb2

from server.grpc_api.interceptors.wrapping import is_async_generator

_DETAILS_KEY = "grpc-status-details-bin"

Metadata = tuple[tuple[str, str | bytes], ...]
# Told when a method sends its initial metadata (a stream's "started", as gRPC's response
# headers say it): an HTTP caller can send its response headers then.
InitialMetadataSent = Callable[[Metadata], Awaitable[None]]


class Authenticator(Protocol):
    def admits(self, method: str, context: Any) -> bool:
        """Whether the call's credentials are accepted for `method`."""
        ...


class CallFailed(Exception):
    """An in-process call ended with an error: the google.rpc.Status a gRPC caller would read."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """Who calls, as gRPC would see it: metadata (lower-case keys, e.g. authorization,
    x-request-id) and, with mutual TLS, the client certificate's common names."""

    metadata: tuple[tuple[str, str], ...] = ()
    common_names: tuple[str, ...] = ()
    peer: str = ""
    # When the caller stops waiting (time.monotonic()), as a gRPC deadline; None: never.
    deadline: float | None = None


class HandlerRegistry:
    """Stands in front of a grpc.aio.Server while the generated `add_*Servicer_to_server`
    functions register: passes everything on and keeps each method's handler."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]) -> None:
        for name, handler in handlers.items():
            self.handlers[f"/{service}/{name}"] = handler
        self._server.add_registered_method_handlers(service, handlers)


class _Aborted(grpc.aio.AbortError):
    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata: tuple[tuple[str, str], ...] = ()


@dataclass
class _Context:
    """The part of grpc.aio.ServicerContext the interceptors and servicers use."""

    caller: Caller
    on_initial_metadata: InitialMetadataSent | None = None
    # What the access log's metrics label the call with: it came through the HTTP gateway.
    transport: str = "http"
    _code: grpc.StatusCode | None = None
    _trailing: Metadata = field(default=())
    _initial_sent: bool = False

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.caller.metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        if not self.caller.common_names:
            return {}
        return {"x509_common_name": [name.encode() for name in self.caller.common_names]}

    def peer(self) -> str:
        return self.caller.peer

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_trailing_metadata(self, metadata: Metadata) -> None:
        self._trailing = metadata

    async def send_initial_metadata(self, metadata: Metadata) -> None:
        """As on a gRPC server, once per call: here the caller's hook is told (the HTTP
        gateway sends its response headers). A second call is an error, as grpc's is."""
        if self._initial_sent:
            raise RuntimeError("initial metadata was already sent")
        self._initial_sent = True
        if self.on_initial_metadata is not None:
            await self.on_initial_metadata(tuple(metadata))

    def time_remaining(self) -> float | None:
        """Seconds to the caller's deadline (an HTTP caller's X-Server-Timeout), or None. As
        on gRPC, it bounds how long a call waits, never the publish it started."""
        if self.caller.deadline is None:
            return None
        return max(self.caller.deadline - time.monotonic(), 0.0)

    async def abort_with_status(self, status: grpc.Status) -> None:
        self._code = status.code
        raise _Aborted(_rich_status(status))

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        self._code = code
        raise _Aborted(status_pb2.Status(code=code.value[0], message=details))


def _rich_status(status: grpc.Status) -> status_pb2.Status:
    for key, value in status.trailing_metadata or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return status_pb2.Status(code=status.code.value[0], message=status.details or "")


class InProcessCalls:
    """Calls registered methods by full name (`/distribution.v1.PublishingService/GetPublish`)."""

    def __init__(
        self, interceptors: Iterable[Any], handlers: Mapping[str, grpc.RpcMethodHandler],
        authentication: Authenticator | None = None,
    ) -> None:
        self._interceptors = tuple(interceptors)
        self._handlers = dict(handlers)
        self._chained: dict[str, grpc.RpcMethodHandler] = {}
        self._authentication = authentication

    async def authenticated(self, method: str, caller: Caller) -> bool:
        """Whether the caller's credentials admit it to `method`, by the same check the
        chain's authentication makes: a transport reads nothing more of a request (its
        body) before this says yes. A no is answered by calling the method, whose chain
        refuses it the one way every refusal goes (status, access log, metrics)."""
        return self._authentication is None or self._authentication.admits(method, _Context(caller))

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self._handlers)

    async def _handler(self, method: str) -> grpc.RpcMethodHandler:
        chained = self._chained.get(method)
        if chained is None:
            chained = await self._resolve(method)
            self._chained[method] = chained
        return chained

    async def _resolve(self, method: str) -> grpc.RpcMethodHandler:
        """As grpc.aio's server does per call: each interceptor in order, the last one's
        continuation the registered handler. Our interceptors wrap once per method and
        read no metadata here, so the result is kept."""
        if method not in self._handlers:
            raise KeyError(method)
        details = _Details(method)

        async def run(index: int, call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
            if index == len(self._interceptors):
                return self._handlers[method]
            continuation: Callable[[grpc.HandlerCallDetails], Any] = lambda d: run(index + 1, d)  # noqa: E731
            return await self._interceptors[index].intercept_service(continuation, call_details)

        return await run(0, details)

    async def unary(self, method: str, request: Any, caller: Caller) -> Any:
        """The response message, or CallFailed with the status a gRPC caller would get."""
        handler = await self._handler(method)
        if handler.unary_unary is None:
            raise TypeError(f"{method} is not unary")
        try:
            return await handler.unary_unary(request, _Context(caller))
        except _Aborted as aborted:
            raise CallFailed(aborted.status) from None

    async def stream(
        self, method: str, request: Any, caller: Caller, started: InitialMetadataSent | None = None
    ) -> AsyncIterator[Any]:
        """The responses of a server-streaming method; CallFailed where the stream fails.
        `started` is awaited when the method sends its initial metadata (before its first
        response, when it says "started" on its own, as WatchPublishes does)."""
        handler = await self._handler(method)
        if handler.unary_stream is None or not is_async_generator(handler.unary_stream):
            raise TypeError(f"{method} is not a server-streaming method yielding its responses")
        try:
            async for response in handler.unary_stream(request, _Context(caller, started)):
                yield response
        except _Aborted as aborted:
            raise CallFailed(aborted.status) from None
