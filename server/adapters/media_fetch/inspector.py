"""The MediaInspector port over HTTP: one ranged GET for a bounded prefix of the file (its
header, and the whole file when it is small), the total size from Content-Range or
Content-Length, then `headers.identify`.

Two ways to reach the bytes:

- `DirectFetcher`, production: through the egress guard (server/adapters/egress.py): https
  only, public addresses only (checked on the address connected to), at most three
  redirects, each checked;
- `SandboxFetcher`, for the sandbox: the URL passes the same URL-level checks (scheme,
  credentials, addresses written in the URL, metadata names), then is read from the
  sandbox media host on loopback (`<media host>/<host>/<path>`), which serves made-up but
  real image bytes for the sandbox's buckets. The direct fetcher's address guard is not
  involved, nor loosened.

Every inspection runs under a semaphore (at most `concurrency` at once) and a time limit,
and reads at most `max_bytes` for the header. A video's container, duration, size, frame
rate and codecs are then read with PyAV through Range requests for the blocks its demuxer
asks for (video.py), at most `max_video_bytes` in all; `VideoFacts.bytes_read` says how many.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from yarl import URL

from server.adapters.egress import EgressPolicy, EgressRefused, check_url, guarded_session, open_guarded
from server.adapters.media_fetch.headers import identify
from server.adapters.media_fetch.video import read_video
from server.domain.models import Inspection, InspectionOutcome

log = logging.getLogger("distribution.media_fetch")

_CONTENT_RANGE = re.compile(r"bytes\s+\d+-\d+/(\d+)")


@dataclass(frozen=True)
class FetchLimits:
    # Seconds one inspection may take, redirects included (DISTRIBUTION_MEDIA_FETCH_TIMEOUT).
    time_limit: float = 10.0
    # Most bytes read from one file (DISTRIBUTION_MEDIA_FETCH_MAX_BYTES); a file whose header
    # is not within them is refused as too large to read. Smaller files are read whole and
    # get a digest.
    max_bytes: int = 1 << 20
    # Inspections at once, per process (DISTRIBUTION_MEDIA_FETCH_CONCURRENCY).
    concurrency: int = 16
    # Most bytes read from one video, its first `max_bytes` included, to learn its container,
    # duration, size, frame rate and codecs: an index (MP4 moov) is a few hundred KB even for
    # a 15-minute video, so a video whose headers need more is refused as too large to read.
    max_video_bytes: int = 8 << 20


@dataclass(frozen=True)
class Fetched:
    """A file's first bytes, and what the host said of its size."""

    prefix: bytes
    total_size: int | None
    complete: bool


class FetchFailed(Exception):
    """The host gave no bytes worth reading (connection, TLS, HTTP status)."""


class Fetcher(Protocol):
    async def fetch_prefix(self, url: str, max_bytes: int) -> Fetched: ...

    async def fetch_range(self, url: str, start: int, length: int) -> bytes:
        """Bytes [start, start + length) of the file, by one Range request; FetchFailed when
        the host answers anything but those bytes (a host that ignores ranges included)."""
        ...

    async def close(self) -> None: ...


class HttpMediaInspector:
    """MediaInspector: bounded, timed inspections through a fetcher."""

    def __init__(self, fetcher: Fetcher, limits: FetchLimits = FetchLimits()) -> None:
        self._fetcher = fetcher
        self._limits = limits
        self._slots = asyncio.Semaphore(limits.concurrency)

    async def inspect(self, url: str) -> Inspection:
        async with self._slots:
            started = time.perf_counter()
            inspection = await self._inspect(url)
            log.debug(
                "media inspected",
                extra={"outcome": inspection.outcome.value, "mime_type": inspection.mime_type,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            return inspection

    async def _inspect(self, url: str) -> Inspection:
        limit = self._limits.time_limit
        deadline = time.monotonic() + limit
        try:
            async with asyncio.timeout(limit):
                fetched = await self._fetcher.fetch_prefix(url, self._limits.max_bytes)
                inspection = identify(fetched.prefix, fetched.total_size, fetched.complete)
                if inspection.ok and inspection.mime_type.startswith("video/"):
                    inspection = await self._read_video(url, fetched, inspection, deadline)
        except EgressRefused as refused:
            return Inspection(InspectionOutcome.REFUSED, detail=str(refused))
        except TimeoutError:
            return Inspection(InspectionOutcome.UNREACHABLE, detail=f"no complete answer within {limit:g} s")
        except FetchFailed as failed:
            return Inspection(InspectionOutcome.UNREACHABLE, detail=str(failed))
        except aiohttp.ClientConnectorError as exc:
            return Inspection(InspectionOutcome.UNREACHABLE, detail=f"cannot connect to {exc.host}: {exc.os_error}")
        except (aiohttp.ClientError, OSError) as exc:
            return Inspection(InspectionOutcome.UNREACHABLE, detail=str(exc) or type(exc).__name__)
        return inspection

    async def _read_video(self, url: str, fetched: Fetched, inspection: Inspection, deadline: float) -> Inspection:
        """The inspection with the video's facts (and pixel size) when its headers can be read;
        NOT_MEDIA when they are damaged, TOO_LARGE when they lie beyond the byte budget."""
        size = fetched.total_size if fetched.total_size is not None else len(fetched.prefix)
        if fetched.total_size is None and not fetched.complete:
            return inspection  # no size, no ranges: the type is all that is known

        async def fetch_range(start: int, length: int) -> bytes:
            return await self._fetcher.fetch_range(url, start, length)

        try:
            read = await read_video(
                fetch_range, fetched.prefix, size, inspection.mime_type, self._limits.max_video_bytes, deadline
            )
        except FetchFailed as failed:
            # The host serves the file but not byte ranges: the type is known, the facts are
            # not (a platform downloads it whole; the Reel and video rules judge what is known).
            log.info("video facts not read", extra={"detail": str(failed)})
            return inspection
        if read.facts is None:
            outcome = InspectionOutcome.TOO_LARGE if read.too_large else InspectionOutcome.NOT_MEDIA
            return Inspection(outcome, size_bytes=inspection.size_bytes, sha256=inspection.sha256, detail=read.problem)
        return dataclasses.replace(inspection, width=read.facts.width, height=read.facts.height, video=read.facts)

    async def close(self) -> None:
        await self._fetcher.close()


async def read_prefix(response: aiohttp.ClientResponse, max_bytes: int) -> Fetched:
    """At most `max_bytes` of the body, with the total size the answer states (Content-Range
    of a 206, else Content-Length of a 200)."""
    if response.status not in (200, 206):
        raise FetchFailed(f"the host answered HTTP {response.status}")
    total: int | None = None
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if response.status == 206 and match:
        total = int(match.group(1))
    elif response.status == 200 and response.headers.get("Content-Length", "").isdigit():
        total = int(response.headers["Content-Length"])
    chunks: list[bytes] = []
    got = 0
    while got < max_bytes:
        chunk = await response.content.read(max_bytes - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    prefix = b"".join(chunks)
    ended = response.content.at_eof() or (total is not None and got >= total)
    complete = (total is None and ended and got < max_bytes) or (total is not None and got >= total)
    return Fetched(prefix, total, complete)


def _range_headers(max_bytes: int, start: int = 0) -> dict[str, str]:
    return {
        "Range": f"bytes={start}-{start + max_bytes - 1}", "Accept-Encoding": "identity",
        "Accept": "image/*, video/*, */*",
    }


async def read_range(response: aiohttp.ClientResponse, start: int, length: int) -> bytes:
    """The body of a 206 answering bytes [start, start + length)."""
    match = re.match(r"bytes\s+(\d+)-(\d+)/", response.headers.get("Content-Range", ""))
    if response.status != 206 or match is None or int(match.group(1)) != start:
        raise FetchFailed(f"the host answered HTTP {response.status} without bytes {start:,}- (no byte ranges)")
    try:
        return await response.content.readexactly(length)
    except asyncio.IncompleteReadError as short:
        raise FetchFailed(f"the host sent {len(short.partial):,} of bytes {start:,}-{start + length - 1:,}") from None


class DirectFetcher:
    """Fetches from the URL's own host, through the egress guard."""

    def __init__(self, policy: EgressPolicy, session: aiohttp.ClientSession | None = None, limit: int = 100) -> None:
        self._policy = policy
        self._session = session or guarded_session(policy, limit=limit)

    async def fetch_prefix(self, url: str, max_bytes: int) -> Fetched:
        async with open_guarded(self._session, url, self._policy, headers=_range_headers(max_bytes)) as response:
            return await read_prefix(response, max_bytes)

    async def fetch_range(self, url: str, start: int, length: int) -> bytes:
        headers = _range_headers(length, start)
        async with open_guarded(self._session, url, self._policy, headers=headers) as response:
            return await read_range(response, start, length)

    async def close(self) -> None:
        await self._session.close()


class SandboxFetcher:
    """Reads every URL from the sandbox media host, after the URL-level checks of the guard."""

    def __init__(self, media_host: str, policy: EgressPolicy = EgressPolicy()) -> None:
        self._base = URL(media_host.rstrip("/"))
        self._policy = policy
        self._session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)

    def route(self, url: str) -> URL:
        """Where the sandbox serves `url`: <media host>/<host>/<path>?<query>."""
        target = check_url(url, self._policy)
        path = f"{self._base.path.rstrip('/')}/{target.raw_host}{target.raw_path}"
        return self._base.with_path(path, encoded=True).with_query(target.raw_query_string)

    async def fetch_prefix(self, url: str, max_bytes: int) -> Fetched:
        async with self._session.get(
            self.route(url), headers=_range_headers(max_bytes), allow_redirects=False
        ) as response:
            return await read_prefix(response, max_bytes)

    async def fetch_range(self, url: str, start: int, length: int) -> bytes:
        async with self._session.get(
            self.route(url), headers=_range_headers(length, start), allow_redirects=False
        ) as response:
            return await read_range(response, start, length)

    async def close(self) -> None:
        await self._session.close()
