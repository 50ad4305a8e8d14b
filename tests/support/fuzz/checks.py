"""The property every call must have: it succeeds, or fails with a code that is neither
INTERNAL nor UNKNOWN and carries a google.rpc.Status with an ErrorInfo -- except
RESOURCE_EXHAUSTED raised by gRPC itself for a request over the server's 1 MiB receive
limit, which has no status."""

from __future__ import annotations

import collections
import contextlib
import re
from typing import Any

import grpc
from google.protobuf import message_factory
from hypothesis import note
from hypothesis.control import currently_in_test_context

from server.grpc_api.server import MAX_MESSAGE_BYTES
from tests.support.errors import rich_error
from tests.support.fuzz.rpcs import Rpc
from tests.support.fuzz.world import World

# Codes an application error may use; each must carry a google.rpc.Status with an ErrorInfo.
APPLICATION_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
}
_SIZE_LIMIT = re.compile(r"(Received|Sent) message larger than max", re.IGNORECASE)
OUTCOMES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


def summary(message: Any) -> str:
    """The request with long strings and lists cut, for reports."""

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= 120 else f"{value[:60]!r}...<{len(value)} chars>...{value[-20:]!r}"
        if isinstance(value, bytes):
            return value if len(value) <= 120 else f"<{len(value)} bytes>"
        if hasattr(value, "ListFields"):
            return {f.name: cut(v) for f, v in value.ListFields()}
        if hasattr(value, "__len__") and not isinstance(value, dict):
            items = list(value)
            shown = [cut(v) for v in items[:12]]
            return shown if len(items) <= 12 else [*shown, f"...<{len(items)} items>"]
        return value

    return f"{type(message).__name__}({cut(message)})"


class Drawn:
    """A generated request whose repr (in Hypothesis' report) is the cut-down summary."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def __repr__(self) -> str:
        return summary(self.message)


def note_if_testing(text: str) -> None:
    if currently_in_test_context():
        note(text)


def is_grpc_size_limit(err: grpc.aio.AioRpcError) -> bool:
    return err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and bool(_SIZE_LIMIT.search(err.details() or ""))


def check_call(
    world: World, rpc: Rpc, request: Any, metadata: tuple[tuple[str, Any], ...] = ()
) -> grpc.aio.AioRpcError | None:
    """Makes the call and checks the property. After any call that may have changed
    something (even a failed one: a write may land before the failure), the fixed
    accounts are restored so that one bug does not cascade into every later RPC."""
    try:
        outcome = check_once(world, rpc, request, metadata)
    except BaseException:
        if not rpc.reads_only:
            with contextlib.suppress(Exception):  # the failure being raised is the news
                world.restore()
        raise
    if not rpc.reads_only:
        world.restore()
    return outcome


def check_once(
    world: World, rpc: Rpc, request: Any, metadata: tuple[tuple[str, Any], ...] = ()
) -> grpc.aio.AioRpcError | None:
    world.log.take()
    size = request.ByteSize()
    response, err = world.call(rpc.path, request, metadata=metadata)
    server_log = world.log.take()
    where = f"{rpc} with {summary(request)} ({size} bytes){f' and metadata {metadata!r}' if metadata else ''}"
    if err is None:
        OUTCOMES[str(rpc)]["OK"] += 1
        note_if_testing(f"{rpc}: OK")
        assert isinstance(response, message_factory.GetMessageClass(rpc.output)), where
        return None
    code = err.code()
    OUTCOMES[str(rpc)][code.name] += 1
    note_if_testing(f"{rpc}: {code.name} {err.details()!r}")
    assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
        f"{where} -> {code.name}: {err.details()}\nserver log:\n{server_log}"
    )
    if is_grpc_size_limit(err):
        assert size > MAX_MESSAGE_BYTES, f"{where}: size limit hit by a {size}-byte request"
        return err
    assert code in APPLICATION_CODES, f"{where} -> unexpected {code.name}: {err.details()}\n{server_log}"
    try:
        rich = rich_error(err)
    except AssertionError as missing:
        raise AssertionError(f"{where} -> {code.name} without a rich status: {missing}\n{server_log}") from None
    assert rich.domain == "distribution", f"{where} -> ErrorInfo domain {rich.domain!r}"
    return err
