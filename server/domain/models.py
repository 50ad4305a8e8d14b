"""Domain records: accounts, media and publishes, and the rules that belong to them.

Plain dataclasses and enums: no transport, storage or platform types.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from server.domain.errors import ERROR_CLASSES, DomainError, FieldViolation

if TYPE_CHECKING:  # options.py imports platforms.py, which imports this module; health.py imports it
    from server.domain.health import AccountHealth
    from server.domain.options import PostOptions
    from server.domain.tiktok_video import TikTokUpload


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    # Recorded to run at its schedule_time; no platform write call made yet.
    SCHEDULED = "SCHEDULED"
    # A scheduled publish cancelled before it started.
    CANCELLED = "CANCELLED"
    # A scheduled publish found due past the lateness limit: it never runs.
    MISSED = "MISSED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    def may_become(self, new: PublishState) -> bool:
        """Whether a record in this state may move to `new`: forward only, and a terminal
        state is final (later changes to a finished publish, such as a late permalink,
        leave its state as it is)."""
        return new in _NEXT_STATES[self]


TERMINAL_STATES = frozenset(
    {
        PublishState.PUBLISHED,
        PublishState.DELIVERED_TO_INBOX,
        PublishState.FAILED,
        PublishState.UNCONFIRMED,
        PublishState.CANCELLED,
        PublishState.MISSED,
    }
)

_NEXT_STATES: dict[PublishState, frozenset[PublishState]] = {
    PublishState.PENDING: frozenset(
        {PublishState.PROCESSING, *TERMINAL_STATES} - {PublishState.CANCELLED, PublishState.MISSED}
    ),
    PublishState.PROCESSING: TERMINAL_STATES - {PublishState.CANCELLED, PublishState.MISSED},
    # A due schedule starts (PROCESSING) or is missed; before that it may be cancelled, or
    # fail a check that went stale. It never goes back to PENDING.
    PublishState.SCHEDULED: frozenset(
        {PublishState.PROCESSING, PublishState.FAILED, PublishState.CANCELLED, PublishState.MISSED}
    ),
    **{state: frozenset() for state in TERMINAL_STATES},
}


def states_before(new: PublishState) -> frozenset[PublishState]:
    """The states a record may be in for a change to `new` (stores check it in the write)."""
    return frozenset(state for state in PublishState if state.may_become(new))


class PublishKind(str, enum.Enum):
    CAROUSEL = "CAROUSEL"
    IMAGE = "IMAGE"  # one image, an Instagram feed post
    REEL = "REEL"  # one video, published to Instagram as a Reel
    # One TikTok video (PublishTikTokVideo).
    VIDEO = "VIDEO"


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
    # What its owner must do soon (server/domain/health.py), stated by the read that
    # returns the account to a caller; None where no caller sees it.
    health: AccountHealth | None = None


@dataclass(frozen=True)
class NewAccount:
    """A ConnectAccount request as the store takes it: tokens in clear, sealed by the store."""

    workspace_id: str
    platform: Platform
    external_account_id: str
    username: str
    access_token: str
    refresh_token: str | None
    access_token_expires_at: datetime | None
    refresh_token_expires_at: datetime | None
    # A reconnect whose grant carries no refresh token keeps the stored one (and its expiry)
    # instead of erasing it: losing it would force the next reconnect early.
    keep_refresh_token: bool = False

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"NewAccount(platform={self.platform}, external_account_id={self.external_account_id!r})"


@dataclass(frozen=True)
class Credentials:
    """An account's platform tokens. Only the workflow and adapters ever hold these."""

    access_token: str
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never print a token, even by accident
        return "Credentials(<redacted>)"


class InspectionOutcome(str, enum.Enum):
    """What fetching a media URL's first bytes found."""

    # The bytes were read: detected type, and for an image its pixel size.
    READ = "READ"
    # No answer worth reading: DNS, connection, TLS, an HTTP error status, or the time limit.
    UNREACHABLE = "UNREACHABLE"
    # The URL was not fetched: its scheme, credentials, or an address the guard refuses.
    REFUSED = "REFUSED"
    # Bytes came back, but they are no image or video this service recognises.
    NOT_MEDIA = "NOT_MEDIA"
    # The file's header is not within the bytes inspection may read (or the image is absurdly large).
    TOO_LARGE = "TOO_LARGE"


@dataclass(frozen=True)
class VideoFacts:
    """What a video file's own headers say of it, as the media inspector read them."""

    # Container format as the demuxer names it, e.g. "mp4" (MP4 and MOV), "webm", "avi".
    container: str
    duration_ms: int
    width: int
    height: int
    # Frames per second of the video stream (average); 0.0 when the file does not say.
    frame_rate: float
    # Codec names as FFmpeg gives them, e.g. "h264", "hevc", "vp9"; audio "" when there is none.
    video_codec: str
    audio_codec: str
    # The file's size in bytes, and how many of them the inspection read to learn the rest.
    size_bytes: int
    bytes_read: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoFacts:
        return cls(
            container=str(data["container"]), duration_ms=int(data["duration_ms"]), width=int(data["width"]),
            height=int(data["height"]), frame_rate=float(data["frame_rate"]), video_codec=str(data["video_codec"]),
            audio_codec=str(data["audio_codec"]), size_bytes=int(data["size_bytes"]),
            bytes_read=int(data["bytes_read"]),
        )


@dataclass(frozen=True)
class Inspection:
    """What a media URL's bytes are, as the media inspector found them. Once the bytes are
    known they decide the media's type and size, not the URL's extension."""

    outcome: InspectionOutcome
    # Detected from the bytes ("" when nothing was recognised).
    mime_type: str = ""
    width: int = 0
    height: int = 0
    # The file's size when the host said it or the whole file was read; 0 when unknown.
    size_bytes: int = 0
    # Hex SHA-256 of the content, only when the whole file was read.
    sha256: str = ""
    # Why it failed, in words fit for an error message ("" when READ).
    detail: str = ""
    # When it was inspected (set by the use case; None until then).
    inspected_at: datetime | None = None
    # A video's container, duration, size, frame rate and codecs; None for images and
    # whenever the video's headers could not be read.
    video: VideoFacts | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == InspectionOutcome.READ

    @property
    def reachable(self) -> bool:
        """Whether the host answered with bytes (REFUSED URLs were never asked)."""
        return self.outcome in (InspectionOutcome.READ, InspectionOutcome.NOT_MEDIA, InspectionOutcome.TOO_LARGE)


@dataclass(frozen=True)
class Media:
    id: str
    workspace_id: str
    url: str
    # Detected from the bytes once inspected; else given, or inferred from the URL's extension.
    mime_type: str
    kind: MediaKind
    storage: Storage
    width: int
    height: int
    size_bytes: int
    created_at: datetime
    # The last inspection of its bytes; None when never inspected (media fetch off).
    inspection: Inspection | None = None
    # What the last inspection that read a video's headers found; None for images and for a
    # video not (successfully) inspected yet.
    video: VideoFacts | None = None


@dataclass(frozen=True)
class PublishError:
    """Why a publish failed or could not be confirmed, as recorded in the publish log."""

    code: str  # canonical gRPC code name, e.g. FAILED_PRECONDITION
    reason: str  # ErrorInfo reason, e.g. INSTAGRAM_MEDIA_FETCH_FAILED
    message: str
    platform_code: str = ""  # Graph error code or TikTok error.code / fail_reason
    platform_subcode: str = ""  # Graph error_subcode
    platform_trace_id: str = ""  # Graph fbtrace_id or TikTok log_id
    retryable: bool = False  # publishing the same content again (a new publish) may succeed
    item_index: int | None = None  # offending carousel item, when known
    # The platform no longer accepts the account's token: the account needs a reconnect.
    token_rejected: bool = False
    # A platform limit that frees with time (RESOURCE_EXHAUSTED): seconds after the failure
    # until the same publish may succeed, as the platform said or its window implies.
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublishError:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def for_item(self, index: int) -> PublishError:
        """The same error, pinned to carousel item `index` (named in the message)."""
        return dataclasses.replace(self, item_index=index, message=f"media_ids[{index}]: {self.message}")

    def as_exception(self, publish_id: str = "") -> DomainError:
        """The error a failed publish recorded, as the exception its RPC answers with."""
        metadata = {"publish_id": publish_id} if publish_id else {}
        for key in ("platform_code", "platform_subcode", "platform_trace_id"):
            if value := getattr(self, key):
                metadata[key] = value
        violations: list[FieldViolation] = []
        if self.item_index is not None:
            metadata["field"] = f"media_ids[{self.item_index}]"
            violations.append(FieldViolation(metadata["field"], self.message))
        metadata["retryable"] = "true" if self.retryable else "false"
        cls = ERROR_CLASSES.get(self.code, ERROR_CLASSES["INTERNAL"])
        return cls(
            reason=self.reason,
            message=self.message,
            metadata=metadata,
            field_violations=violations if cls.code == "INVALID_ARGUMENT" else [],
            retry_after=self.retry_after,
        )


class FirstCommentState(str, enum.Enum):
    """Where an Instagram first comment stands: a step of its own after the post is live,
    which never changes the publish's state."""

    PENDING = "PENDING"  # to be posted once the carousel is live
    SENDING = "SENDING"  # saved before the call: after a crash the media's comments decide
    POSTED = "POSTED"
    FAILED = "FAILED"
    UNCONFIRMED = "UNCONFIRMED"  # sent, outcome unknown, never sent again

    @property
    def final(self) -> bool:
        return self in (FirstCommentState.POSTED, FirstCommentState.FAILED, FirstCommentState.UNCONFIRMED)


@dataclass(frozen=True)
class FirstComment:
    """The first comment's own record: its state, Instagram's comment id, its error, and how
    many times it was sent (bounded, so a comment that never shows up is not sent forever)."""

    state: FirstCommentState
    comment_id: str = ""
    error: PublishError | None = None
    sends: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "comment_id": self.comment_id,
            "error": self.error.to_dict() if self.error else None,
            "sends": self.sends,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FirstComment:
        error = data.get("error")
        return cls(
            state=FirstCommentState(data["state"]),
            comment_id=str(data.get("comment_id") or ""),
            error=PublishError.from_dict(error) if error else None,
            sends=int(data.get("sends") or 0),
        )


@dataclass(frozen=True, slots=True)
class LapsedLease:
    """A run's lease that ended without being renewed or released: its replica died or stalled."""

    owner: str
    until: datetime


@dataclass(slots=True)
class Publish:
    id: str
    workspace_id: str
    platform: Platform
    kind: PublishKind
    account_id: str
    media_ids: list[str]
    caption: str
    options: PostOptions
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
    # Instagram: the first comment's own state, when the publish asked for one.
    first_comment: FirstComment | None = None
    # TikTok video FILE_UPLOAD: the chunk plan, the chunks TikTok acknowledged, the upload URL.
    tiktok_upload: TikTokUpload | None = None
    # Counts the changes to the record: equal revisions of one publish are the same record.
    revision: int = 0
    # The replica whose run drives the publish, and until when its lease holds (renewed while
    # it runs). None: no run drives it (finished, or orphaned and waiting to be taken over).
    owner: str | None = None
    lease_until: datetime | None = None
    # A scheduled publish: when it is to run (None: it ran at once), and when its run
    # started (claimed due) or it was found MISSED; their difference is its lateness.
    schedule_time: datetime | None = None
    started_at: datetime | None = None
    # The W3C traceparent of the span that created the publish (None: not traced): the runs
    # that continue it later (scheduled, resumed, taken over, reconciled) link their spans to it.
    traceparent: str | None = None
    # Set only on a record a replica has just taken over (PublishLeases.claim_orphans): the
    # lease that lapsed. Not stored: the takeover's timeline event keeps it.
    lapsed: LapsedLease | None = None

    @property
    def start_lateness(self) -> timedelta | None:
        """How late a scheduled publish started after its time (None until it started)."""
        if self.schedule_time is None or self.started_at is None:
            return None
        return max(self.started_at - self.schedule_time, timedelta(0))

    @property
    def untouched(self) -> bool:
        """No platform id saved and no platform-changing call sent: its run has not begun."""
        return not (
            self.container_id or self.ig_media_id or self.tiktok_publish_id or self.call_in_flight
            or any(self.child_container_ids)
        )

    @property
    def image_count(self) -> int:
        return len(self.media_ids)

    @property
    def description(self) -> str:
        """What is published, in words: "Instagram carousel of 3 images", "Instagram Reel"."""
        label = self.platform.label
        if self.kind == PublishKind.IMAGE:
            return f"{label} image post"
        if self.kind == PublishKind.REEL:
            return f"{label} Reel"
        if self.kind == PublishKind.VIDEO:
            return f"{label} video"
        return f"{label} carousel of {self.image_count} images"

    @property
    def done(self) -> bool:
        """Terminal, and no run is driving it any more (facts a run reads right after the
        terminal state, such as Instagram's permalink, have been read or left to later)."""
        return self.state.terminal and self.owner is None

    @property
    def may_have_posted(self) -> bool:
        """Whether a platform may have made the post public: a post id is known, or a call
        that posts was sent and its answer never recorded. Such a publish is never failed
        or sent again blindly; when the truth cannot be found it ends UNCONFIRMED."""
        return bool(self.ig_media_id or self.tiktok_publish_id or self.call_in_flight)


@dataclass(frozen=True)
class PublishEvent:
    """One entry of a publish's timeline. `details` holds the platform's response summary."""

    type: str
    message: str
    state: PublishState | None = None
    details: dict[str, Any] = field(default_factory=dict)
    time: datetime | None = None
    # The store's row id: the order of events, internal (it counts every publish's events).
    id: int | None = None
    # Its place in its publish's timeline, from 1: what callers see.
    sequence: int = 0
    # The trace the change was made in (32 hex digits; "" when not traced).
    trace_id: str = ""


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
    # Schedule time bounds, [after, before): only scheduled publishes match either.
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    kind: PublishKind | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list: items plus the opaque token for the next page ("" at the end)."""

    items: list[Any]
    next_page_token: str
