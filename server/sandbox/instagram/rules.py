"""What Instagram would refuse in a post: its image rules and caption limits.

The image rules read what a download of the image would show (`ImageFacts`: from the
sandbox media host's real bytes when the emulator has one, else from the URL convention the
media host serves; README.md, "Image fetch").
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from server.sandbox.instagram.errors import GraphError
from server.sandbox.media import ClipFacts, ImageFacts

MIN_CHILDREN, MAX_CHILDREN = 2, 10
MAX_CAPTION_CHARS, MAX_HASHTAGS, MAX_MENTIONS = 2200, 30, 20
MIN_ASPECT, MAX_ASPECT = 0.8, 1.91
# Error 36000/2207004 says "< 8 MiB" (the docs say "8 MB"); the emulator takes the error's word.
MAX_IMAGE_BYTES = 8 << 20

FETCH_FAILED, DOWNLOAD_TIMEOUT, TOO_LARGE, BAD_FORMAT, BAD_ASPECT = 2207052, 2207003, 2207004, 2207005, 2207009
# Reels: "The video format is not supported" (352/2207026), "Thumbnail offset out of video
# duration" (1/2207057), and "unknown upload error" (-1/2207053), which the emulator gives a
# video outside the other Reel specs (Meta lists no subcode of its own for them).
VIDEO_FORMAT, THUMB_OFFSET, VIDEO_UPLOAD = 2207026, 2207057, 2207053
REEL_CONTAINERS, REEL_CODECS = ("MP4", "MOV"), ("h264", "hevc")
MIN_REEL_SECONDS, MAX_REEL_SECONDS, MIN_REEL_FPS, MAX_REEL_FPS = 3.0, 900.0, 23, 60

_HASHTAG_RE = re.compile(r"(?<!\w)#\w+")
_MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")


def fetch_failure(image_url: str, facts: ImageFacts) -> int | None:
    """The 22070xx subcode Instagram's download of the image ends in, or None if it is fine:
    unfetchable or not an image (9004 "Only photo or video can be accepted as media type"),
    too slow, not JPEG ("JPEG is the only image format supported"; PNG, WebP and MPO too are
    refused), over 8 MiB, or an aspect ratio outside 4:5..1.91:1."""
    try:
        parts = urlsplit(image_url)
        host = parts.hostname or ""
    except ValueError:
        return FETCH_FAILED
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or host == "invalid"
        or host.endswith(".invalid")
        or "unreachable" in image_url.lower()
        or not facts.reachable
    ):
        return FETCH_FAILED
    if facts.timed_out:
        return DOWNLOAD_TIMEOUT
    if not facts.format:
        return FETCH_FAILED
    if facts.format != "JPEG":
        return BAD_FORMAT
    if facts.size > MAX_IMAGE_BYTES:
        return TOO_LARGE
    if facts.height == 0 or not MIN_ASPECT <= facts.width / facts.height <= MAX_ASPECT:
        return BAD_ASPECT
    return None


def reel_failure(video_url: str, thumb_offset_ms: int | None, clip: ClipFacts) -> int | None:
    """The subcode a Reel's processing ends in (its container turns ERROR), or None: what
    downloading the video shows (`clip`: the media host's real bytes, or the URL convention)."""
    if "unreachable" in video_url.lower() or not clip.reachable:
        return FETCH_FAILED
    if clip.container not in REEL_CONTAINERS or clip.video_codec not in REEL_CODECS:
        return VIDEO_FORMAT
    if not MIN_REEL_SECONDS <= clip.seconds <= MAX_REEL_SECONDS or not MIN_REEL_FPS <= clip.fps <= MAX_REEL_FPS:
        return VIDEO_UPLOAD
    if thumb_offset_ms is not None and thumb_offset_ms > clip.seconds * 1000:
        return THUMB_OFFSET
    return None


def check_caption(caption: str) -> None:
    """Raises the GraphError Instagram answers for a caption over its limits."""
    if len(caption) > MAX_CAPTION_CHARS:
        raise _caption_error(f"was {len(caption)} characters long (maximum {MAX_CAPTION_CHARS})")
    hashtags = len(_HASHTAG_RE.findall(caption))
    if hashtags > MAX_HASHTAGS:
        raise _caption_error(f"has {hashtags} hashtags (maximum {MAX_HASHTAGS})")
    mentions = len(_MENTION_RE.findall(caption))
    if mentions > MAX_MENTIONS:
        raise _too_many_mentions(mentions)


def _caption_error(detail: str) -> GraphError:
    return GraphError(
        36004,
        f"The caption is too long: {detail}",
        subcode=2207010,
        user_title="Caption too long",
        user_msg=f"The caption {detail}. Use at most 2200 characters, 30 hashtags and 20 @ tags.",
    )


def _too_many_mentions(count: int) -> GraphError:
    return GraphError(
        100,
        f"Cannot use more than {MAX_MENTIONS} tags per created media.",
        subcode=2207040,
        user_title="Too many tags",
        user_msg=f"The caption has {count} @ tags; the maximum is {MAX_MENTIONS}.",
    )
