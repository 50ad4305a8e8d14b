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
VIDEO_FORMATS = ("MP4", "MOV", "WEBM", "AVI", "MKV")
# Videos: a 9:16 picture small enough to make in a blink, unless the name says otherwise.
DEFAULT_VIDEO_SIZE = (720, 1280)
DEFAULT_VIDEO_SECONDS = 4.0
DEFAULT_VIDEO_FPS = 30
MAX_VIDEO_SIDE = 4096
MAX_VIDEO_FRAMES = 20_000
# The codec each video container gets unless the name picks another (`mpeg4`, `vp9`, `h264`).
_DEFAULT_CODECS = {"MP4": "h264", "MOV": "h264", "WEBM": "vp9", "AVI": "mpeg4", "MKV": "h264"}
VIDEO_CODECS = ("h264", "mpeg4", "vp9")
_EXTENSIONS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF",
    ".mp4": "MP4", ".mov": "MOV", ".webm": "WEBM", ".avi": "AVI", ".mkv": "MKV",
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
_SECONDS = re.compile(r"(?<![0-9a-z.])([0-9]{1,4}(?:\.[0-9]{1,3})?)s" + _END)
_FPS = re.compile(_SEP + r"([0-9]{1,3})fps" + _END)
_CODEC = re.compile(_SEP + r"(h264|mpeg4|vp9)" + _END)
_MOOV_END = re.compile(_SEP + r"moov-end" + _END)
_SILENT = re.compile(_SEP + r"silent" + _END)
_NOISE = re.compile(_SEP + r"noise" + _END)


@dataclass(frozen=True)
class VideoSpec:
    """A video the media host makes with PyAV: one grey picture (or noise) and silence."""

    seconds: float = DEFAULT_VIDEO_SECONDS
    fps: int = DEFAULT_VIDEO_FPS
    codec: str = "h264"  # h264, mpeg4 (MPEG-4 Part 2) or vp9
    audio: bool = True  # AAC (Opus in WebM)
    moov_at_end: bool = False  # MP4/MOV: the index after the media data, not before it
    noise: bool = False  # random pictures: a large file (about 5 MB a second at 720x1280)


@dataclass(frozen=True)
class MediaSpec:
    """The file a sandbox URL stands for."""

    format: str  # JPEG, PNG, WEBP, GIF (images), MP4, MOV, WEBM, AVI, MKV (videos) or TEXT (no media)
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    total_bytes: int | None = None  # padded to exactly this many bytes; None: the image as made
    meta_bytes: int = 0  # JPEG only: this much metadata before the frame header
    unreachable: bool = False
    slow_seconds: float = 0.0  # the host waits this long before answering
    video: VideoSpec | None = None  # what a video is made of; None for images and text

    @property
    def is_video(self) -> bool:
        return self.format in VIDEO_FORMATS

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
    width, height = DEFAULT_VIDEO_SIZE if fmt in VIDEO_FORMATS else DEFAULT_SIZE
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
        video=_video_spec(fmt, _SLOW.sub("", stem)) if fmt in VIDEO_FORMATS else None,
    )
    _check(spec)
    return spec


def _video_spec(fmt: str, stem: str) -> VideoSpec:
    seconds = [float(v) for v in _SECONDS.findall(stem)]
    fps = [int(v) for v in _FPS.findall(stem)]
    codecs = _CODEC.findall(stem)
    return VideoSpec(
        seconds=seconds[-1] if seconds else DEFAULT_VIDEO_SECONDS,
        fps=fps[-1] if fps else DEFAULT_VIDEO_FPS,
        codec=codecs[-1] if codecs else _DEFAULT_CODECS[fmt],
        audio=not _SILENT.search(stem),
        moov_at_end=bool(_MOOV_END.search(stem)),
        noise=bool(_NOISE.search(stem)),
    )


def _check(spec: MediaSpec) -> None:
    if spec.video is not None:
        _check_video(spec, spec.video)
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


def _check_video(spec: MediaSpec, video: VideoSpec) -> None:
    if not (16 <= spec.width <= MAX_VIDEO_SIDE and 16 <= spec.height <= MAX_VIDEO_SIDE):
        raise NotServed(f"videos have sides of 16-{MAX_VIDEO_SIDE} px; got {spec.width}x{spec.height}")
    if spec.width % 2 or spec.height % 2:
        raise NotServed("videos have even sides (4:2:0 chroma)")
    if not 1 <= video.fps <= 120 or not video.seconds > 0:
        raise NotServed("videos run 1-120 frames a second, for more than 0 s")
    if video.seconds * video.fps > MAX_VIDEO_FRAMES:
        raise NotServed(f"videos of at most {MAX_VIDEO_FRAMES:,} frames are made")
    if spec.format == "WEBM" and video.codec != "vp9":
        raise NotServed("WebM videos are VP9")
    if video.noise and spec.width * spec.height * video.seconds * video.fps > 400_000_000:
        raise NotServed("noise videos of at most 400 megapixels in all are made")
    if spec.total_bytes is not None:
        raise NotServed("a video's size follows from what it is made of; ask for noise to make it large")


def host_path(url: str) -> str:
    """Where the media host serves an https (or gs://) URL: /<host>/<path>[?query]."""
    parts = urlsplit(url)
    if parts.scheme == "gs":
        return f"/storage.googleapis.com/{parts.netloc}{parts.path}"
    query = f"?{parts.query}" if parts.query else ""
    return f"/{(parts.hostname or '').lower()}{parts.path}{query}"
