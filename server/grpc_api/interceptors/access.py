"""The outermost interceptor: every call's request id, its one JSON log line and metrics,
and its errors as rich statuses.

Domain errors (from the servicers or the interceptors inside this one) become
google.rpc.Status with ErrorInfo and friends (AIP-193); anything else is a bug and becomes
a bare INTERNAL whose details stay in the log. The log line names the method, code,
duration, workspace and publish id; never a key or a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from server.domain.errors import DomainError
from server.grpc_api.caller import current_workspace
from server.grpc_api.interceptors.wrapping import Stream, Unary, WrappingInterceptor
from server.grpc_api.status import internal_status, to_grpc_status, unimplemented_status
from server.logs import request_id

log = logging.getLogger("distribution.rpc")

_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

# Told of every finished call: (method, status code name, seconds, transport: "grpc" for a
# call over the gRPC port, "http" for one through the HTTP gateway).
RpcObserver = Callable[[str, str, float, str], None]


def _publish_id(response: Any) -> str:
    for name in ("instagram_publish_id", "tiktok_publish_id"):
        if value := getattr(response, name, ""):
            return str(value)
    publish = getattr(response, "publish", None)
    return str(getattr(publish, "id", "")) if publish is not None else ""


class AccessLog(WrappingInterceptor):
    def __init__(self, observe: RpcObserver | None = None) -> None:
        super().__init__()
        self._observe = observe

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def logged(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(method, self._observe, context)
            try:
                response = await behavior(request, context)
                call.fields["publish_id"] = _publish_id(response)
                return response
            except BaseException as exc:  # every outcome is logged, then re-raised or mapped
                await call.fail(exc, context)
            finally:
                call.finish()

        return logged

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def logged(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(method, self._observe, context)
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as exc:
                await call.fail(exc, context)
            finally:
                call.finish()

        return logged


class _Call:
    """One RPC's outcome, for its log line and metrics. Also sets the call's request id
    (from `x-request-id` metadata, or a new one), which every log line of the call carries,
    including those of the publish it starts."""

    def __init__(self, method: str, observe: RpcObserver | None, context: grpc.aio.ServicerContext) -> None:
        self.method = method
        self.observe = observe
        self.started = time.perf_counter()
        self.code = "OK"
        self.fields: dict[str, Any] = {}
        # The HTTP gateway's in-process context says "http" (server/grpc_api/inprocess.py).
        self.transport: str = getattr(context, "transport", "grpc")
        request_id.set(_request_id(context))

    async def fail(self, exc: BaseException, context: grpc.aio.ServicerContext) -> None:
        if isinstance(exc, DomainError):
            self.code = exc.code
            self.fields.update(reason=exc.reason, publish_id=exc.metadata.get("publish_id", ""))
            if exc.code == "UNAUTHENTICATED":
                log.warning("refused unauthenticated call", extra={"method": self.method, "reason": exc.reason})
            await context.abort_with_status(to_grpc_status(exc))
        if isinstance(exc, asyncio.CancelledError):
            self.code = "CANCELLED"
            raise exc
        if isinstance(exc, grpc.aio.AbortError):
            code = context.code()
            self.code = getattr(code, "name", str(code))
            raise exc
        if isinstance(exc, NotImplementedError) and context.code() == grpc.StatusCode.UNIMPLEMENTED:
            # A generated servicer base's method (e.g. Health/List): in the contract, not served.
            self.code = "UNIMPLEMENTED"
            await context.abort_with_status(unimplemented_status(self.method))
        if isinstance(exc, Exception):
            self.code = "INTERNAL"
            log.exception("unhandled error", extra={"method": self.method}, exc_info=exc)
            await context.abort_with_status(internal_status())
        raise exc

    def finish(self) -> None:
        elapsed = time.perf_counter() - self.started
        if self.observe is not None:
            self.observe(self.method, self.code, elapsed, self.transport)
        level = logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO
        if not log.isEnabledFor(level):
            return
        workspace = current_workspace.get()
        log.log(
            level,
            "rpc",
            extra={
                "method": self.method,
                "code": self.code,
                "duration_ms": round(elapsed * 1000, 2),
                **{k: v for k, v in {"workspace": workspace, **self.fields}.items() if v},
            },
        )


def _request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
            return value
    return uuid.uuid4().hex
