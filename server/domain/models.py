"""Domain records: accounts, media and publishes. Plain dataclasses, no transport types."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Platform(str, enum.Enum):
    INSTAGRAM = "INSTAGRAM"
    TIKTOK = "TIKTOK"

    @property
    def label(self) -> str:
        return {"INSTAGRAM": "Instagram", "TIKTOK": "TikTok"}[self.value]


class AccountState(str, enum.Enum):
    ACTIVE = "ACTIVE"
    NEEDS_RECONNECT = "NEEDS_RECONNECT"
    DISCONNECTED = "DISCONNECTED"


class MediaKind(str, enum.Enum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


class Storage(str, enum.Enum):
    GCS = "GCS"
    S3 = "S3"
    OTHER = "OTHER"


class PublishState(str, enum.Enum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    PUBLISHED = "PUBLISHED"
    DELIVERED_TO_INBOX = "DELIVERED_TO_INBOX"
    FAILED = "FAILED"
    UNCONFIRMED = "UNCONFIRMED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        PublishState.PUBLISHED,
        PublishState.DELIVERED_TO_INBOX,
        PublishState.FAILED,
        PublishState.UNCONFIRMED,
    }
)


class PublishKind(str, enum.Enum):
    CAROUSEL = "CAROUSEL"


@dataclass(frozen=True)
class Account:
    id: str
    workspace_id: str
    platform: Platform
    external_account_id: str
    username: str
    state: AccountState
    has_refresh_token: bool
    access_token_expires_at: datetime | None
    refresh_token_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Credentials:
    """An account's platform tokens. Only the workflow and adapters ever hold these."""

    access_token: str
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never print a token, even by accident
        return "Credentials(<redacted>)"


@dataclass(frozen=True)
class Media:
    id: str
    workspace_id: str
    url: str
    mime_type: str
    kind: MediaKind
    storage: Storage
    width: int
    height: int
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True)
class PublishError:
    """Why a publish failed or could not be confirmed, as recorded in the publish log."""

    code: str  # canonical gRPC code name, e.g. FAILED_PRECONDITION
    reason: str  # ErrorInfo reason, e.g. INSTAGRAM_MEDIA_FETCH_FAILED
    message: str
    platform_code: str = ""  # Graph error code or TikTok error.code / fail_reason
    platform_subcode: str = ""  # Graph error_subcode
    platform_trace_id: str = ""  # Graph fbtrace_id or TikTok log_id
    retryable: bool = False
    item_index: int | None = None  # offending carousel item, when known

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublishError:
        return cls(**data)


@dataclass(slots=True)
class Publish:
    id: str
    workspace_id: str
    platform: Platform
    kind: PublishKind
    account_id: str
    media_ids: list[str]
    caption: str
    options: dict[str, Any]
    state: PublishState
    request_id: str | None
    created_at: datetime
    updated_at: datetime
    # Hash of the request that created the publish; a retry with the same request_id must match it.
    request_fingerprint: str | None = None
    # Hash of what would be posted (platform, account, ordered media, caption): the duplicate guard's key.
    content_fingerprint: str = ""
    # Platform ids, saved the moment each becomes known.
    child_container_ids: list[str | None] = field(default_factory=list)
    container_id: str | None = None
    ig_media_id: str | None = None
    permalink: str | None = None
    tiktok_publish_id: str | None = None
    tiktok_post_id: str | None = None
    error: PublishError | None = None
    published_at: datetime | None = None
    # Facts still expected from the platform after the publish ended ("permalink",
    # "tiktok_post_id"), and when the reconciler next asks for them.
    pending_facts: list[str] = field(default_factory=list)
    reconcile_at: datetime | None = None
    reconcile_attempts: int = 0
    # A platform-changing call sent but not answered yet; set before sending, cleared with its result.
    call_in_flight: str | None = None
    # Counts the changes to the record: equal revisions of one publish are the same record.
    revision: int = 0

    @property
    def image_count(self) -> int:
        return len(self.media_ids)


@dataclass(frozen=True, slots=True)
class PublishVersion:
    """A publish named on a list page, with the revision the page found it at."""

    id: str
    revision: int


@dataclass(frozen=True)
class PublishFilter:
    """ListPublishes filters; None means "any". Times bound create time: [after, before)."""

    account_id: str | None = None
    platform: Platform | None = None
    state: PublishState | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list: items plus the opaque token for the next page ("" at the end)."""

    items: list[Any]
    next_page_token: str
