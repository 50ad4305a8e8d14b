"""Domain errors to google.rpc.Status (AIP-193): ErrorInfo always; BadRequest, QuotaFailure
and RetryInfo when the error carries them. RetryInfo only when the error says when to come
back: a RESOURCE_EXHAUSTED that frees only by the caller's own action has none (see
ResourceExhausted)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.domain.errors import DomainError
from server.logs import current_trace_id, request_id

ERROR_DOMAIN = "distribution"
# RequestInfo.serving_data's form when the call was traced: the trace to look the error up by.
TRACE_ID_PREFIX = "trace_id="


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def request_info(call_request_id: str | None = None) -> error_details_pb2.RequestInfo:
    """Which call this was (AIP-193 RequestInfo): its request id (the caller's x-request-id,
    or the one made for it), and while tracing, `trace_id=<32 hex>`: the trace that has its
    spans and log lines."""
    trace_id = current_trace_id()
    return error_details_pb2.RequestInfo(
        request_id=request_id.get() if call_request_id is None else call_request_id,
        serving_data=f"{TRACE_ID_PREFIX}{trace_id}" if trace_id else "",
    )


def with_request_info(status: status_pb2.Status, call_request_id: str | None = None) -> status_pb2.Status:
    """`status` with the call's RequestInfo among its details (unless it has one already)."""
    if not any(d.Is(error_details_pb2.RequestInfo.DESCRIPTOR) for d in status.details):
        status.details.append(_pack(request_info(call_request_id)))
    return status


def to_grpc_status(err: DomainError) -> grpc.Status:
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=err.reason, domain=ERROR_DOMAIN, metadata=err.metadata))
    ]
    if err.field_violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description, reason=v.reason
                        )
                        for v in err.field_violations
                    ]
                )
            )
        )
    if err.quota_violations:
        details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject=v.subject, description=v.description, quota_id=v.quota_id,
                            quota_value=v.quota_value,
                        )
                        for v in err.quota_violations
                    ]
                )
            )
        )
    if err.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(err.retry_after * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    details.append(_pack(request_info()))
    status = status_pb2.Status(code=code_pb2.Code.Value(err.code), message=err.message, details=details)
    return rpc_status.to_status(status)


def internal_status() -> grpc.Status:
    """For a bug: no detail that could leak internals, just where to look."""
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message="Internal error; the service log has the details",
        details=[
            _pack(error_details_pb2.ErrorInfo(reason="INTERNAL_ERROR", domain=ERROR_DOMAIN)), _pack(request_info())
        ],
    )
    return rpc_status.to_status(status)


def unimplemented_status(method: str) -> grpc.Status:
    """For a method the server knows but does not serve."""
    status = status_pb2.Status(
        code=code_pb2.UNIMPLEMENTED,
        message=f"{method} is not implemented by this server",
        details=[
            _pack(
                error_details_pb2.ErrorInfo(reason="NOT_IMPLEMENTED", domain=ERROR_DOMAIN, metadata={"method": method})
            ),
            _pack(request_info()),
        ],
    )
    return rpc_status.to_status(status)
