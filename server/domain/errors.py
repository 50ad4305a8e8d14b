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


@dataclass(frozen=True)
class QuotaViolation:
    """A cap the caller has reached that frees only by its own action (google.rpc.QuotaFailure):
    `subject` is whose cap (e.g. "workspace:alpha"), `quota_id` names it, `quota_value` is
    its value, `description` says what to do."""

    subject: str
    description: str
    quota_id: str
    quota_value: int


@dataclass
class DomainError(Exception):
    reason: str
    message: str
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)
    # Seconds the caller should wait before retrying (RetryInfo): only for what frees with time.
    retry_after: float | None = None
    # Caps the caller reached that only its own action frees (QuotaFailure).
    quota_violations: list[QuotaViolation] = field(default_factory=list)

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
    """A limit was reached, and the error says which kind, because a client's retry depends
    on it (AIP-193):

    - a rate limit or a quota that frees with time (calls in flight, a platform's rate window
      or rolling daily cap) carries `retry_after` (RetryInfo, and Retry-After over HTTP):
      the delay the limit states where it is known, else a first wait that fits its window;
    - a cap that frees only by the caller's own action (how many webhooks a workspace may
      have) carries no retry_after, so no client retries it on a timer, and names the cap in
      `quota_violations` (QuotaFailure).

    `frees_with_time` and `cap_reached` build each kind.
    """

    code = "RESOURCE_EXHAUSTED"

    @classmethod
    def frees_with_time(
        cls, reason: str, message: str, retry_after: float, metadata: dict[str, str] | None = None
    ) -> ResourceExhausted:
        return cls(reason=reason, message=message, metadata=dict(metadata or {}), retry_after=retry_after)

    @classmethod
    def cap_reached(
        cls, reason: str, message: str, violation: QuotaViolation, metadata: dict[str, str] | None = None
    ) -> ResourceExhausted:
        return cls(reason=reason, message=message, metadata=dict(metadata or {}), quota_violations=[violation])


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
