"""What the platform emulators learn of an image or video URL, as the real platforms do by
downloading it: from the media host's real bytes when the emulator was given one (a video
read with PyAV), else from the URL convention the media host serves."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import aiohttp
from PIL import Image

from server.sandbox.media.convention import NotServed, host_path, spec_for_url

_PREFIX = 1 << 20
# A video is downloaded whole, as a platform does; the sandbox's are small (a few MB).
_MAX_VIDEO = 64 << 20


@dataclass(frozen=True)
class ClipFacts:
    """What downloading a video shows: "" and 0 when it is no video (or not reachable)."""

    reachable: bool
    container: str = ""  # MP4, MOV, WEBM, AVI, MKV (the convention's names)
    video_codec: str = ""  # h264, mpeg4, vp9, ...
    seconds: float = 0.0
    fps: float = 0.0


@dataclass(frozen=True)
class ImageFacts:
    reachable: bool
    format: str = ""  # Pillow's name (JPEG, MPO, PNG, WEBP, GIF, ...); "" when not an image
    width: int = 0
    height: int = 0
    size: int = 0  # bytes; 0 when unknown
    timed_out: bool = False


class ImageProbe:
    """``await probe.facts(url)``; ``media_host`` is the media host's origin ("" for none)."""

    def __init__(self, media_host: str = "", timeout: float = 10.0) -> None:
        self.media_host = media_host.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def facts(self, url: str) -> ImageFacts:
        if not self.media_host:
            return convention_facts(url, self.timeout)
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.get(
                    self.media_host + host_path(url), headers={"Range": f"bytes=0-{_PREFIX - 1}"}
                ) as response:
                    if response.status not in (200, 206):
                        return ImageFacts(reachable=False)
                    prefix = await response.content.read(_PREFIX)
                    size = _total(response)
        except TimeoutError:
            return ImageFacts(reachable=True, timed_out=True)
        except aiohttp.ClientError:
            return ImageFacts(reachable=False)
        return _read(prefix, size)

    async def clip_facts(self, url: str) -> ClipFacts:
        """A video's facts: its real bytes from the media host, else the URL convention."""
        if not self.media_host:
            return convention_clip(url)
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.get(self.media_host + host_path(url)) as response:
                    if response.status != 200:
                        return ClipFacts(reachable=False)
                    data = await response.content.read(_MAX_VIDEO)
        except (TimeoutError, aiohttp.ClientError):
            return ClipFacts(reachable=False)
        return await asyncio.to_thread(_read_clip, data)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def convention_facts(url: str, timeout: float = 10.0) -> ImageFacts:
    """The facts the URL convention gives, without asking the media host."""
    try:
        spec = spec_for_url(url)
    except NotServed:
        return ImageFacts(reachable=False)
    if spec.unreachable:
        return ImageFacts(reachable=False)
    if spec.slow_seconds >= timeout:
        return ImageFacts(reachable=True, timed_out=True)
    return ImageFacts(
        reachable=True,
        format=spec.format if spec.is_image else "",
        width=spec.width if spec.is_image else 0,
        height=spec.height if spec.is_image else 0,
        size=spec.total_bytes or 0,
    )


def convention_clip(url: str) -> ClipFacts:
    """A video's facts from the URL convention alone."""
    try:
        spec = spec_for_url(url)
    except NotServed:
        return ClipFacts(reachable=False)
    if spec.unreachable:
        return ClipFacts(reachable=False)
    if spec.video is None:
        return ClipFacts(reachable=True)
    return ClipFacts(True, spec.format, spec.video.codec, spec.video.seconds, float(spec.video.fps))


_CONTAINERS = {"avi": "AVI"}


def _read_clip(data: bytes) -> ClipFacts:
    # PyAV loads FFmpeg's libraries (about 20 MB per process) on first use, not at start: a
    # service that never inspects a video never holds them.
    import av  # noqa: PLC0415

    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                return ClipFacts(reachable=True)
            stream = container.streams.video[0]
            names = container.format.name.split(",")
            if "mp4" in names:
                fmt = "MOV" if data[8:12] == b"qt  " else "MP4"
            elif "webm" in names:
                fmt = "MKV" if b"matroska" in data[:64] else "WEBM"
            else:
                fmt = _CONTAINERS.get(names[0], names[0].upper())
            rate = stream.average_rate or stream.guessed_rate
            seconds = (container.duration or 0) / 1_000_000
            return ClipFacts(True, fmt, stream.codec_context.name, seconds, float(rate) if rate else 0.0)
    except (av.FFmpegError, ValueError, OSError):
        return ClipFacts(reachable=True)


def _total(response: aiohttp.ClientResponse) -> int:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    return int(response.headers.get("Content-Length", "0") or 0)


def _read(prefix: bytes, size: int) -> ImageFacts:
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":  # Pillow decodes whole WebP files
        width, height = _webp_size(prefix)
        return ImageFacts(True, "WEBP", width, height, size)
    try:
        with Image.open(io.BytesIO(prefix)) as image:
            return ImageFacts(True, image.format or "", image.size[0], image.size[1], size)
    except Exception:  # whatever Pillow cannot read is no image to a platform
        return ImageFacts(reachable=True, size=size)


def _webp_size(prefix: bytes) -> tuple[int, int]:
    chunk = prefix[12:16]
    if chunk == b"VP8X" and len(prefix) >= 30:
        return 1 + int.from_bytes(prefix[24:27], "little"), 1 + int.from_bytes(prefix[27:30], "little")
    if chunk == b"VP8 " and len(prefix) >= 30:
        return int.from_bytes(prefix[26:28], "little") & 0x3FFF, int.from_bytes(prefix[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(prefix) >= 25:
        bits = int.from_bytes(prefix[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return 0, 0
