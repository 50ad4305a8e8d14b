"""Server interceptor: domain errors to rich statuses, and one JSON log line per RPC."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

import grpc

from server.api.errors import internal_status, to_grpc_status
from server.domain.errors import DomainError

log = logging.getLogger("distribution.rpc")

_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def _publish_id(response: Any) -> str:
    for name in ("instagram_publish_id", "tiktok_publish_id"):
        value = getattr(response, name, "")
        if value:
            return value
    return ""


class RpcInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = details.method
        behavior = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            fields: dict[str, Any] = {}
            try:
                response = await behavior(request, context)
                fields["publish_id"] = _publish_id(response)
                return response
            except DomainError as err:
                code = err.code
                fields.update(reason=err.reason, publish_id=err.metadata.get("publish_id", ""))
                await context.abort_with_status(to_grpc_status(err))
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except grpc.aio.AbortError:
                code = context.code().name if context.code() else "UNKNOWN"
                raise
            except Exception:
                code = "INTERNAL"
                log.exception("unhandled error", extra={"method": method})
                await context.abort_with_status(internal_status())
            finally:
                level = logging.DEBUG if method.startswith(_QUIET_PREFIXES) else logging.INFO
                log.log(
                    level,
                    "rpc",
                    extra={
                        "method": method,
                        "code": code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        **{k: v for k, v in fields.items() if v},
                    },
                )

        return grpc.unary_unary_rpc_method_handler(
            unary_unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
