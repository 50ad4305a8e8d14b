"""A TikTok video post: how its bytes reach TikTok, TikTok's chunk rules, and the upload's
own record (what was acknowledged), so an interrupted upload resumes where it stopped.

TikTok takes a video two ways (its media transfer guide, docs/platforms.md "TikTok video"):
`PULL_FROM_URL`, where TikTok downloads it from a URL on a domain or prefix verified for the
app, and `FILE_UPLOAD`, where the app PUTs the bytes to the `upload_url` init returned, in
chunks, sequentially. This service's TikTok app pulls from Google Cloud Storage (as the photo
carousel does); a video hosted anywhere else is uploaded. The chunk rules, from the guide:
every chunk is 5 to 64 MB except the final one, which takes the trailing bytes (up to 128 MB);
`total_chunk_count` is floor(video_size / chunk_size); a file under 5 MB is one chunk (its
whole size); 1 to 1000 chunks. "MB" is not defined there: the lower bound is read as 5 MiB
and the upper as 64,000,000 bytes, the safe side of either reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PULL_FROM_URL = "PULL_FROM_URL"
FILE_UPLOAD = "FILE_UPLOAD"

MIN_CHUNK_BYTES = 5 * 1024 * 1024
MAX_CHUNK_BYTES = 64_000_000
# The final chunk absorbs the trailing bytes: at most 128 MB (read as 128,000,000).
MAX_FINAL_CHUNK_BYTES = 128_000_000
MAX_CHUNKS = 1000
# "Up to 4 GB" per video (media transfer guide, video restrictions).
MAX_VIDEO_BYTES = 4 * 1024**3
# The upload_url is valid for one hour after init (direct post reference).
UPLOAD_URL_LIFETIME_SECONDS = 3600
# The video post's title (post_info.title) holds 2200 UTF-16 units (photo posts: 90).
TITLE_MAX_UTF16 = 2200


@dataclass(frozen=True)
class ChunkPlan:
    """How a file of `video_size` bytes is cut: `total_chunk_count` chunks of `chunk_size`,
    the last one taking the remainder as well. What init declares and the PUTs follow."""

    video_size: int
    chunk_size: int
    total_chunk_count: int

    def byte_range(self, index: int) -> tuple[int, int]:
        """Chunk `index`'s first and last byte (inclusive), as Content-Range names them."""
        if not 0 <= index < self.total_chunk_count:
            raise IndexError(f"chunk {index} of {self.total_chunk_count}")
        first = index * self.chunk_size
        last = self.video_size - 1 if index == self.total_chunk_count - 1 else first + self.chunk_size - 1
        return first, last


def chunk_plan(video_size: int, preferred_chunk_size: int) -> ChunkPlan:
    """TikTok's chunking for a file: chunks of the preferred size (kept within 5 MiB to 64 MB),
    the final chunk absorbing the trailing bytes; a file no larger than one chunk goes whole.
    Pure: the upload and its tests use the same plan."""
    if video_size <= 0:
        raise ValueError("a video has at least one byte")
    if video_size > MAX_VIDEO_BYTES:
        raise ValueError(f"a video is at most {MAX_VIDEO_BYTES} bytes")
    size = min(max(preferred_chunk_size, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
    if video_size <= size:
        return ChunkPlan(video_size, video_size, 1)
    # More chunks than TikTok takes only if the chunk size is tiny for the file: grow it.
    size = max(size, -(-video_size // MAX_CHUNKS))
    return ChunkPlan(video_size, size, video_size // size)


@dataclass(frozen=True)
class TikTokUpload:
    """A FILE_UPLOAD's progress, kept on the publish record and written through the publish
    log: the plan init declared, how many chunks TikTok acknowledged (they are sent in order),
    and the upload_url with its expiry. The URL is a credential for this one upload: it is
    kept for the resume and never shown (the API shows the progress only)."""

    video_size: int
    chunk_size: int
    total_chunk_count: int
    chunks_acknowledged: int = 0
    upload_url: str = ""
    upload_url_expires_at: datetime | None = None

    @property
    def plan(self) -> ChunkPlan:
        return ChunkPlan(self.video_size, self.chunk_size, self.total_chunk_count)

    @property
    def complete(self) -> bool:
        return self.chunks_acknowledged >= self.total_chunk_count

    @property
    def bytes_acknowledged(self) -> int:
        if self.chunks_acknowledged == 0:
            return 0
        return self.plan.byte_range(self.chunks_acknowledged - 1)[1] + 1

    def expired(self, now: datetime) -> bool:
        return self.upload_url_expires_at is not None and now >= self.upload_url_expires_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "video_size": self.video_size,
            "chunk_size": self.chunk_size,
            "total_chunk_count": self.total_chunk_count,
            "chunks_acknowledged": self.chunks_acknowledged,
            "upload_url": self.upload_url,
            "upload_url_expires_at": self.upload_url_expires_at.isoformat() if self.upload_url_expires_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TikTokUpload:
        expires = data.get("upload_url_expires_at")
        return cls(
            video_size=int(data["video_size"]),
            chunk_size=int(data["chunk_size"]),
            total_chunk_count=int(data["total_chunk_count"]),
            chunks_acknowledged=int(data.get("chunks_acknowledged") or 0),
            upload_url=str(data.get("upload_url") or ""),
            upload_url_expires_at=datetime.fromisoformat(expires) if expires else None,
        )
