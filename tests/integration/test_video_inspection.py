"""Video inspection against the sandbox media host: real videos made with PyAV, read with
PyAV through Range requests (container, duration, pixel size, frame rate, codecs, bytes
read); an index at the end of a large file is read there, not downloaded whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.adapters.media_fetch import Fetched, FetchLimits, HttpMediaInspector, SandboxFetcher
from server.adapters.media_fetch.video import BLOCK
from server.domain.models import InspectionOutcome
from server.sandbox.media import MediaHost
from server.sandbox.media.convention import spec_for
from server.sandbox.media.videos import video_bytes

GCS = "https://storage.googleapis.com/demo-bucket/"


@pytest.fixture
async def media_host() -> AsyncIterator[MediaHost]:
    host = MediaHost()
    await host.start()
    yield host
    await host.stop()


@pytest.fixture
async def inspector(media_host: MediaHost) -> AsyncIterator[HttpMediaInspector]:
    # Ample for a loopback host on a loaded machine (the host makes each video at first request).
    inspector = HttpMediaInspector(SandboxFetcher(media_host.base_url), FetchLimits(time_limit=20.0))
    yield inspector
    await inspector.close()


@pytest.mark.parametrize(
    ("name", "mime_type", "facts"),
    [
        # name -> (container, duration ms, width, height, fps, video codec, audio codec)
        ("reel.mp4", "video/mp4", ("mp4", 4000, 720, 1280, 30.0, "h264", "aac")),
        ("reel-1080x1920-moov-end.mp4", "video/mp4", ("mp4", 4000, 1080, 1920, 30.0, "h264", "aac")),
        ("clip-640x360-24fps-2.5s.mov", "video/quicktime", ("mov", 2500, 640, 360, 24.0, "h264", "aac")),
        ("clip.webm", "video/webm", ("webm", 4000, 720, 1280, 30.0, "vp9", "opus")),
        ("clip-mpeg4.mp4", "video/mp4", ("mp4", 4000, 720, 1280, 30.0, "mpeg4", "aac")),
        ("clip.avi", "video/x-msvideo", ("avi", 4000, 720, 1280, 30.0, "mpeg4", "aac")),
        ("clip-silent-1s.mp4", "video/mp4", ("mp4", 1000, 720, 1280, 30.0, "h264", "")),
    ],
)
async def test_a_video_gives_its_container_duration_size_rate_and_codecs(inspector, name, mime_type, facts) -> None:
    inspection = await inspector.inspect(GCS + name)
    assert (inspection.outcome, inspection.mime_type) == (InspectionOutcome.READ, mime_type), inspection.detail
    video = inspection.video
    assert video is not None
    container, duration_ms, width, height, fps, video_codec, audio_codec = facts
    assert (video.container, video.width, video.height, video.frame_rate) == (container, width, height, fps)
    assert (video.video_codec, video.audio_codec) == (video_codec, audio_codec)
    assert abs(video.duration_ms - duration_ms) <= 50  # the audio's last frame may run a little longer
    assert (inspection.width, inspection.height) == (width, height)
    assert video.size_bytes == inspection.size_bytes > 0
    assert video.bytes_read == video.size_bytes  # small: the first read took it whole


async def test_an_index_at_the_end_is_read_by_range_not_the_whole_file(media_host) -> None:
    inspector = HttpMediaInspector(
        SandboxFetcher(media_host.base_url), FetchLimits(time_limit=20.0, max_bytes=64 * 1024)
    )
    try:
        inspection = await inspector.inspect(GCS + "big-noise-360x640-2s-moov-end.mp4")
    finally:
        await inspector.close()
    video = inspection.video
    assert inspection.outcome == InspectionOutcome.READ and video is not None
    assert (video.container, video.width, video.height, video.video_codec) == ("mp4", 360, 640, "h264")
    assert video.size_bytes > 5_000_000  # random pictures: megabytes of media data before the index
    # The first 64 KiB, then the blocks the demuxer asked for: the index and a first packet.
    assert video.bytes_read < video.size_bytes / 20
    assert media_host.calls.total() < 10


async def test_a_video_whose_index_is_beyond_the_byte_budget_is_too_large(media_host) -> None:
    inspector = HttpMediaInspector(
        SandboxFetcher(media_host.base_url),
        FetchLimits(time_limit=20.0, max_bytes=64 * 1024, max_video_bytes=128 * 1024),
    )
    try:
        inspection = await inspector.inspect(GCS + "big-noise-360x640-2s-moov-end.mp4")
    finally:
        await inspector.close()
    assert inspection.outcome == InspectionOutcome.TOO_LARGE
    assert "more than 131,072 bytes" in inspection.detail
    assert inspection.video is None and inspection.size_bytes > 5_000_000


class MemoryFetcher:
    """A host holding one file in memory, answering prefixes and ranges as a real one does."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[tuple[int, int]] = []

    async def fetch_prefix(self, url: str, max_bytes: int) -> Fetched:
        return Fetched(self.data[:max_bytes], len(self.data), len(self.data) <= max_bytes)

    async def fetch_range(self, url: str, start: int, length: int) -> bytes:
        self.ranges.append((start, length))
        return self.data[start : start + length]

    async def close(self) -> None:
        pass


async def test_a_moov_at_end_video_is_read_from_its_two_ends() -> None:
    data = video_bytes(spec_for("h", "/big-noise-320x240-1s-moov-end.mp4"))
    fetcher = MemoryFetcher(data)
    inspection = await HttpMediaInspector(fetcher, FetchLimits(max_bytes=BLOCK)).inspect("https://h/v.mp4")
    assert inspection.outcome == InspectionOutcome.READ and inspection.video is not None
    assert (inspection.video.width, inspection.video.height) == (320, 240)
    assert inspection.video.bytes_read == BLOCK + sum(length for _, length in fetcher.ranges)
    assert inspection.video.bytes_read < len(data) / 4
    assert max(start for start, _ in fetcher.ranges) >= len(data) - 2 * BLOCK  # the index, at the end


async def test_a_damaged_video_is_not_media() -> None:
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    inspection = await HttpMediaInspector(MemoryFetcher(header + b"\xde\xad" * 500)).inspect("https://h/v.mp4")
    assert inspection.outcome == InspectionOutcome.NOT_MEDIA
    assert "a video whose headers cannot be read" in inspection.detail
    assert inspection.video is None
