"""Platform limits on what may be published, one table per platform. Validation uses them
and error messages quote them. (Request rate limits are the platform adapters' business.)

Sources: docs/platforms.md ("Instagram limits", "TikTok photo limits", "TikTok caption
length"), which cites the platforms' public pages (the quotes below are theirs). Where a
source is uncertain the comment says so, and the value is the safer one: the reading under
which a publish we let through cannot fail at the platform for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstagramLimits:
    min_items: int = 2  # "Carousel size", error 2207028
    max_items: int = 10  # "Carousel size"; >10 children fails
    caption_max_chars: int = 2200  # "Caption", error 2207010
    caption_max_hashtags: int = 30  # "Caption"
    caption_max_mentions: int = 20  # "Caption", error 2207040
    # "Image format": "JPEG is the only image format supported. Extended JPEG formats such
    # as MPO and JPS are not supported." (error 36001/2207005). PNG sometimes gets through in
    # practice (postiz #1547, #1900); not relied on.
    image_mime_types: tuple[str, ...] = ("image/jpeg",)
    # "Image size": the docs say "8 MB max", the error text of 36000/2207004 says "< 8 MiB".
    # UNCERTAIN which; the smaller, 8 MB = 8,000,000 bytes, is used.
    max_image_bytes: int = 8_000_000
    # "Aspect ratio": "Must be within a 4:5 to 1.91:1 range" (error 36003/2207009), as
    # width:height fractions compared exactly (no float rounding at the edges).
    min_aspect: tuple[int, int] = (4, 5)
    max_aspect: tuple[int, int] = (191, 100)
    # "Width": "min 320 (scaled up), max 1440 (scaled down)". UNCERTAIN whether either end
    # is ever refused: the docs say both are scaled. Narrower than 320 px is refused (an
    # image that small is almost surely a mistake, and the safer side of an undocumented
    # upscale); wider than 1440 px is not (Instagram documents scaling it down, and refusing
    # it would refuse every phone photo).
    min_width: int = 320
    scaled_down_above_width: int = 1440
    # --- post options (instagram-graph-api.md "Key parameters";
    # post-options-media-and-events.md "Options peers expose") ---
    # alt_text: "Image posts only, up to 1000 characters" (Meta's media reference; one
    # secondary source says the same).
    alt_text_max_chars: int = 1000
    # user_tags: x and y are floats from 0.0 to 1.0. The API docs give no count limit;
    # Instagram's app takes at most 20 people per photo, so 20 per image (the safer side).
    max_user_tags_per_image: int = 20
    # collaborators: "up to 3 usernames", carousel container only.
    max_collaborators: int = 3
    # Instagram usernames: letters, digits, "." and "_", at most 30 characters (Instagram's
    # sign-up rule; the API docs are silent). A leading "@" is stripped first (postiz #1547).
    username_max_chars: int = 30
    # First comment (POST /{ig-media-id}/comments?message=...): Meta documents no length; a
    # secondary source gives 2200 characters, the caption's limit, used here.
    first_comment_max_chars: int = 2200
    # A location_id is a Facebook Page id: digits. No documented length; 32 bounds it.
    location_id_max_chars: int = 32
    # --- Reels (single video posts), "Reel specs" on Meta's IG User Media reference ---
    # "MOV or MP4" (error 2207026 "The video format is not supported"); as FFmpeg names them.
    reel_containers: tuple[str, ...] = ("mp4", "mov")
    # "HEVC or H264, progressive scan, closed GOP, 4:2:0 chroma subsampling".
    reel_video_codecs: tuple[str, ...] = ("h264", "hevc")
    # "AAC, 48khz sample rate maximum, 1 or 2 channels": a Reel may also have no sound.
    reel_audio_codecs: tuple[str, ...] = ("aac",)
    # "23-60 FPS".
    reel_min_fps: float = 23.0
    reel_max_fps: float = 60.0
    # "Maximum columns (horizontal pixels): 1920".
    reel_max_width: int = 1920
    # "0.01:1 to 10:1, but we recommend 9:16": exact fractions, as for images.
    reel_min_aspect: tuple[int, int] = (1, 100)
    reel_max_aspect: tuple[int, int] = (10, 1)
    # "3 seconds minimum, 15 minutes maximum".
    reel_min_duration_ms: int = 3_000
    reel_max_duration_ms: int = 15 * 60_000
    # "300MB maximum". UNCERTAIN whether 300×10⁶ or 300×2²⁰; the smaller is used.
    reel_max_bytes: int = 300_000_000
    # cover_url: "JPEG, 8MB maximum" like feed images; thumb_offset is milliseconds into
    # the video (error 2207057 "Thumbnail offset out of video duration").


@dataclass(frozen=True)
class TikTokLimits:
    min_items: int = 2  # photo post: a carousel needs at least two
    max_items: int = 35  # photo_images "up to 35"
    # The spec: "Optional caption, up to 90 characters", counted as Unicode code points.
    caption_max_chars: int = 90
    # TikTok counts UTF-16 code units ("runes"): an emoji outside the BMP counts 2, a joined
    # one the sum of its parts (docs/platforms.md, "TikTok caption length"). A caption the
    # spec takes but the title cannot hold is sent as the description (tiktok_text.py).
    title_max_utf16: int = 90  # post_info.title (photo)
    description_max_utf16: int = 4000  # post_info.description (photo)
    # "Formats": "WebP, JPEG only (so no PNG)" (file_format_check_failed). WebP is listed
    # by TikTok's media transfer guide (one peer calls it unverified).
    # MPO (multi-picture JPEG) is not JPEG here: the safer side.
    image_mime_types: tuple[str, ...] = ("image/jpeg", "image/webp")
    # "File size": "Maximum of 20MB for each image". UNCERTAIN whether 20×10⁶ or 20×2²⁰
    # bytes; the smaller, 20,000,000, is used.
    max_image_bytes: int = 20_000_000
    # "Picture size": "Maximum 1080p". UNCERTAIN what it measures; a 1086×1448 image failed
    # a whole carousel with picture_size_check_failed (postiz PR #1875) and a 1254×1254 one
    # failed (trypost PR #120), so the shorter side must be at most 1080 px (the safe
    # rule). The long side has no documented limit (1920 is a third-party claim) and is
    # not checked.
    max_short_side: int = 1080
    # "URL ownership": photos are pulled from URLs on a domain or prefix verified for the
    # app; this service's TikTok app pulls from Google Cloud Storage only (gs:// URLs, whose
    # public form is https://storage.googleapis.com/BUCKET/OBJECT, and that host's forms).
    pull_storage: str = "GCS"
    # --- video, "Video restrictions" in TikTok's media transfer guide ---
    # "MP4 (recommended), WebM, MOV", as FFmpeg names the containers.
    video_containers: tuple[str, ...] = ("mp4", "webm", "mov")
    # "H.264 (recommended), H.265, VP8, VP9".
    video_codecs: tuple[str, ...] = ("h264", "hevc", "vp8", "vp9")
    # "Frame rates: 23 to 60 FPS".
    video_min_fps: float = 23.0
    video_max_fps: float = 60.0
    # "Picture size: 360 pixels minimum, 4096 pixels maximum" on each side.
    video_min_side: int = 360
    video_max_side: int = 4096
    # "Maximum of 4GB". UNCERTAIN whether 4×10⁹ or 4×2³⁰; the smaller is used.
    video_max_bytes: int = 4_000_000_000
    # "All TikTok creators can post 10-minute videos via the API", within the creator's
    # own max_video_post_duration_sec (creator_info), checked on its own. No minimum is
    # documented.
    video_max_duration_ms: int = 10 * 60_000


INSTAGRAM = InstagramLimits()
TIKTOK = TikTokLimits()

# Request-size limits that protect the service itself (hostile input), checked first.
MAX_ID_LENGTH = 64
MAX_URL_LENGTH = 2048
MAX_USERNAME_LENGTH = 256
MAX_TOKEN_LENGTH = 4096
MAX_MEDIA_IDS = 64

# A platform cap counted over a rolling 24 hours (Instagram's posts per account, TikTok's
# posts per creator, pending shares, active creators per app) frees as its oldest entry ages
# out, which neither platform says: an hour is the first wait RetryInfo suggests.
ROLLING_DAY_RETRY_AFTER_SECONDS = 3600.0
