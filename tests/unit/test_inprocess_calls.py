"""In-process calls (server/grpc_api/inprocess.py), what the HTTP gateway serves through:
a servicer sees the HTTP caller as a gRPC one (metadata, client certificate names, peer, no
deadline), and every way it can fail reaches the caller as the google.rpc.Status a gRPC
client would read. Handlers made here, no interceptor, no socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server.grpc_api.inprocess import Caller, CallFailed, InProcessCalls

ECHO = "/test.v1.Probe/Echo"
WATCH = "/test.v1.Probe/Watch"


@dataclass(frozen=True)
class PlainStatus(grpc.Status):
    """A grpc.Status as grpc_status.rpc_status.to_status makes one (the details, if any, in
    the trailing metadata)."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


async def echo(request: str, context: Any) -> dict[str, Any]:
    """What a servicer can read of its caller, and what it sets."""
    seen = {
        "metadata": dict(context.invocation_metadata()),
        "auth": context.auth_context(),
        "peer": context.peer(),
        "deadline": context.time_remaining(),
        "code before": context.code(),
    }
    context.set_code(grpc.StatusCode.OK)
    context.set_trailing_metadata((("x-answer", "42"),))
    seen["code after"] = context.code()
    if request == "abort":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    if request == "abort plainly":
        await context.abort_with_status(PlainStatus(grpc.StatusCode.UNAVAILABLE, "try later", (("x-other", "1"),)))
    if request == "abort richly":
        status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="bad media_ids[3]")
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason="MEDIA_NOT_ALLOWED", domain="distribution"))
        status.details.append(detail)
        trailing = (("x-other", "1"), ("grpc-status-details-bin", status.SerializeToString()))
        await context.abort_with_status(PlainStatus(grpc.StatusCode.INVALID_ARGUMENT, "bad", trailing))
    return seen


async def watch(request: str, context: Any) -> AsyncIterator[str]:
    if request in ("started", "started twice"):
        await context.send_initial_metadata((("x-position", "7"),))
    if request == "started twice":
        await context.send_initial_metadata(())
    yield "first"
    if request == "fail":
        await context.abort(grpc.StatusCode.ABORTED, "the stream broke")
    yield "second"


def calls() -> InProcessCalls:
    return InProcessCalls((), {
        ECHO: grpc.unary_unary_rpc_method_handler(echo),
        WATCH: grpc.unary_stream_rpc_method_handler(watch),
    })


async def test_the_servicer_sees_the_http_caller_as_a_grpc_caller() -> None:
    caller = Caller(metadata=(("authorization", "Bearer k"), ("x-request-id", "r1")), common_names=("billing",),
                    peer="ipv4:10.1.2.3:5555")
    seen = await calls().unary(ECHO, "hello", caller)
    assert seen == {
        "metadata": {"authorization": "Bearer k", "x-request-id": "r1"},
        "auth": {"x509_common_name": [b"billing"]},
        "peer": "ipv4:10.1.2.3:5555",
        "deadline": None,  # HTTP callers give none
        "code before": None,
        "code after": grpc.StatusCode.OK,
    }
    assert (await calls().unary(ECHO, "hello", Caller()))["auth"] == {}  # no client certificate


async def test_an_abort_reaches_the_caller_as_its_status() -> None:
    with pytest.raises(CallFailed) as caught:
        await calls().unary(ECHO, "abort", Caller())
    assert (caught.value.status.code, caught.value.status.message) == (code_pb2.NOT_FOUND, "no such thing")


async def test_an_abort_with_a_status_keeps_its_rich_details() -> None:
    with pytest.raises(CallFailed) as caught:
        await calls().unary(ECHO, "abort richly", Caller())
    status = caught.value.status
    assert (status.code, status.message) == (code_pb2.INVALID_ARGUMENT, "bad media_ids[3]")
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == "MEDIA_NOT_ALLOWED"


async def test_an_abort_with_a_bare_status_reaches_the_caller_with_its_code_and_message() -> None:
    with pytest.raises(CallFailed) as caught:
        await calls().unary(ECHO, "abort plainly", Caller())
    assert caught.value.status == status_pb2.Status(code=code_pb2.UNAVAILABLE, message="try later")


async def test_a_stream_yields_until_it_fails_then_the_caller_reads_the_status() -> None:
    received: list[str] = []
    with pytest.raises(CallFailed) as caught:
        async for item in calls().stream(WATCH, "fail", Caller()):
            received.append(item)
    assert received == ["first"]
    assert (caught.value.status.code, caught.value.status.message) == (code_pb2.ABORTED, "the stream broke")
    assert [item async for item in calls().stream(WATCH, "ok", Caller())] == ["first", "second"]


async def test_a_stream_tells_the_caller_when_it_sends_its_initial_metadata_before_any_message() -> None:
    told: list[tuple[Any, ...]] = []

    async def started(metadata: Any) -> None:
        told.append(metadata)

    stream = calls().stream(WATCH, "started", Caller(), started=started)
    assert await anext(stream) == "first"
    assert told == [(("x-position", "7"),)]  # told before the first message was yielded
    # Without a hook it is sent all the same; a second sending is the method's bug, as on grpc.
    assert [item async for item in calls().stream(WATCH, "started", Caller())] == ["first", "second"]
    with pytest.raises(RuntimeError, match="already sent"):
        async for _ in calls().stream(WATCH, "started twice", Caller(), started=started):
            pass


async def test_a_method_called_the_wrong_way_or_not_registered_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="is not unary"):
        await calls().unary(WATCH, "x", Caller())
    with pytest.raises(TypeError, match="is not a server-streaming method"):
        async for _ in calls().stream(ECHO, "x", Caller()):
            pass
    with pytest.raises(KeyError):
        await calls().unary("/test.v1.Probe/Missing", "x", Caller())
    assert calls().methods == (ECHO, WATCH)
