"""Video posts in the TikTok emulator: the two init endpoints and the upload URL.

- ``POST /v2/post/publish/video/init/`` (direct post: ``post_info`` with the privacy level
  and toggles, ``source_info``) and ``POST /v2/post/publish/inbox/video/init/`` (``source_info``
  only), each with ``source`` ``PULL_FROM_URL`` (``video_url`` on a verified prefix or domain)
  or ``FILE_UPLOAD`` (``video_size``, ``chunk_size``, ``total_chunk_count`` following the chunk
  rules; the answer carries ``upload_url``, valid for one hour).
- ``PUT <upload_url>``: one chunk, sequentially, with ``Content-Type`` (video/mp4,
  video/quicktime, video/webm), ``Content-Length`` and ``Content-Range: bytes a-b/total``.
  206 for a chunk, 201 for the last; 400 bad headers, 403 expired URL, 404 unknown upload,
  416 a range out of order or off the declared plan. The chunk just acknowledged may be sent
  again (its answer may have been lost) and is acknowledged again; a chunk whose body ends
  short (a dropped connection) is not received. Processing starts when the last chunk is in.

Sources: TikTok's direct post and upload video references and its media transfer guide
(docs/platforms.md, "TikTok video").
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.sandbox.tiktok.errors import ApiError, invalid
from server.sandbox.tiktok.rules import is_verified_url, utf16_units

PULL_FROM_URL = "PULL_FROM_URL"
FILE_UPLOAD = "FILE_UPLOAD"
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
MAX_FINAL_CHUNK = 128 * 1024 * 1024
MAX_CHUNKS = 1000
MAX_VIDEO_BYTES = 4 * 1024**3
MAX_TITLE_UNITS = 2200
UPLOAD_URL_SECONDS = 3600.0
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
_POST_INFO_FLAGS = ("disable_duet", "disable_stitch", "disable_comment", "brand_content_toggle",
                    "brand_organic_toggle", "is_aigc")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass
class VideoInitRequest:
    post_mode: str
    post_info: dict[str, Any]
    title: str
    privacy_level: str | None
    source: str
    video_url: str
    video_size: int
    chunk_size: int
    total_chunk_count: int


def parse_video_init(body: dict[str, Any], post_mode: str, verified: tuple[str, ...]) -> VideoInitRequest:
    """Checks a video init body as TikTok does (invalid_params naming the field)."""
    direct = post_mode == "DIRECT_POST"
    post_info = body.get("post_info") if direct else {}
    if direct and not isinstance(post_info, dict):
        raise invalid("post_info is required and must be an object")
    assert isinstance(post_info, dict)
    source_info = body.get("source_info")
    if not isinstance(source_info, dict):
        raise invalid("source_info is required and must be an object")
    title = post_info.get("title") or ""
    if not isinstance(title, str):
        raise invalid("post_info.title must be a string")
    if utf16_units(title) > MAX_TITLE_UNITS:
        raise invalid(f"post_info.title is {utf16_units(title)} UTF-16 units long; videos allow at most "
                      f"{MAX_TITLE_UNITS}")
    for name in _POST_INFO_FLAGS:
        if post_info.get(name) is not None and not isinstance(post_info.get(name), bool):
            raise invalid(f"post_info.{name} must be a boolean")
    cover = post_info.get("video_cover_timestamp_ms")
    if cover is not None and (not isinstance(cover, int) or isinstance(cover, bool) or cover < 0):
        raise invalid("post_info.video_cover_timestamp_ms must be a non-negative integer")
    privacy = post_info.get("privacy_level")
    source = source_info.get("source")
    request = VideoInitRequest(post_mode, post_info, title, privacy if isinstance(privacy, str) else None,
                               str(source), "", 0, 0, 0)
    if source == PULL_FROM_URL:
        url = source_info.get("video_url")
        if not isinstance(url, str) or not url:
            raise invalid("source_info.video_url is required for PULL_FROM_URL")
        if not is_verified_url(url, verified):
            raise ApiError(403, "url_ownership_unverified",
                           f"The URL prefix or domain of {url} is not verified for this app.")
        request.video_url = url
        return request
    if source != FILE_UPLOAD:
        raise invalid("source_info.source must be FILE_UPLOAD or PULL_FROM_URL")
    request.video_size, request.chunk_size, request.total_chunk_count = _plan(source_info)
    return request


def _plan(source_info: dict[str, Any]) -> tuple[int, int, int]:
    """The declared chunk plan, checked against the media transfer guide's rules."""
    values = []
    for name in ("video_size", "chunk_size", "total_chunk_count"):
        value = source_info.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise invalid(f"source_info.{name} is required for FILE_UPLOAD and must be a positive integer")
        values.append(value)
    size, chunk, count = values
    if size > MAX_VIDEO_BYTES:
        raise invalid(f"source_info.video_size {size} is over 4 GB")
    if size < MIN_CHUNK and (chunk, count) != (size, 1):
        raise invalid("a video under 5 MB must be uploaded as one chunk: chunk_size = video_size, total_chunk_count 1")
    if size >= MIN_CHUNK and not MIN_CHUNK <= chunk <= min(MAX_CHUNK, size):
        raise invalid(f"source_info.chunk_size {chunk} must be 5 MB to 64 MB (and at most video_size)")
    if count != size // chunk:
        raise invalid(f"source_info.total_chunk_count must be floor(video_size / chunk_size) = {size // chunk}")
    if not 1 <= count <= MAX_CHUNKS or size - (count - 1) * chunk > MAX_FINAL_CHUNK:
        raise invalid("the chunks must number 1 to 1000, the final one at most 128 MB")
    return size, chunk, count


def chunk_range(video_size: int, chunk_size: int, total: int, index: int) -> tuple[int, int]:
    first = index * chunk_size
    return first, (video_size - 1 if index == total - 1 else first + chunk_size - 1)


def new_upload_id() -> str:
    return f"{secrets.randbelow(9 * 10**18) + 10**18}"


@dataclass
class Chunk:
    """One PUT as the emulator checked it: where it goes and what its headers declare."""

    first: int
    last: int
    total: int
    length: int


def check_chunk_headers(request: web.Request) -> Chunk:
    """400 for headers TikTok would refuse: Content-Type, Content-Length, Content-Range."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in VIDEO_TYPES:
        raise ApiError(400, "invalid_file_upload", f"Content-Type must be one of {', '.join(VIDEO_TYPES)}.")
    match = _CONTENT_RANGE.fullmatch(request.headers.get("Content-Range", "").strip())
    if not match:
        raise ApiError(400, "invalid_file_upload", "Content-Range must be 'bytes {first}-{last}/{total}'.")
    first, last, total = (int(g) for g in match.groups())
    length = request.headers.get("Content-Length", "")
    if not length.isdigit() or int(length) != last - first + 1 or last < first:
        raise ApiError(400, "invalid_file_upload", "Content-Length must equal the Content-Range's length.")
    return Chunk(first, last, total, int(length))


class ChunkDropped(Exception):
    """The emulator drops this chunk's connection halfway (config upload_drop_at_chunk)."""


async def read_chunk(request: web.Request, chunk: Chunk, stall: float, drop: bool = False) -> bytes | None:
    """Reads the body in pieces, keeping only its first bytes (the container's signature);
    None when it ends short (the connection dropped). `stall`: seconds to wait halfway (a
    slow network, for a test that stops the sender mid-chunk); `drop`: raise ChunkDropped
    halfway instead."""
    got = 0
    head = b""
    half = chunk.length // 2
    stalled = False
    while got < chunk.length:
        piece = await request.content.read(min(256 * 1024, chunk.length - got))
        if not piece:
            return None
        if len(head) < 16:
            head += piece[: 16 - len(head)]
        got += len(piece)
        if drop and got >= half:
            raise ChunkDropped()
        if stall and not stalled and got >= half:
            stalled = True
            await asyncio.sleep(stall)
    return head


def looks_like_video(head: bytes) -> bool:
    """MP4/MOV (an ftyp box first) or WebM (the EBML signature)."""
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3"


def upload_expired(created_at: float) -> bool:
    return time.time() > created_at + UPLOAD_URL_SECONDS
