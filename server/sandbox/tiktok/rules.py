"""What TikTok decides about a photo post's URLs, photos and text.

A photo's format and size come from what downloading it shows (`ImageFacts`: the sandbox
media host's real bytes when the emulator has one, else the URL convention the media host
serves; README.md, "Sandbox fail rules").
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from server.sandbox.media import ImageFacts, convention_facts

FAIL_REASONS = frozenset(
    {
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
        "internal",
        "video_pull_failed",
        "photo_pull_failed",
        "publish_cancelled",
        "auth_removed",
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "spam_risk_text",
        "spam_risk",
    }
)

MAX_SHORT_SIDE = 1080  # "Maximum 1080p", read as the shorter side (1086x1448 failed)
MAX_PHOTO_BYTES = 20_000_000  # "Maximum of 20MB for each image"
PHOTO_FORMATS = ("JPEG", "WEBP")  # "WebP, JPEG"

_SPAM_WORD = re.compile(r"\bspam\b", re.IGNORECASE)


def is_verified_url(url: str, properties: tuple[str, ...]) -> bool:
    """True if url belongs to a URL-prefix property or (https only) a domain property."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for prop in properties:
        if "://" in prop:
            if url.startswith(prop):
                return True
        elif parts.scheme == "https" and host:
            domain = prop.strip().lstrip(".").lower()
            if domain and (host == domain or host.endswith("." + domain)):
                return True
    return False


def sandbox_fail_reason(photo_images: list[str], title: str, facts: list[ImageFacts] | None = None) -> str | None:
    """The fail_reason the sandbox rules give a publish, or None if it succeeds. `facts`:
    what downloading each photo shows (default: the URL convention's answers)."""
    facts = facts if facts is not None else [convention_facts(url) for url in photo_images]
    if any(_pull_fails(url) or not f.reachable or f.timed_out for url, f in zip(photo_images, facts, strict=True)):
        return "photo_pull_failed"
    if any(f.format not in PHOTO_FORMATS for f in facts):
        return "file_format_check_failed"
    if any(min(f.width, f.height) > MAX_SHORT_SIDE or f.size > MAX_PHOTO_BYTES for f in facts):
        return "picture_size_check_failed"
    if _SPAM_WORD.search(title):
        return "spam_risk_text"
    return None


def photo_bytes(url: str) -> int:
    """A stable fake size for a photo, 150-500 kB (status reports downloaded_bytes)."""
    digest = hashlib.sha256(url.encode()).digest()
    return 150_000 + int.from_bytes(digest[:4], "big") % 350_000


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as TikTok ("UTF-16 runes") and JavaScript count it."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _pull_fails(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return "unreachable" in url.lower() or host == "invalid" or host.endswith(".invalid")


