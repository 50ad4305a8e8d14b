"""The sandbox's media URL convention: what file a URL stands for, read from the URL alone.

The media host serves these files; the platform emulators read the same convention when
they have no media host to ask (README.md). No aiohttp here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_SIZE = (1080, 1080)
MAX_SIDE = 12_000
MAX_PIXELS = 60_000_000
MAX_WEBP_SIDE = 16_383
MAX_PADDED_BYTES = 64 << 20
MAX_META_BYTES = 16 << 20
DEFAULT_SLOW_SECONDS = 30.0

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_EXTENSIONS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF",
    ".mp4": "MP4", ".mov": "MP4",
}
_AS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "mp4": "MP4", "text": "TEXT"}
_UNITS = {"kb": 1000, "kib": 1 << 10, "mb": 1000 * 1000, "mib": 1 << 20}
_SEP = r"(?:^|(?<=[-_.]))"
_END = r"(?=$|[-_.])"
_SIZE = re.compile(r"(?<![0-9])([0-9]{1,5})[xX]([0-9]{1,5})(?![0-9])")
_FORMAT = re.compile(_SEP + r"as-(jpe?g|png|webp|gif|mp4|text)" + _END)
_META = re.compile(_SEP + r"meta-([0-9]{1,9})(kib|kb|mib|mb)" + _END)
_PADDED = re.compile(_SEP + r"([0-9]{1,9})(kib|kb|mib|mb)" + _END)
_SLOW = re.compile(_SEP + r"slow(?:-([0-9]{1,4}(?:\.[0-9]{1,3})?)s)?" + _END)


@dataclass(frozen=True)
class MediaSpec:
    """The file a sandbox URL stands for."""

    format: str  # JPEG, PNG, WEBP, GIF (images), MP4 (a video stub) or TEXT (no media)
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    total_bytes: int | None = None  # padded to exactly this many bytes; None: the image as made
    meta_bytes: int = 0  # JPEG only: this much metadata before the frame header
    unreachable: bool = False
    slow_seconds: float = 0.0  # the host waits this long before answering

    @property
    def is_image(self) -> bool:
        return self.format in IMAGE_FORMATS


class NotServed(ValueError):
    """The URL asks for a file the sandbox will not make (too large)."""


def spec_for_url(url: str) -> MediaSpec:
    """The spec of an https (or gs://) URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if parts.scheme == "gs":
        host, path = "storage.googleapis.com", f"/{parts.netloc}{parts.path}"
    return spec_for(host, unquote(path), url)


def spec_for(host: str, path: str, whole: str = "") -> MediaSpec:
    """The spec of the file at `path` on `host` (`whole`: the URL, for the unreachable rule)."""
    name = posixpath.basename(path)
    stem, extension = posixpath.splitext(name.lower())
    text = (whole or f"{host}{path}").lower()
    unreachable = "unreachable" in text or host == "invalid" or host.endswith(".invalid")
    fmt = _EXTENSIONS.get(extension, "TEXT")
    as_format = _FORMAT.findall(stem)
    if as_format:
        fmt = _AS[as_format[-1]]
    width, height = DEFAULT_SIZE
    sizes = _SIZE.findall(stem)
    if sizes:
        width, height = (int(v) for v in sizes[-1])
    meta = 0
    for number, unit in _META.findall(stem):
        meta = int(number) * _UNITS[unit]
    stem_without_meta = _META.sub("", stem)
    padded = [int(n) * _UNITS[u] for n, u in _PADDED.findall(stem_without_meta)]
    slow = 0.0
    for seconds in _SLOW.findall(stem):
        slow = float(seconds) if seconds else DEFAULT_SLOW_SECONDS
    spec = MediaSpec(
        format=fmt, width=width, height=height, total_bytes=padded[-1] if padded else None,
        meta_bytes=meta if fmt == "JPEG" else 0, unreachable=unreachable, slow_seconds=slow,
    )
    _check(spec)
    return spec


def _check(spec: MediaSpec) -> None:
    if not spec.is_image:
        return
    if not (1 <= spec.width <= MAX_SIDE and 1 <= spec.height <= MAX_SIDE) or spec.width * spec.height > MAX_PIXELS:
        raise NotServed(f"{spec.width}x{spec.height} is beyond what the sandbox makes "
                        f"(sides 1-{MAX_SIDE} px, at most {MAX_PIXELS:,} pixels)")
    if spec.format == "WEBP" and max(spec.width, spec.height) > MAX_WEBP_SIDE:
        raise NotServed(f"WebP images have sides of at most {MAX_WEBP_SIDE} px")
    if spec.total_bytes is not None and spec.total_bytes > MAX_PADDED_BYTES:
        raise NotServed(f"files of at most {MAX_PADDED_BYTES:,} bytes are served")
    if spec.meta_bytes > MAX_META_BYTES:
        raise NotServed(f"at most {MAX_META_BYTES:,} bytes of metadata are made")


def host_path(url: str) -> str:
    """Where the media host serves an https (or gs://) URL: /<host>/<path>[?query]."""
    parts = urlsplit(url)
    if parts.scheme == "gs":
        return f"/storage.googleapis.com/{parts.netloc}{parts.path}"
    query = f"?{parts.query}" if parts.query else ""
    return f"/{(parts.hostname or '').lower()}{parts.path}{query}"
