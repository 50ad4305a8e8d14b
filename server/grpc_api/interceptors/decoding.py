"""Requests whose bytes are not a valid message of the method's request type.

grpc calls the method's request deserializer before any interceptor or servicer code
runs; a DecodeError raised there would reach the caller as UNKNOWN naming a Python class.
This interceptor gives every method with a single request message (unary and server-
streaming) a deserializer that never raises, and answers what it could not decode with
INVALID_ARGUMENT under the service's error contract (ErrorInfo reason MALFORMED_REQUEST).
It is the innermost interceptor: authentication and per-caller limits apply first.

A request that decodes is held to the one rule every text obeys (server.domain.validation.
text_violations: no NUL, no lone surrogate), in every string field of the message at any
depth, each offending field named as the domain names them (`images[2].alt_text`), before
any servicer or store sees it: over gRPC and over the HTTP gateway alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor

from server.domain.errors import InvalidArgument, invalid
from server.domain.validation import text_violations
from server.grpc_api.interceptors.wrapping import Stream, Unary, WrappingInterceptor, is_async_generator
from server.grpc_api.status import to_grpc_status

Deserializer = Callable[[bytes], Any]


class Undecodable:
    """What the tolerant deserializer hands over in place of a message it could not parse."""

    __slots__ = ("problem", "type_name")

    def __init__(self, type_name: str, problem: str) -> None:
        self.type_name = type_name
        self.problem = problem

    def error(self) -> InvalidArgument:
        return InvalidArgument(
            reason="MALFORMED_REQUEST",
            message=(
                f"The request is not a valid {self.type_name} message ({self.problem}); "
                "send that message in protobuf wire format, as a protobuf library writes it"
            ),
            metadata={"message_type": self.type_name},
        )


def _problem(exc: Exception) -> str:
    """The parser's reason in plain words, e.g. "wire format was corrupt", without the
    exception's class or the type name it repeats."""
    text = str(exc).rsplit("': ", 1)[-1].strip().rstrip(".")
    if not text or "Error parsing message" in text or "<" in text:
        return "it cannot be parsed"
    return text[0].lower() + text[1:]


def tolerant(deserialize: Deserializer) -> Deserializer:
    """`deserialize`, returning an Undecodable where it would raise."""
    descriptor = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    type_name = getattr(descriptor, "full_name", "") or "request"

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, or anything else the parser refuses these bytes with
            return Undecodable(type_name, _problem(exc))

    return decode


_STRING = descriptor.FieldDescriptor.TYPE_STRING
_MESSAGE = descriptor.FieldDescriptor.TYPE_MESSAGE


def message_texts(message: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every string value set in `message` and its sub-messages, with its field path."""
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if field.type == _STRING:
            if field.is_repeated:
                yield from ((f"{name}[{i}]", item) for i, item in enumerate(value))
            else:
                yield name, value
        elif field.type == _MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    if isinstance(key, str):
                        yield f"{name}.key", key
                    if isinstance(item, str):
                        yield f"{name}[{key!r}]", item
                    elif hasattr(item, "ListFields"):
                        yield from message_texts(item, f"{name}[{key!r}].")
            elif field.is_repeated:
                for i, item in enumerate(value):
                    yield from message_texts(item, f"{name}[{i}].")
            else:
                yield from message_texts(value, f"{name}.")


def _check_texts(request: Any) -> None:
    violations = text_violations(message_texts(request)) if hasattr(request, "ListFields") else []
    if violations:
        raise invalid(violations)


class RequestDecoding(WrappingInterceptor):
    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.request_deserializer is None or handler.request_streaming:
            return handler
        deserializer = tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            behavior: Any = self.wrap_unary(method, handler.unary_unary)
            make = grpc.unary_unary_rpc_method_handler
        elif is_async_generator(handler.unary_stream):
            behavior = self.wrap_stream(method, handler.unary_stream)
            make = grpc.unary_stream_rpc_method_handler
        else:  # a stream written with context.write (Health/Watch): no interceptor maps errors
            behavior = _aborting(handler.unary_stream)
            make = grpc.unary_stream_rpc_method_handler
        return make(behavior, request_deserializer=deserializer, response_serializer=handler.response_serializer)

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def decoded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, Undecodable):
                raise request.error()
            _check_texts(request)
            return await behavior(request, context)

        return decoded

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def decoded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                raise request.error()
            _check_texts(request)
            async for response in behavior(request, context):
                yield response

        return decoded


def _aborting(behavior: Callable[[Any, grpc.aio.ServicerContext], Any]) -> Callable[..., Any]:
    async def decoded(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            await context.abort_with_status(to_grpc_status(request.error()))
        return await behavior(request, context)

    return decoded
