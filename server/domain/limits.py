"""Platform limits on what may be published, one table per platform. Validation uses them
and error messages quote them. (Request rate limits are the platform adapters' business.)

Sources: ../shared/reference/instagram-graph-api.md §6 and tiktok-content-posting-api.md §1, §4.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstagramLimits:
    min_items: int = 2
    max_items: int = 10
    caption_max_chars: int = 2200
    caption_max_hashtags: int = 30
    caption_max_mentions: int = 20


@dataclass(frozen=True)
class TikTokLimits:
    min_items: int = 2
    max_items: int = 35
    # TikTok counts UTF-16 code units ("runes"): an emoji outside the BMP counts 2.
    title_max_utf16: int = 90
    description_max_utf16: int = 4000
    image_mime_types: tuple[str, ...] = ("image/jpeg", "image/webp")


INSTAGRAM = InstagramLimits()
TIKTOK = TikTokLimits()

# Request-size limits that protect the service itself (hostile input), checked first.
MAX_ID_LENGTH = 64
MAX_URL_LENGTH = 2048
MAX_USERNAME_LENGTH = 256
MAX_TOKEN_LENGTH = 4096
MAX_MEDIA_IDS = 64
