"""Platform limits on what may be published, one table per platform. Validation uses them
and error messages quote them. (Request rate limits are the platform adapters' business.)

Sources, all in ../shared/reference/: instagram-graph-api.md (§6 limits, §8 errors),
tiktok-content-posting-api.md (§1 photo post, §4 photo limits and URL ownership) and
post-options-media-and-events.md ("Media rules"). Where a source is uncertain the comment
says so, and the value is the safer one: the reading under which a publish we let through
cannot fail at the platform for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstagramLimits:
    min_items: int = 2  # §6 "Carousel size", error 2207028
    max_items: int = 10  # §6 "Carousel size"; >10 children fails
    caption_max_chars: int = 2200  # §6 "Caption", error 2207010
    caption_max_hashtags: int = 30  # §6 "Caption"
    caption_max_mentions: int = 20  # §6 "Caption", error 2207040
    # §6 "Image format": "JPEG is the only image format supported. Extended JPEG formats such
    # as MPO and JPS are not supported." (error 36001/2207005). PNG sometimes gets through in
    # practice (postiz #1547, #1900); not relied on.
    image_mime_types: tuple[str, ...] = ("image/jpeg",)
    # §6 "Image size": the docs say "8 MB max", the error text of 36000/2207004 says "< 8 MiB".
    # UNCERTAIN which; the smaller, 8 MB = 8,000,000 bytes, is used.
    max_image_bytes: int = 8_000_000
    # §6 "Aspect ratio": "Must be within a 4:5 to 1.91:1 range" (error 36003/2207009), as
    # width:height fractions compared exactly (no float rounding at the edges).
    min_aspect: tuple[int, int] = (4, 5)
    max_aspect: tuple[int, int] = (191, 100)
    # §6 "Width": "min 320 (scaled up), max 1440 (scaled down)". UNCERTAIN whether either end
    # is ever refused: the docs say both are scaled. Narrower than 320 px is refused (an
    # image that small is almost surely a mistake, and the safer side of an undocumented
    # upscale); wider than 1440 px is not (Instagram documents scaling it down, and refusing
    # it would refuse every phone photo).
    min_width: int = 320
    scaled_down_above_width: int = 1440
    # --- post options (instagram-graph-api.md §2 "Key parameters";
    # post-options-media-and-events.md "Options peers expose") ---
    # §2 alt_text: "Image posts only, up to 1000 characters" (Meta's media reference; one
    # secondary source says the same).
    alt_text_max_chars: int = 1000
    # §2 user_tags: x and y are floats from 0.0 to 1.0. The API docs give no count limit;
    # Instagram's app takes at most 20 people per photo, so 20 per image (the safer side).
    max_user_tags_per_image: int = 20
    # §2 collaborators: "up to 3 usernames", carousel container only.
    max_collaborators: int = 3
    # Instagram usernames: letters, digits, "." and "_", at most 30 characters (Instagram's
    # sign-up rule; the API docs are silent). A leading "@" is stripped first (postiz #1547).
    username_max_chars: int = 30
    # First comment (POST /{ig-media-id}/comments?message=...): Meta documents no length; a
    # secondary source gives 2200 characters, the caption's limit, used here.
    first_comment_max_chars: int = 2200
    # A location_id is a Facebook Page id: digits. No documented length; 32 bounds it.
    location_id_max_chars: int = 32


@dataclass(frozen=True)
class TikTokLimits:
    min_items: int = 2  # photo post: a carousel needs at least two
    max_items: int = 35  # §1 photo_images "up to 35"
    # TikTok counts UTF-16 code units ("runes"): an emoji outside the BMP counts 2.
    title_max_utf16: int = 90  # §1 post_info.title (photo)
    description_max_utf16: int = 4000  # §1 post_info.description (photo)
    # §4 "Formats": "WebP, JPEG only (so no PNG)" (file_format_check_failed). WebP is listed
    # by TikTok's media page; post-options-media-and-events.md calls it unverified at TikTok.
    # MPO (multi-picture JPEG) is not JPEG here: the safer side.
    image_mime_types: tuple[str, ...] = ("image/jpeg", "image/webp")
    # §4 "File size": "Maximum of 20MB for each image". UNCERTAIN whether 20×10⁶ or 20×2²⁰
    # bytes; the smaller, 20,000,000, is used.
    max_image_bytes: int = 20_000_000
    # §4 "Picture size": "Maximum 1080p". UNCERTAIN what it measures; a 1086×1448 image failed
    # a whole carousel with picture_size_check_failed (postiz PR #1875) and a 1254×1254 one
    # failed (trypost PR #120), so the shorter side must be at most 1080 px (the fact sheet's
    # safe rule). The long side has no documented limit (1920 is a third-party claim) and is
    # not checked.
    max_short_side: int = 1080
    # §4 "URL ownership": photos are pulled from URLs on a domain or prefix verified for the
    # app; this service's TikTok app pulls from Google Cloud Storage only (gs:// URLs, whose
    # public form is https://storage.googleapis.com/BUCKET/OBJECT, and that host's forms).
    pull_storage: str = "GCS"


INSTAGRAM = InstagramLimits()
TIKTOK = TikTokLimits()

# Request-size limits that protect the service itself (hostile input), checked first.
MAX_ID_LENGTH = 64
MAX_URL_LENGTH = 2048
MAX_USERNAME_LENGTH = 256
MAX_TOKEN_LENGTH = 4096
MAX_MEDIA_IDS = 64
