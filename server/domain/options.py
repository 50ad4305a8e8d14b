"""Post options as a publish record keeps them: one typed value per platform, with the one
place for their defaults and for their record form (the JSON object both stores keep in the
publishes' `options` column).

A record's options are read with `options_from_record`, which takes every form ever stored:
a key that is missing is at its default, so records written before an option existed read as
they did. A new kind of post adds its options type here, with its own record form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True)
class UserTag:
    """A person tagged on an image, at (x, y) from its top-left corner, each 0.0 to 1.0."""

    username: str
    x: float
    y: float


@dataclass(frozen=True)
class ImageOptions:
    """One carousel image's options, sent on its item (child) container."""

    alt_text: str = ""
    user_tags: tuple[UserTag, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.alt_text and not self.user_tags


NO_IMAGE_OPTIONS = ImageOptions()


@dataclass(frozen=True)
class InstagramOptions:
    """Per image (empty, or one per media id), on the carousel container, and the first
    comment posted once the carousel is live."""

    images: tuple[ImageOptions, ...] = ()
    collaborators: tuple[str, ...] = ()
    location_id: str = ""
    first_comment: str = ""
    # Reels only: the cover, as an image URL (public form) or as a frame's offset in
    # milliseconds (None: Instagram's default, the first frame), and whether the Reel
    # also shows in the feed (None: Instagram's default).
    cover_url: str = ""
    thumb_offset_ms: int | None = None
    share_to_feed: bool | None = None

    def image(self, index: int) -> ImageOptions:
        """Item `index`'s options (none when the publish gave none for it)."""
        return self.images[index] if index < len(self.images) else NO_IMAGE_OPTIONS

    @property
    def empty(self) -> bool:
        return self == InstagramOptions()

    def to_record(self) -> dict[str, Any]:
        """The record form: JSON, each option left out while unset."""
        record: dict[str, Any] = {}
        if self.images:
            record["images"] = [
                {"alt_text": i.alt_text, "user_tags": [dataclasses.asdict(t) for t in i.user_tags]}
                for i in self.images
            ]
        if self.collaborators:
            record["collaborators"] = list(self.collaborators)
        if self.location_id:
            record["location_id"] = self.location_id
        if self.first_comment:
            record["first_comment"] = self.first_comment
        if self.cover_url:
            record["cover_url"] = self.cover_url
        if self.thumb_offset_ms is not None:
            record["thumb_offset_ms"] = self.thumb_offset_ms
        if self.share_to_feed is not None:
            record["share_to_feed"] = self.share_to_feed
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> InstagramOptions:
        images = record.get("images")
        return cls(
            images=tuple(_image(i) for i in images if isinstance(i, Mapping)) if isinstance(images, list) else (),
            collaborators=tuple(str(c) for c in record.get("collaborators") or ()),
            location_id=str(record.get("location_id") or ""),
            first_comment=str(record.get("first_comment") or ""),
            cover_url=str(record.get("cover_url") or ""),
            thumb_offset_ms=int(record["thumb_offset_ms"]) if record.get("thumb_offset_ms") is not None else None,
            share_to_feed=bool(record["share_to_feed"]) if record.get("share_to_feed") is not None else None,
        )


def _image(record: Mapping[str, Any]) -> ImageOptions:
    tags = tuple(
        UserTag(str(t["username"]), float(t["x"]), float(t["y"]))
        for t in record.get("user_tags") or () if isinstance(t, Mapping)
    )
    return ImageOptions(str(record.get("alt_text") or ""), tags)


# TikTok's post modes as this service names them (the request's), and TikTok's own.
DIRECT = "DIRECT"
INBOX = "INBOX"


@dataclass(frozen=True)
class TikTokOptions:
    """A TikTok photo post's options. The privacy level and the toggles exist for direct
    posts only (an inbox delivery is finished in TikTok's app): None / False there."""

    post_mode: str = DIRECT
    cover_index: int = 0
    description: str = ""
    # TikTok's value (PUBLIC_TO_EVERYONE, SELF_ONLY, ...); None for an inbox delivery.
    privacy_level: str | None = None
    disable_comment: bool = False
    auto_add_music: bool = False
    brand_content_toggle: bool = False
    brand_organic_toggle: bool = False
    # What the caller declared about the creator's consent (True, False, or None: not said):
    # audit evidence of TikTok's consent requirement.
    creator_consent_obtained: bool | None = None
    # The creator's TikTok nickname as creator_info gave it when the post was checked.
    creator_nickname: str = ""
    # What TikTok is sent instead of the caption and description as given, and why
    # (server/domain/tiktok_text.py: a caption longer than TikTok's title goes whole into the
    # description); empty when they are sent as given.
    platform_title: str = ""
    platform_description: str = ""
    text_fitted: str = ""
    # disable_comment is sent true because the creator turned comments off for their account
    # (creator_info comment_disabled), not because the request asked.
    comments_disabled_by_creator: bool = False
    # A video post's own (PublishTikTokVideo); at their defaults for a photo post. How the
    # video reaches TikTok (PULL_FROM_URL or FILE_UPLOAD; "" for photos), its interaction
    # toggles (direct posts only), the cover frame (None: TikTok's choice) and the AI label.
    source: str = ""
    disable_duet: bool = False
    disable_stitch: bool = False
    video_cover_timestamp_ms: int | None = None
    is_aigc: bool = False
    # The creator's longest video (creator_info max_video_post_duration_sec) when it was
    # checked; 0 when not asked.
    max_video_post_duration_sec: int = 0

    @property
    def direct(self) -> bool:
        return self.post_mode == DIRECT

    @property
    def public(self) -> bool:
        return self.privacy_level == "PUBLIC_TO_EVERYONE"

    def to_record(self) -> dict[str, Any]:
        """The record form: JSON; the direct-post options only for a direct post, the
        nickname only once known."""
        record: dict[str, Any] = {
            "post_mode": self.post_mode, "cover_index": self.cover_index, "description": self.description,
        }
        if self.direct:
            record.update(
                privacy_level=self.privacy_level,
                disable_comment=self.disable_comment,
                auto_add_music=self.auto_add_music,
                brand_content_toggle=self.brand_content_toggle,
                brand_organic_toggle=self.brand_organic_toggle,
                creator_consent_obtained=self.creator_consent_obtained,
            )
        if self.creator_nickname:
            record["creator_nickname"] = self.creator_nickname
        if self.text_fitted:
            record.update(
                platform_title=self.platform_title, platform_description=self.platform_description,
                text_fitted=self.text_fitted,
            )
        if self.comments_disabled_by_creator:
            record["comments_disabled_by_creator"] = True
        if self.source:
            record.update(source=self.source, is_aigc=self.is_aigc)
            if self.direct:
                record.update(disable_duet=self.disable_duet, disable_stitch=self.disable_stitch)
            if self.video_cover_timestamp_ms is not None:
                record["video_cover_timestamp_ms"] = self.video_cover_timestamp_ms
            if self.max_video_post_duration_sec:
                record["max_video_post_duration_sec"] = self.max_video_post_duration_sec
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TikTokOptions:
        declared = record.get("creator_consent_obtained")
        privacy = record.get("privacy_level")
        return cls(
            post_mode=str(record.get("post_mode") or DIRECT),
            cover_index=int(record.get("cover_index") or 0),
            description=str(record.get("description") or ""),
            privacy_level=str(privacy) if privacy else None,
            disable_comment=bool(record.get("disable_comment", False)),
            auto_add_music=bool(record.get("auto_add_music", False)),
            brand_content_toggle=bool(record.get("brand_content_toggle", False)),
            brand_organic_toggle=bool(record.get("brand_organic_toggle", False)),
            creator_consent_obtained=declared if isinstance(declared, bool) else None,
            creator_nickname=str(record.get("creator_nickname") or ""),
            platform_title=str(record.get("platform_title") or ""),
            platform_description=str(record.get("platform_description") or ""),
            text_fitted=str(record.get("text_fitted") or ""),
            comments_disabled_by_creator=bool(record.get("comments_disabled_by_creator", False)),
            source=str(record.get("source") or ""),
            disable_duet=bool(record.get("disable_duet", False)),
            disable_stitch=bool(record.get("disable_stitch", False)),
            video_cover_timestamp_ms=int(cover) if isinstance(cover := record.get("video_cover_timestamp_ms"), int)
            else None,
            is_aigc=bool(record.get("is_aigc", False)),
            max_video_post_duration_sec=int(record.get("max_video_post_duration_sec") or 0),
        )


PostOptions: TypeAlias = InstagramOptions | TikTokOptions


def options_from_record(platform: str, record: Mapping[str, Any] | None) -> PostOptions:
    """A record's options from its stored form (any form ever stored) for its platform
    ("INSTAGRAM" or "TIKTOK", the Platform's value)."""
    if platform == "TIKTOK":
        return TikTokOptions.from_record(record or {})
    return InstagramOptions.from_record(record or {})
