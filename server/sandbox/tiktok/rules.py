"""What TikTok decides about a photo post's URLs and text.

The sandbox never downloads a photo: its URL decides whether the publish fails and how
(README.md, "Sandbox fail rules").
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from urllib.parse import urlsplit

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

MAX_SHORT_SIDE = 1080
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".webp")

_SIZE_IN_NAME = re.compile(r"(\d+)[xX](\d+)")
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


def sandbox_fail_reason(photo_images: list[str], title: str) -> str | None:
    """The fail_reason the sandbox rules give a publish, or None if it succeeds."""
    if any(_pull_fails(url) for url in photo_images):
        return "photo_pull_failed"
    if any(_format_fails(url) for url in photo_images):
        return "file_format_check_failed"
    if any(_size_fails(url) for url in photo_images):
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


def _file_name(url: str) -> str:
    return posixpath.basename(urlsplit(url).path)


def _format_fails(url: str) -> bool:
    extension = posixpath.splitext(_file_name(url))[1].lower()
    return extension not in PHOTO_EXTENSIONS


def _size_fails(url: str) -> bool:
    for width, height in _SIZE_IN_NAME.findall(_file_name(url)):
        if min(int(width), int(height)) > MAX_SHORT_SIDE:
            return True
    return False
