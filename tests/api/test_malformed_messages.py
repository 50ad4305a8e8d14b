"""Bytes that are not a valid request message, sent over a raw channel (no serializers):
every unary and server-streaming method answers INVALID_ARGUMENT under the service's error
contract (google.rpc.Status, ErrorInfo reason MALFORMED_REQUEST, domain `distribution`),
never UNKNOWN naming a Python class.

The raw-wire fuzzing here complements tests/test_fuzz.py, which fuzzes well-formed
messages: truncated messages, wrong wire types, oversized lengths, bad UTF-8, deep nesting
and seeded random bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import grpc
import pytest
from distribution.v1 import account_service_pb2, media_service_pb2, publishing_service_pb2
from google.protobuf import descriptor as _descriptor
from grpc_health.v1 import health_pb2

from tests.support.errors import rich_error
from tests.support.waiting import eventually

FD = _descriptor.FieldDescriptor
# Codes an answer to a request may carry; UNKNOWN and INTERNAL never.
APPLICATION_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.UNIMPLEMENTED,  # Health/List: in grpc's contract, not served
}


@dataclass(frozen=True)
class Method:
    path: str
    request: _descriptor.Descriptor
    streaming: bool

    @property
    def ours(self) -> bool:
        """One of the service's own methods (health's NOT_FOUND carries no ErrorInfo)."""
        return self.path.startswith("/distribution.")

    def __str__(self) -> str:
        return self.path.rsplit("/", 2)[-1]


def methods() -> list[Method]:
    found = []
    for module in (account_service_pb2, media_service_pb2, publishing_service_pb2, health_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert not method.client_streaming
                found.append(Method(f"/{service.full_name}/{method.name}", method.input_type, method.server_streaming))
    return found


METHODS = methods()


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


UNKNOWN_FIELD = 99


def string_field(request: _descriptor.Descriptor) -> int | None:
    """The number of the request's first string field, if it has one."""
    return next((f.number for f in request.fields if f.type == FD.TYPE_STRING), None)


def corruptions(method: Method) -> list[tuple[str, bytes]]:
    """(what, bytes) for the method's request type; none of them is a valid message."""
    text = string_field(method.request)
    number = UNKNOWN_FIELD if text is None else text
    valid = tag(number, 2) + varint(10) + b"abcdefghij"
    found = [
        ("garbage", b"\xff\xff\xff"),
        ("truncated", valid[:-3]),
        ("truncated tag", valid + b"\x9a"),
        ("oversized length", tag(UNKNOWN_FIELD, 2) + varint(2**31) + b"abc"),
        ("length past the end", tag(number, 2) + varint(200) + b"short"),
        ("groups nested 200 deep", tag(UNKNOWN_FIELD, 3) * 200 + tag(UNKNOWN_FIELD, 4) * 200),
        ("unterminated group", tag(UNKNOWN_FIELD, 3) + valid),
        ("end group without start", tag(UNKNOWN_FIELD, 4)),
        ("invalid wire type 7", tag(number, 7) + b"\x00"),
        ("overlong varint", tag(UNKNOWN_FIELD, 0) + b"\xff" * 11),
    ]
    if text is not None:
        found.append(("bad UTF-8 in a string field", tag(text, 2) + varint(2) + b"\xff\xfe"))
    return found


async def call(channel: grpc.aio.Channel, method: Method, payload: bytes, metadata=None) -> grpc.aio.AioRpcError | None:
    """Sends `payload` as the request's bytes; the error, or None if the call succeeded."""
    try:
        if method.streaming:
            stream = channel.unary_stream(method.path)(payload, timeout=10, metadata=metadata)
            # A well-formed Watch runs on (WatchPublishes may send nothing for a long time):
            # its headers are enough. A refused one ends at once, headers and status together.
            await stream.initial_metadata()
            if not stream.done():
                stream.cancel()
                return None
            async for _ in stream:
                break
        else:
            await channel.unary_unary(method.path)(payload, timeout=10, metadata=metadata)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.CANCELLED:
            return None
        return err
    return None


def assert_malformed(err: grpc.aio.AioRpcError | None, method: Method) -> None:
    assert err is not None, "accepted"
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    error = rich_error(err)
    assert (error.reason, error.domain) == ("MALFORMED_REQUEST", "distribution")
    assert error.metadata == {"message_type": method.request.full_name}
    assert error.message.startswith(f"The request is not a valid {method.request.full_name} message (")
    assert "class" not in error.message and "Error" not in error.message


@pytest.mark.parametrize("method", METHODS, ids=str)
async def test_bytes_that_are_no_message_get_invalid_argument(channel, method):
    for what, payload in corruptions(method):
        err = await call(channel, method, payload)
        try:
            assert_malformed(err, method)
        except AssertionError as failure:
            raise AssertionError(f"{what}: {failure}") from None


async def test_the_message_says_what_the_parser_found(channel):
    method = next(m for m in METHODS if m.path.endswith("/GetAccount"))
    err = await call(channel, method, tag(1, 2) + varint(2) + b"\xff\xfe")
    assert rich_error(err).message == (
        "The request is not a valid distribution.v1.GetAccountRequest message (string field had bad UTF-8); "
        "send that message in protobuf wire format, as a protobuf library writes it"
    )


@pytest.mark.parametrize("method", METHODS, ids=str)
async def test_a_known_field_with_the_wrong_wire_type_is_an_unknown_field(channel, method):
    # Protobuf parses a known field number with another wire type as an unknown field: the
    # request is then a valid (mostly empty) message and gets the method's usual answer.
    text = string_field(method.request)
    if text is None:
        pytest.skip(f"{method.request.full_name} has no string field")
    err = await call(channel, method, tag(text, 0) + varint(5))
    if err is not None:
        assert err.code() in APPLICATION_CODES, (err.code(), err.details())
        if method.ours:
            assert rich_error(err).domain == "distribution"


@pytest.mark.parametrize("method", METHODS, ids=str)
async def test_random_bytes_never_get_unknown_or_internal(channel, method):
    rng = random.Random(f"raw-{method.path}")  # seeded: the same bytes every run
    for _ in range(40):
        payload = rng.randbytes(rng.choice([1, 2, 3, 5, 8, 16, 64, 512]))
        err = await call(channel, method, payload)
        if err is None:
            continue
        assert err.code() in APPLICATION_CODES, (payload, err.code(), err.details())
        assert "class" not in (err.details() or ""), (payload, err.details())
        if method.ours or err.code() == grpc.StatusCode.INVALID_ARGUMENT:
            assert rich_error(err).domain == "distribution", payload


async def test_authentication_comes_before_decoding(start_service):
    service = await start_service(api_keys="alpha=a-key-of-sixteen-chars-or-more")
    method = next(m for m in METHODS if m.path.endswith("/ListAccounts"))
    async with grpc.aio.insecure_channel(service.address) as channel:
        err = await call(channel, method, b"\xff\xff\xff")
        assert err is not None and err.code() == grpc.StatusCode.UNAUTHENTICATED
        keyed = (("authorization", "Bearer a-key-of-sixteen-chars-or-more"),)
        assert_malformed(await call(channel, method, b"\xff\xff\xff", keyed), method)


async def test_malformed_requests_are_logged_with_their_code(channel, caplog):
    method = next(m for m in METHODS if m.path.endswith("/GetMedia"))
    with caplog.at_level("INFO", logger="distribution.rpc"):
        await call(channel, method, b"\xff\xff\xff")
        # The refusal reaches the client before the server writes its log line.
        lines = await eventually(
            lambda: [r for r in caplog.records if r.getMessage() == "rpc" and r.method == method.path],
            "the rpc log line of the malformed call",
        )
    assert [(r.code, r.reason) for r in lines] == [("INVALID_ARGUMENT", "MALFORMED_REQUEST")]


async def test_the_service_serves_on_after_malformed_requests(channel):
    for method in METHODS:
        await call(channel, method, b"\xff\xff\xff")
    response = await channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_method_in_the_contract_but_not_served_is_unimplemented(channel):
    # grpc's health servicer leaves Health/List to its generated base, which raises
    # NotImplementedError: that is UNIMPLEMENTED, not a bug's INTERNAL.
    method = next(m for m in METHODS if m.path == "/grpc.health.v1.Health/List")
    err = await call(channel, method, b"")
    assert err is not None and err.code() == grpc.StatusCode.UNIMPLEMENTED
    assert rich_error(err).reason == "NOT_IMPLEMENTED"
