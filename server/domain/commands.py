"""Commands: what a caller asks of the use cases, in domain terms (the transport converts
requests into these; the use cases validate them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.models import MediaKind, Platform, Storage
from server.domain.options import ImageOptions


@dataclass(frozen=True)
class ConnectRequest:
    platform: Platform | None
    external_account_id: str
    username: str
    access_token: str
    refresh_token: str
    access_token_expires_at: datetime | None
    refresh_token_expires_at: datetime | None

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"ConnectRequest(platform={self.platform}, external_account_id={self.external_account_id!r})"


@dataclass(frozen=True)
class MediaDraft:
    """A RegisterMedia request in domain terms; None/0 means "infer" or "unknown"."""

    url: str
    mime_type: str = ""
    kind: MediaKind | None = None
    storage: Storage | None = None
    width: int = 0
    height: int = 0
    size_bytes: int = 0


@dataclass(frozen=True)
class InstagramCarousel:
    media_ids: list[str]
    account_id: str
    caption: str = ""
    request_id: str = ""
    allow_duplicate: bool = False
    # When to publish; None (or within the tolerance of now): at once.
    publish_time: datetime | None = None
    # Post options: per image (empty, or one per media id), and on the carousel container.
    images: tuple[ImageOptions, ...] = ()
    collaborators: tuple[str, ...] = ()
    location_id: str = ""
    # Posted as its own step once the carousel is live.
    first_comment: str = ""


@dataclass(frozen=True)
class TikTokCarousel:
    media_ids: list[str]
    account_id: str
    caption: str = ""
    privacy_level: str = "SELF_ONLY"  # TikTok's value: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, ...
    post_mode: str = "DIRECT"  # DIRECT or INBOX
    cover_index: int = 0
    description: str = ""
    disable_comment: bool = False
    auto_add_music: bool = False
    request_id: str = ""
    allow_duplicate: bool = False
    # When to publish; None (or within the tolerance of now): at once.
    publish_time: datetime | None = None
    # Commercial content disclosure (direct mode only).
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False
    # What the caller declares about the creator's express consent to a direct post: True,
    # False, or None when the request does not say. Required True only when the operator
    # turns the rule on (TikTokPolicy's require_creator_consent).
    creator_consent_obtained: bool | None = None


@dataclass(frozen=True)
class InstagramMedia:
    """One image (a feed post) or one video (a Reel), by the media's kind."""

    media_id: str
    account_id: str
    caption: str = ""
    request_id: str = ""
    allow_duplicate: bool = False
    publish_time: datetime | None = None
    # Images: alt text; images and Reels: user tags.
    image: ImageOptions = ImageOptions()
    collaborators: tuple[str, ...] = ()
    location_id: str = ""
    first_comment: str = ""
    # Reels only.
    cover_url: str = ""
    thumb_offset_ms: int | None = None
    share_to_feed: bool | None = None

    @property
    def media_ids(self) -> list[str]:
        """The one media id, as the publishing template reads every request's media."""
        return [self.media_id]


@dataclass(frozen=True)
class TikTokVideo:
    """PublishTikTokVideo: one video. `media_ids` holds its one media id and `caption` its
    title, so the publishing template treats it like the carousels."""

    media_ids: list[str]
    account_id: str
    caption: str = ""
    privacy_level: str = "SELF_ONLY"
    post_mode: str = "DIRECT"
    disable_comment: bool = False
    disable_duet: bool = False
    disable_stitch: bool = False
    # The frame used as the cover, in milliseconds from the start; None: TikTok's choice.
    video_cover_timestamp_ms: int | None = None
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False
    # Labels the video as AI-generated content.
    is_aigc: bool = False
    request_id: str = ""
    allow_duplicate: bool = False
    publish_time: datetime | None = None
    creator_consent_obtained: bool | None = None


CarouselRequest = InstagramCarousel | TikTokCarousel | InstagramMedia | TikTokVideo

# The post options beyond the spec's fields, by request type, with their defaults: left out
# of a request's fingerprint while at their default (or None: not stated), so a request that
# does not use them has the fingerprint of its spec fields alone (a request_id recorded for it
# matches whichever version of a client sends it again).
OPTION_DEFAULTS: dict[type, dict[str, object]] = {
    InstagramCarousel: {"images": (), "collaborators": (), "location_id": "", "first_comment": ""},
    TikTokCarousel: {"brand_content_toggle": False, "brand_organic_toggle": False, "creator_consent_obtained": False},
    InstagramMedia: {"image": ImageOptions(), "collaborators": (), "location_id": "", "first_comment": "",
                     "cover_url": "", "thumb_offset_ms": None, "share_to_feed": None},
    TikTokVideo: {"creator_consent_obtained": False},
}


