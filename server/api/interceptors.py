"""The one server interceptor every RPC passes through, in this order:

1. authenticate the caller and set its workspace for the call (UNAUTHENTICATED otherwise);
2. admit it under the caller's concurrency limit (RESOURCE_EXHAUSTED with RetryInfo otherwise);
3. turn domain errors into rich statuses, and a bug into a bare INTERNAL;
4. write one JSON log line: method, code, duration, workspace, publish id. Never a key or token.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import time
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc

from server.api.auth import KeyRing, authenticate
from server.api.caller import current_workspace
from server.logs import request_id
from server.metrics import Metrics
from server.api.errors import internal_status, to_grpc_status
from server.domain.errors import DomainError, ResourceExhausted

log = logging.getLogger("distribution.rpc")

_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def _publish_id(response: Any) -> str:
    for name in ("instagram_publish_id", "tiktok_publish_id"):
        if value := getattr(response, name, ""):
            return value
    publish = getattr(response, "publish", None)
    return getattr(publish, "id", "") if publish is not None else ""


class CallerLimits:
    """At most `limit` RPCs in flight per workspace, so one caller cannot starve the others."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: collections.Counter[str] = collections.Counter()

    def acquire(self, workspace: str) -> None:
        if self._in_flight[workspace] >= self.limit:
            raise ResourceExhausted(
                reason="CALLER_CONCURRENCY_LIMIT",
                message=f"Too many concurrent calls from this caller (limit {self.limit}); retry shortly",
                metadata={"limit": str(self.limit)},
                retry_after=1.0,
            )
        self._in_flight[workspace] += 1

    def release(self, workspace: str) -> None:
        self._in_flight[workspace] -= 1
        if self._in_flight[workspace] <= 0:
            del self._in_flight[workspace]


class RpcInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, key_ring: KeyRing, limits: CallerLimits, metrics: Metrics | None = None) -> None:
        self._ring = key_ring
        self._limits = limits
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # Other shapes (e.g. Health/Watch, which writes with context.write) are left as they are.
        return handler

    def _unary(self, method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(method, self._metrics, context)
            try:
                workspace = self._admit(call, context)
                try:
                    response = await behavior(request, context)
                finally:
                    self._limits.release(workspace)
                call.fields["publish_id"] = _publish_id(response)
                return response
            except BaseException as exc:  # noqa: BLE001 - every outcome is logged, then re-raised or mapped
                await call.fail(exc, context)
            finally:
                call.log()

        return unary_unary

    def _stream(
        self, method: str, behavior: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncIterator[Any]]:
        async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(method, self._metrics, context)
            try:
                workspace = self._admit(call, context)
                try:
                    async for response in behavior(request, context):
                        yield response
                finally:
                    self._limits.release(workspace)
            except BaseException as exc:  # noqa: BLE001
                await call.fail(exc, context)
            finally:
                call.log()

        return unary_stream

    def _admit(self, call: _Call, context: grpc.aio.ServicerContext) -> str:
        workspace = authenticate(self._ring, call.method, context)
        call.fields["workspace"] = workspace
        current_workspace.set(workspace)
        self._limits.acquire(workspace)
        return workspace


class _Call:
    """One RPC's outcome, for its log line and metrics. Also sets the call's request id
    (from `x-request-id` metadata, or a new one), which every log line of the call carries,
    including those of the publish it starts."""

    def __init__(self, method: str, metrics: Metrics | None, context: grpc.aio.ServicerContext) -> None:
        self.method = method
        self.metrics = metrics
        self.started = time.perf_counter()
        self.code = "OK"
        self.fields: dict[str, Any] = {}
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
        if isinstance(exc, Exception):
            self.code = "INTERNAL"
            log.exception("unhandled error", extra={"method": self.method}, exc_info=exc)
            await context.abort_with_status(internal_status())
        raise exc

    def log(self) -> None:
        elapsed = time.perf_counter() - self.started
        if self.metrics is not None:
            self.metrics.rpcs.labels(self.method, self.code).inc()
            self.metrics.rpc_latency.labels(self.method).observe(elapsed)
        level = logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO
        log.log(
            level,
            "rpc",
            extra={
                "method": self.method,
                "code": self.code,
                "duration_ms": round(elapsed * 1000, 2),
                **{k: v for k, v in self.fields.items() if v},
            },
        )


def _request_id(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
            return value
    return uuid.uuid4().hex
