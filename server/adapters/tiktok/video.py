"""TikTok video posts on the wire: the init bodies (direct post and inbox), and the chunk PUT
to the upload_url with what each of its answers means.

Sources (docs/platforms.md, "TikTok video"): the direct post and upload video references for
the bodies; the media transfer guide for the PUT (headers Content-Type, Content-Length,
Content-Range `bytes {first}-{last}/{total}`; 206 for a partial upload, 201 when complete,
400 bad headers, 403 an expired URL, 404 no such upload, 416 a wrong range, 5xx retry the
chunk).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable
from typing import Any

import aiohttp
from opentelemetry.trace import StatusCode

from server.adapters.http import Observer, platform_span
from server.adapters.tiktok.errors import PLATFORM
from server.domain.models import PublishError
from server.domain.platforms import PlatformFailure, VideoPost
from server.domain.ports import MediaUnavailable

DIRECT_PATH = "/v2/post/publish/video/init/"
INBOX_PATH = "/v2/post/publish/inbox/video/init/"
UPLOAD_ENDPOINT = "upload"
_CHUNK_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=120)

# Chunk PUT answers that are not an acknowledgement: (canonical code, reason, advice).
_UPLOAD_REFUSALS: dict[int, tuple[str, str, str]] = {
    400: ("INVALID_ARGUMENT", "TIKTOK_UPLOAD_BAD_HEADERS", "TikTok refused the chunk's headers"),
    403: ("FAILED_PRECONDITION", "TIKTOK_UPLOAD_URL_EXPIRED",
          "the upload URL expired (TikTok keeps it one hour after init); nothing was posted"),
    404: ("FAILED_PRECONDITION", "TIKTOK_UPLOAD_NOT_FOUND", "TikTok knows no upload at this URL"),
    416: ("FAILED_PRECONDITION", "TIKTOK_UPLOAD_RANGE_REFUSED",
          "TikTok refused the chunk's byte range (chunks go in order, within the declared sizes)"),
}


def video_init_path(post: VideoPost) -> str:
    return DIRECT_PATH if post.post_mode == "DIRECT_POST" else INBOX_PATH


def video_body(post: VideoPost) -> dict[str, Any]:
    """The init body: source_info always; post_info (with the options) for a direct post
    only, as the inbox endpoint takes source_info alone."""
    source: dict[str, Any] = {"source": post.source}
    if post.source == "PULL_FROM_URL":
        source["video_url"] = post.video_url
    else:
        source.update(
            video_size=post.video_size, chunk_size=post.chunk_size, total_chunk_count=post.total_chunk_count
        )
    body: dict[str, Any] = {"source_info": source}
    if post.post_mode == "DIRECT_POST":
        info: dict[str, Any] = {
            "privacy_level": post.privacy_level,
            "disable_duet": post.disable_duet,
            "disable_stitch": post.disable_stitch,
            "disable_comment": post.disable_comment,
            # Sent always, as for photos: the safer reading of the reference.
            "brand_content_toggle": post.brand_content_toggle,
            "brand_organic_toggle": post.brand_organic_toggle,
            "is_aigc": post.is_aigc,
        }
        if post.title:
            info["title"] = post.title
        if post.video_cover_timestamp_ms is not None:
            info["video_cover_timestamp_ms"] = post.video_cover_timestamp_ms
        body["post_info"] = info
    return body


async def put_chunk(
    session: aiohttp.ClientSession, upload_url: str, first: int, last: int, total: int, content_type: str,
    body: AsyncIterable[bytes], observe: Observer | None = None,
) -> None:
    """One chunk PUT, its body streamed from `body` (Content-Length declared, so nothing
    is buffered whole). Raises PlatformFailure for anything but 206/201. The URL carries
    TikTok's upload token: it appears in no error text or log line."""
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(last - first + 1),
        "Content-Range": f"bytes {first}-{last}/{total}",
    }
    started = time.perf_counter()
    outcome = "error"
    with platform_span(PLATFORM, UPLOAD_ENDPOINT) as span:
        if span is not None:
            span.set_attribute("distribution.upload.first_byte", first)
            span.set_attribute("distribution.upload.last_byte", last)
        try:
            # A chunk may be 128 MB: no total limit, but a stalled transfer fails.
            async with session.put(upload_url, data=body, headers=headers, timeout=_CHUNK_TIMEOUT) as response:
                status = response.status
                outcome = str(status)
                await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            outcome = "connection_error"
            if isinstance(exc.__cause__, MediaUnavailable):
                # The bytes could not be read from the media host: not TikTok's failure.
                raise exc.__cause__ from None
            if span is not None:
                span.set_status(StatusCode.ERROR, "no answer")
            raise upload_failure(0, f"no answer ({type(exc).__name__})") from None
        finally:
            if observe is not None:
                observe(PLATFORM, UPLOAD_ENDPOINT, outcome, time.perf_counter() - started)
        if span is not None:
            span.set_attribute("http.response.status_code", status)
            if status not in (201, 206):
                span.set_status(StatusCode.ERROR, f"HTTP {status}")
    if status not in (201, 206):
        raise upload_failure(status, f"HTTP {status}")


def upload_failure(status: int, detail: str) -> PlatformFailure:
    """What a chunk PUT's failure means. Uploading posts nothing by itself (TikTok processes
    the video once the last chunk is in), so the same chunk may be sent again after a lost
    answer or a 5xx; a refusal (400, 403, 404, 416) is final for this upload."""
    refusal = _UPLOAD_REFUSALS.get(status)
    if refusal is None:
        error = PublishError(
            code="UNAVAILABLE", reason="TIKTOK_UPLOAD_UNAVAILABLE",
            message=f"TikTok did not acknowledge a video chunk: {detail}", retryable=True,
        )
        return PlatformFailure(PLATFORM, UPLOAD_ENDPOINT, error, retryable=True, http_status=status)
    canonical, reason, advice = refusal
    error = PublishError(
        code=canonical, reason=reason, message=f"TikTok refused a video chunk ({detail}): {advice}",
        platform_code=str(status), retryable=status == 403,
    )
    return PlatformFailure(PLATFORM, UPLOAD_ENDPOINT, error, retryable=False, http_status=status)
