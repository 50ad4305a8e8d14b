"""Typed domain errors. The transport maps each class to one gRPC status code.

Every error carries a stable UPPER_SNAKE `reason` (it becomes ErrorInfo.reason),
a short actionable English message, and string metadata (ErrorInfo.metadata) that
repeats every dynamic value of the message. Messages never contain secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one request field, e.g. field="media_ids[3]"."""

    field: str
    description: str
    reason: str = ""


@dataclass
class DomainError(Exception):
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)
    # Seconds the caller should wait before retrying (RetryInfo), when known.
    retry_after: float | None = None

    # Canonical status code name (google.rpc.Code), set per subclass.
    code: ClassVar[str] = "INTERNAL"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DomainError):
    code = "INVALID_ARGUMENT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    code = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    code = "RESOURCE_EXHAUSTED"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Aborted(DomainError):
    code = "ABORTED"


class OutOfRange(DomainError):
    code = "OUT_OF_RANGE"


class Unavailable(DomainError):
    code = "UNAVAILABLE"


class DeadlineExceeded(DomainError):
    code = "DEADLINE_EXCEEDED"


class Internal(DomainError):
    code = "INTERNAL"


class LeaseLost(Internal):
    """A run's write was refused because another replica took the publish over (the lease
    expired): the run must stop without writing or calling the platform again."""


class StoreUnavailable(Unavailable):
    """The database cannot be reached right now; the call changed nothing and may be retried."""


class IllegalTransition(Internal):
    """A write asked a publish to move to a state its current one may not become (a bug, or
    a second writer): nothing was written."""


ERROR_CLASSES: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        PermissionDenied,
        Unauthenticated,
        Aborted,
        OutOfRange,
        Unavailable,
        DeadlineExceeded,
        Internal,
    )
}


def invalid(violations: list[FieldViolation], reason: str = "INVALID_REQUEST") -> InvalidArgument:
    """An INVALID_ARGUMENT naming every violation; the message lists them all."""
    summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return InvalidArgument(
        reason=reason,
        message=f"Invalid request: {summary}",
        field_violations=list(violations),
    )
