"""The shape every interceptor here shares: wrap each method's unary or server-streaming
behaviour once, and reuse the wrapped handler for every later call of that method."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

Unary = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Stream = Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        # Handlers are looked up per call but are the same object for a method: wrap once.
        self._wrapped: dict[int, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        kept = self._wrapped.get(id(handler))
        if kept is not None and kept[0] is handler:
            return kept[1]
        wrapped = self._wrap(details.method, handler)
        self._wrapped[id(handler)] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and is_async_generator(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        # Other shapes (e.g. Health/Watch, which writes with context.write) are left as they are.
        return handler

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        raise NotImplementedError

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        raise NotImplementedError


def is_async_generator(behavior: object) -> bool:
    """A server-streaming behaviour that yields its responses (rather than writing them with
    context.write, as Health/Watch does)."""
    return inspect.isasyncgenfunction(behavior)
