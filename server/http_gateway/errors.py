"""google.rpc.Status as an HTTP error (AIP-193's JSON form) with the standard gRPC-to-HTTP
status mapping (google/rpc/code.proto), and the gateway's own refusals in the same shape."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import any_pb2, json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "distribution"  # as server/grpc_api/status.py

# google/rpc/code.proto documents each code's HTTP mapping.
HTTP_STATUS = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
}


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status(code: int, message: str, reason: str, field: str = "", **metadata: str) -> status_pb2.Status:
    """A status of the gateway's own (the request never reached a method), with an
    ErrorInfo as every error of the service has, and a BadRequest naming the field if any."""
    details = [_pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))]
    if field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message, reason=reason)
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    return status_pb2.Status(code=code, message=message, details=details)


def shown(text: str, limit: int = 200) -> str:
    """A caller's path, method or header as a log line or message may quote it: cut, never
    raw bytes."""
    text = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return text if len(text) <= limit else text[:limit] + "..."


class Refused(Exception):
    """A request the gateway answers itself, before any method: sent with HTTP `status` as
    google.rpc.Status JSON with `code`, ErrorInfo `reason` and `metadata`, and `headers`."""

    def __init__(
        self, status: int, code: int, message: str, reason: str, headers: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.headers = dict(headers or {})
        self.metadata = dict(metadata or {})

    def rich(self) -> status_pb2.Status:
        return status(self.code, self.message, self.reason, **self.metadata)


def retry_after_seconds(rich: status_pb2.Status) -> int | None:
    for detail in rich.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return max(1, math.ceil(int(info.retry_delay.ToNanoseconds()) / 1e9))
    return None


def error_body(rich: status_pb2.Status, status: int | None = None) -> dict[str, Any]:
    """`{"error": {"code": <HTTP status>, "message", "status": <code name>, "details": [...]}}`,
    each detail with its `@type` (AIP-193's HTTP form). `code` is always the HTTP status the
    answer is sent with: the code's standard mapping, or `status` where the gateway answers
    with one google/rpc/code.proto has no code for (404 for no route, 405, 413, 414, 431)."""
    return {
        "error": {
            "code": status if status is not None else http_status(rich.code),
            "message": rich.message,
            "status": code_pb2.Code.Name(rich.code) if rich.code in HTTP_STATUS else "UNKNOWN",
            "details": [json_format.MessageToDict(detail) for detail in rich.details],
        }
    }


def http_status(code: int) -> int:
    return HTTP_STATUS.get(code, 500)
