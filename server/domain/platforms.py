"""What the platform ports speak: requests and answers in domain terms, and the one failure
every platform adapter raises.

The adapters own the platforms' wire formats and error tables; the use cases see only
these types. A failed call is always a `PlatformFailure` that has already been judged by
the adapter that made it, so the rules "may the same call be sent again?" and "may the
platform have acted on it?" live in one place per platform (its adapter) and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.models import PublishError


class PlatformFailure(Exception):
    """A platform call that did not succeed, judged by the adapter that made it.

    `error` is what a publish records when this failure ends it (canonical code, stable
    reason, message, the platform's code, subcode and trace id). `retryable`: the very same
    call may succeed if sent again (a transient error, or a call that is safe to repeat and
    was lost). `maybe_applied`: the platform may have acted on the call although it failed
    (its answer was lost after sending, or an error that can come after the work was done),
    so a call that posts must not be sent again blindly. `http_status` is 0 when no answer
    arrived at all.
    """

    def __init__(
        self,
        platform: str,
        endpoint: str,
        error: PublishError,
        *,
        retryable: bool,
        maybe_applied: bool = False,
        retry_after: float | None = None,
        http_status: int = 0,
    ) -> None:
        super().__init__(f"{platform} {endpoint}: {error.message}")
        self.platform = platform
        self.endpoint = endpoint
        self.error = error
        self.retryable = retryable
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after
        self.http_status = http_status

    @property
    def answered(self) -> bool:
        """Whether the platform answered at all (False: refused, reset or timed out)."""
        return self.http_status != 0

    def summary(self) -> dict[str, str]:
        """The platform's answer for a timeline event's details (never a secret)."""
        error = self.error
        return {
            "code": error.platform_code,
            "subcode": error.platform_subcode,
            "message": error.message,
            "trace_id": error.platform_trace_id,
            "http_status": str(self.http_status),
        }


# --- Instagram Graph API ----------------------------------------------------------------


@dataclass(frozen=True)
class ContainerStatus:
    """A media container's processing status. `error` is set (mapped by the adapter from the
    status text's error subcode) when `status_code` is ERROR."""

    id: str
    status_code: str  # IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED
    status: str  # human text; for ERROR it carries the error subcode
    error: PublishError | None = None


@dataclass(frozen=True)
class IgMedia:
    id: str
    permalink: str
    shortcode: str
    timestamp: str  # ISO 8601 as Graph gives it, e.g. 2026-11-29T10:00:00+0000
    caption: str | None = None  # only when asked for and the API gives it


@dataclass(frozen=True)
class IgComment:
    """A comment on an IG media, as GET /{ig-media-id}/comments lists it; `from_id` is the
    IG user id of its author ("" when the API did not say)."""

    id: str
    text: str
    from_id: str = ""


@dataclass(frozen=True)
class PublishingLimit:
    quota_usage: int
    quota_total: int
    quota_duration: int


# --- TikTok Content Posting API ---------------------------------------------------------


@dataclass(frozen=True)
class CreatorInfo:
    username: str
    nickname: str
    privacy_level_options: tuple[str, ...]
    comment_disabled: bool
    max_video_post_duration_sec: int | None = None  # None: TikTok did not say
    # Video only: Duet and Stitch turned off for the account (or it is private).
    duet_disabled: bool = False
    stitch_disabled: bool = False


@dataclass(frozen=True)
class PhotoPost:
    """A photo post to start, in TikTok's terms (the adapter builds the wire body)."""

    post_mode: str  # DIRECT_POST or MEDIA_UPLOAD
    photo_urls: list[str]
    cover_index: int
    title: str = ""
    description: str = ""
    privacy_level: str | None = None  # direct mode only
    disable_comment: bool = False
    auto_add_music: bool = False
    # Commercial content disclosure (direct mode only).
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False


@dataclass(frozen=True)
class VideoPost:
    """A video post to start, in TikTok's terms (the adapter builds the wire body): direct
    (post_info with the options) or inbox (source_info only), pulled from `video_url` or
    uploaded in the chunks `video_size`, `chunk_size` and `total_chunk_count` declare."""

    post_mode: str  # DIRECT_POST or MEDIA_UPLOAD
    source: str  # PULL_FROM_URL or FILE_UPLOAD
    video_url: str = ""
    video_size: int = 0
    chunk_size: int = 0
    total_chunk_count: int = 0
    title: str = ""
    privacy_level: str | None = None
    disable_comment: bool = False
    disable_duet: bool = False
    disable_stitch: bool = False
    video_cover_timestamp_ms: int | None = None
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False
    is_aigc: bool = False


@dataclass(frozen=True)
class VideoInit:
    """Init's answer: TikTok's publish_id and, for FILE_UPLOAD, where the chunks go."""

    publish_id: str
    upload_url: str = ""


@dataclass(frozen=True)
class PublishStatus:
    """A TikTok publish's status. `failure` is set (mapped by the adapter from the
    fail_reason) when `status` is FAILED."""

    status: str  # PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED, ...
    fail_reason: str = ""
    post_ids: tuple[str, ...] = field(default_factory=tuple)
    log_id: str = ""
    failure: PublishError | None = None


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    open_id: str

    def __repr__(self) -> str:
        return f"TokenGrant(open_id={self.open_id!r}, expires_in={self.expires_in}, <tokens redacted>)"
