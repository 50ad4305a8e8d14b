"""The gateway's gRPC-to-HTTP status mapping (google/rpc/code.proto) and AIP-193 error body."""

from __future__ import annotations

from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server.http_gateway.errors import error_body, http_status, retry_after_seconds

EXPECTED = {
    "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500,
    "UNAVAILABLE": 503, "DATA_LOSS": 500,
}  # fmt: skip


def test_every_code_has_its_standard_http_status():
    assert {name: http_status(code_pb2.Code.Value(name)) for name in EXPECTED} == EXPECTED
    assert http_status(99) == 500


def test_the_error_body_carries_every_detail_with_its_type_and_retry_after_rounds_up():
    delay = duration_pb2.Duration(seconds=2, nanos=100_000_000)
    details = []
    for message in (
        error_details_pb2.ErrorInfo(reason="X", domain="distribution", metadata={"field": "media_ids[3]"}),
        error_details_pb2.RetryInfo(retry_delay=delay),
    ):
        packed = any_pb2.Any()
        packed.Pack(message)
        details.append(packed)
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="slow down", details=details)
    assert error_body(status) == {
        "error": {
            "code": 429,
            "message": "slow down",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "X",
                    "domain": "distribution",
                    "metadata": {"field": "media_ids[3]"},
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.100s"},
            ],
        }
    }
    assert retry_after_seconds(status) == 3
    assert retry_after_seconds(status_pb2.Status(code=code_pb2.NOT_FOUND)) is None
