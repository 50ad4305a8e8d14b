"""Real files for media specs, made with Pillow (videos with PyAV, videos.py), cached: a
sandbox asks for a few sizes many times. No aiohttp here."""

from __future__ import annotations

import functools
import io
import struct

from PIL import Image

from server.sandbox.media.convention import MediaSpec
from server.sandbox.media.videos import video_bytes

TEXT = b"This is not an image: the sandbox media host serves text for this name.\n"
_COLOURS = {"JPEG": (214, 120, 48), "PNG": (40, 120, 200), "WEBP": (60, 170, 90), "GIF": (150, 60, 160)}
# Encoder settings that favour speed: the pictures are one colour anyway.
_FAST: dict[str, dict[str, int]] = {"PNG": {"compress_level": 1}, "WEBP": {"method": 0}}
_APP15_PAYLOAD = 65533  # a JPEG segment holds at most 65535 bytes with its length field


def file_head(spec: MediaSpec) -> bytes:
    """The file's real bytes, before any padding."""
    if spec.video is not None:
        return video_bytes(spec)
    if spec.format == "TEXT":
        return TEXT
    data = _image(spec.format, spec.width, spec.height)
    if spec.format == "JPEG" and spec.meta_bytes:
        data = data[:2] + _metadata(spec.meta_bytes) + data[2:]
    return data


@functools.lru_cache(maxsize=64)
def _image(fmt: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), _COLOURS[fmt])
    if fmt == "GIF":
        image = image.convert("P")
    image.save(out, fmt, **_FAST.get(fmt, {}))
    return out.getvalue()


@functools.lru_cache(maxsize=16)
def _metadata(size: int) -> bytes:
    """APP15 segments of about `size` bytes in all (placed after SOI, before the frame header)."""
    segments = []
    left = size
    while left > 4:
        payload = min(left - 4, _APP15_PAYLOAD)
        segments.append(b"\xff\xef" + struct.pack(">H", payload + 2) + b"\x00" * payload)
        left -= payload + 4
    return b"".join(segments)
