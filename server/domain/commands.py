"""Commands: what a caller asks of the use cases, in domain terms (the transport converts
requests into these; the use cases validate them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.models import MediaKind, Platform, Storage


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


CarouselRequest = InstagramCarousel | TikTokCarousel


