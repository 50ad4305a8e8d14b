"""The media inspector against the sandbox media host: real bytes over HTTP, failures,
limits, digests, bounded concurrency. (The media library on fakes:
tests/unit/test_media_inspection.py; RegisterMedia over gRPC: tests/api/test_media_inspection.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.adapters.media_fetch import Fetched, FetchLimits, HttpMediaInspector, SandboxFetcher
from server.domain.models import InspectionOutcome
from server.sandbox.media import MediaHost

GCS = "https://storage.googleapis.com/demo-bucket/"


@pytest.fixture
async def media_host() -> AsyncIterator[MediaHost]:
    host = MediaHost()
    await host.start()
    yield host
    await host.stop()


@pytest.fixture
async def inspector(media_host: MediaHost) -> AsyncIterator[HttpMediaInspector]:
    # A short time limit: the slow URLs stall far longer (until the host stops).
    inspector = HttpMediaInspector(SandboxFetcher(media_host.base_url), FetchLimits(time_limit=0.5))
    yield inspector
    await inspector.close()


@pytest.mark.parametrize(
    ("name", "mime_type", "width", "height"),
    [
        ("photo.jpg", "image/jpeg", 1080, 1080),
        ("photo-1086x1448.jpeg", "image/jpeg", 1086, 1448),
        ("photo-1200x628.png", "image/png", 1200, 628),
        ("photo-1080x1920.webp", "image/webp", 1080, 1920),
        ("photo-640x480.gif", "image/gif", 640, 480),
        ("clip.mp4", "video/mp4", 720, 1280),
    ],
)
async def test_real_bytes_give_type_and_pixel_size(inspector, name, mime_type, width, height) -> None:
    inspection = await inspector.inspect(GCS + name)
    assert inspection.outcome == InspectionOutcome.READ
    assert (inspection.mime_type, inspection.width, inspection.height) == (mime_type, width, height)
    assert inspection.size_bytes > 0
    assert len(inspection.sha256) == 64  # small: read whole


async def test_a_png_named_jpg_is_found_to_be_a_png(inspector) -> None:
    inspection = await inspector.inspect(GCS + "slide-as-png.jpg")
    assert (inspection.outcome, inspection.mime_type) == (InspectionOutcome.READ, "image/png")


async def test_a_large_file_is_read_only_as_far_as_the_byte_limit(media_host) -> None:
    inspector = HttpMediaInspector(SandboxFetcher(media_host.base_url), FetchLimits(max_bytes=64 * 1024))
    try:
        inspection = await inspector.inspect(GCS + "big-1080x1350-9mib.jpg")
    finally:
        await inspector.close()
    assert inspection.outcome == InspectionOutcome.READ
    assert (inspection.width, inspection.height) == (1080, 1350)
    assert inspection.size_bytes == 9 * 1024 * 1024  # from Content-Range, not from reading it
    assert inspection.sha256 == ""  # not read whole


@pytest.mark.parametrize(
    ("url", "outcome", "detail"),
    [
        (GCS + "unreachable-1.jpg", InspectionOutcome.UNREACHABLE, "HTTP 404"),
        ("https://photos.invalid/a.jpg", InspectionOutcome.UNREACHABLE, "HTTP 404"),
        (GCS + "slow.jpg", InspectionOutcome.UNREACHABLE, "no complete answer within 0.5 s"),
        (GCS + "notes.txt", InspectionOutcome.NOT_MEDIA, "text"),
        (GCS + "page-as-text.jpg", InspectionOutcome.NOT_MEDIA, "text"),
        (GCS + "deep-meta-2mib.jpg", InspectionOutcome.TOO_LARGE, "header is not within the first 1,048,576 bytes"),
        ("https://127.0.0.1/a.jpg", InspectionOutcome.REFUSED, "loopback"),
        ("https://[::ffff:10.0.0.1]/a.jpg", InspectionOutcome.REFUSED, "private"),
        ("http://storage.googleapis.com/b/a.jpg", InspectionOutcome.REFUSED, "only https"),
    ],
)
async def test_inspection_failures_say_why(inspector, url, outcome, detail) -> None:
    inspection = await inspector.inspect(url)
    assert inspection.outcome == outcome
    assert detail in inspection.detail
    assert inspection.reachable == (outcome not in (InspectionOutcome.UNREACHABLE, InspectionOutcome.REFUSED))


async def test_refused_urls_are_never_fetched(inspector, media_host) -> None:
    await inspector.inspect("https://localhost/a.jpg")
    await inspector.inspect("https://user:pw@storage.googleapis.com/b/a.jpg")
    assert media_host.calls.total() == 0


class BlockingFetcher:
    """Holds every fetch until released, counting how many are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.release = asyncio.Event()

    async def fetch_prefix(self, url: str, max_bytes: int) -> Fetched:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await self.release.wait()
        self.inside -= 1
        return Fetched(b"", 0, True)

    async def close(self) -> None:
        pass


async def test_inspections_wait_for_a_free_slot() -> None:
    fetcher = BlockingFetcher()
    inspector = HttpMediaInspector(fetcher, FetchLimits(concurrency=2))
    tasks = [asyncio.create_task(inspector.inspect(GCS + f"{i}.jpg")) for i in range(5)]
    for _ in range(20):  # let every task run as far as it can
        await asyncio.sleep(0)
    assert fetcher.inside == 2
    fetcher.release.set()
    results = await asyncio.gather(*tasks)
    assert fetcher.most == 2
    assert all(r.outcome == InspectionOutcome.NOT_MEDIA for r in results)  # empty files
