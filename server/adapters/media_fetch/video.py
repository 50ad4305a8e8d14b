"""A video's facts from its own headers, read with PyAV (FFmpeg's demuxers) through a file
whose reads are HTTP Range requests: the demuxer asks for the bytes it needs (an MP4's index
at the end of the file is read there, the media data in between is skipped), blocks already
read are kept, and no more than a byte budget is ever read. The first bytes, fetched before
anyone knew the file was a video, serve the first reads."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from server.domain.models import VideoFacts

# Range requests ask for whole blocks: a demuxer's small reads near each other cost one request.
BLOCK = 64 * 1024


class BudgetSpent(OSError):
    """The demuxer wanted more bytes than an inspection may read."""


@dataclass(frozen=True)
class VideoRead:
    """What probing found: the facts, or why there are none (`problem`, `too_large`)."""

    facts: VideoFacts | None
    problem: str = ""
    too_large: bool = False


class RangeFile(io.RawIOBase):
    """A read-only, seekable file of `size` bytes whose reads are served from `head` (the
    file's first bytes) and then by `read_range(start, length)`, a block at a time."""

    def __init__(self, read_range: Callable[[int, int], bytes], size: int, head: bytes, budget: int) -> None:
        super().__init__()
        self._read_range = read_range
        self._size = size
        self._head = head
        self._budget = budget
        self._blocks: dict[int, bytes] = {}
        self._position = 0
        self.bytes_read = len(head)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        data = self._bytes(self._position, wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _bytes(self, start: int, length: int) -> bytes:
        if start + length <= len(self._head):
            return self._head[start : start + length]
        index = start // BLOCK
        block = self._blocks.get(index)
        if block is None:
            block = self._fetch(index)
        offset = start - index * BLOCK
        return block[offset : offset + length]

    def _fetch(self, index: int) -> bytes:
        start = index * BLOCK
        length = min(BLOCK, self._size - start)
        if self.bytes_read + length > self._budget:
            raise BudgetSpent(f"reading its headers needs more than {self._budget:,} bytes")
        block = self._read_range(start, length)
        if len(block) < length:
            raise OSError(f"the host sent {len(block):,} of bytes {start:,}-{start + length - 1:,}")
        self.bytes_read += len(block)
        self._blocks[index] = block
        return block


def probe(file: RangeFile, mime_type: str, size: int) -> VideoRead:
    """The video facts PyAV reads from `file` (blocking: run it in a worker thread)."""
    # PyAV loads FFmpeg's libraries (about 20 MB per process) on first use, not at start: a
    # service that never inspects a video never holds them.
    import av  # noqa: PLC0415

    try:
        with av.open(file, "r", options={"probesize": "1000000", "analyzeduration": "1000000"}) as container:
            if not container.streams.video:
                return VideoRead(None, "a file with no video stream")
            video = container.streams.video[0]
            audio = container.streams.audio[0].codec_context.name if container.streams.audio else ""
            rate = video.average_rate or video.guessed_rate or video.base_rate
            duration = container.duration if container.duration is not None else 0  # microseconds
            if not duration and video.duration is not None and video.time_base is not None:
                duration = int(video.duration * video.time_base * 1_000_000)
            facts = VideoFacts(
                container=_container_name(container.format.name, mime_type, file),
                duration_ms=round(duration / 1000),
                width=video.codec_context.width,
                height=video.codec_context.height,
                frame_rate=round(float(rate), 3) if rate else 0.0,
                video_codec=video.codec_context.name,
                audio_codec=audio,
                size_bytes=size,
                bytes_read=file.bytes_read,
            )
    except BudgetSpent as spent:
        return VideoRead(None, str(spent), too_large=True)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return VideoRead(None, f"a video whose headers cannot be read ({type(exc).__name__})")
    return VideoRead(facts)


def _container_name(demuxer: str, mime_type: str, file: RangeFile) -> str:
    """One name for the container: FFmpeg's demuxers read MP4 and MOV (and WebM and Matroska)
    alike, so the file's own brand decides between them."""
    names = demuxer.split(",")
    if "mp4" in names:
        return "mov" if mime_type == "video/quicktime" else "mp4"
    if "webm" in names:
        return "webm" if mime_type == "video/webm" else "matroska"
    return names[0]


async def read_video(
    fetch_range: Callable[[int, int], Coroutine[Any, Any, bytes]],
    head: bytes,
    size: int,
    mime_type: str,
    budget: int,
    deadline: float,
) -> VideoRead:
    """Probes the video in a worker thread; its reads run `fetch_range` on this event loop,
    each waiting no later than `deadline` (time.monotonic())."""
    loop = asyncio.get_running_loop()

    def read_range(start: int, length: int) -> bytes:
        future = asyncio.run_coroutine_threadsafe(fetch_range(start, length), loop)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError as exc:
            future.cancel()
            raise OSError("no complete answer in time") from exc

    file = RangeFile(read_range, size, head, budget)
    return await asyncio.to_thread(probe, file, mime_type, size)
