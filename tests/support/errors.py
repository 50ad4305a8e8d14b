"""The google.rpc.Status a failed call carries (AIP-193), read as any client would read it.

`rich_error` reads it from a failed gRPC call and insists it is there (every error of this
service carries an ErrorInfo). `read_status` is the lenient form for tools that must go on
whatever the answer (the soak). `rich_error_of` reads the status the transport would send
for a domain error, so tests that call the use cases directly assert what a caller sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.domain.errors import DomainError
from server.grpc_api.status import to_grpc_status

_DETAILS_KEY = "grpc-status-details-bin"


@dataclass
class RichError:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: dict[str, str] = field(default_factory=dict)
    retry_delay_seconds: float | None = None
    # QuotaFailure's violations: (subject, quota_id, quota_value, description) each.
    quota_violations: list[tuple[str, str, int, str]] = field(default_factory=list)
    # RequestInfo: the call's request id, and "trace_id=..." while tracing.
    request_id: str = ""
    serving_data: str = ""


def read_status(err: grpc.aio.AioRpcError) -> RichError:
    """The error's code and message, and what its google.rpc.Status details say, if it has one
    (a malformed or missing status leaves the details empty)."""
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]  # an AioRpcError is a Call here
    except (ValueError, DecodeError):  # a status that contradicts the call, or is not one
        status = None
    return _decode(err.code(), err.details() or "", status)


def rich_error(err: grpc.aio.AioRpcError) -> RichError:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, f"no google.rpc.Status on {err.code()}: {err.details()}"
    result = _decode(err.code(), err.details() or "", status)
    assert result.reason, "every error carries an ErrorInfo"
    return result


def rich_error_of(err: DomainError) -> RichError:
    """What a caller would read from the status the transport sends for `err`."""
    sent = to_grpc_status(err)
    details = dict(sent.trailing_metadata)[_DETAILS_KEY]
    result = _decode(sent.code, sent.details, status_pb2.Status.FromString(details))
    assert result.reason, "every error carries an ErrorInfo"
    return result


def _decode(code: grpc.StatusCode, message: str, status: status_pb2.Status | None) -> RichError:
    result = RichError(code=code, message=message)
    for detail in status.details if status is not None else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            result.reason, result.domain, result.metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            result.violations = {v.field: v.description for v in bad.field_violations}
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            result.retry_delay_seconds = retry.retry_delay.ToTimedelta().total_seconds()
        elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            quota = error_details_pb2.QuotaFailure()
            detail.Unpack(quota)
            result.quota_violations = [
                (v.subject, v.quota_id, v.quota_value, v.description) for v in quota.violations
            ]
        elif detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR):
            request = error_details_pb2.RequestInfo()
            detail.Unpack(request)
            result.request_id, result.serving_data = request.request_id, request.serving_data
    return result
