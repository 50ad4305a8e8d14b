"""RegisterMedia with inspection on (against the service's own sandbox media host): the
Media resource shows what the bytes are, or why they could not be read."""

from __future__ import annotations

import grpc
import pytest
from distribution.v1 import media_pb2, media_service_pb2_grpc
from distribution.v1.media_service_pb2 import GetMediaRequest, RegisterMediaRequest


@pytest.fixture
async def inspecting(start_service):
    # Ample for any fetch from the loopback media host on a loaded machine; only its `slow` files reach it.
    service = await start_service(media_fetch="sandbox", media_fetch_timeout=2.0)
    async with grpc.aio.insecure_channel(service.address) as channel:
        yield service, media_service_pb2_grpc.MediaServiceStub(channel)


async def test_register_media_shows_the_inspection(inspecting) -> None:
    service, stub = inspecting
    response = await stub.RegisterMedia(RegisterMediaRequest(url="gs://demo-bucket/cover-as-webp-1080x1350.jpg"))
    m = response.media
    assert (m.mime_type, m.kind, m.width, m.height) == ("image/webp", media_pb2.MEDIA_KIND_IMAGE, 1080, 1350)
    i = m.inspection
    assert i.outcome == media_pb2.INSPECTION_OUTCOME_READ and i.reachable
    assert (i.mime_type, i.width, i.height) == ("image/webp", 1080, 1350)
    assert i.size_bytes == m.size_bytes > 0 and len(i.sha256) == 64 and i.detail == ""
    assert i.inspect_time.seconds > 0
    again = (await stub.GetMedia(GetMediaRequest(id=m.id))).media
    assert again == m  # stored and read back whole
    assert service.sandboxes.media is not None and service.sandboxes.media.calls.total() == 1


async def test_register_media_keeps_a_failed_inspection(inspecting) -> None:
    _, stub = inspecting
    m = (await stub.RegisterMedia(RegisterMediaRequest(url="https://unreachable.example.com/a.jpg"))).media
    assert m.inspection.outcome == media_pb2.INSPECTION_OUTCOME_UNREACHABLE
    assert not m.inspection.reachable and "404" in m.inspection.detail
    refused = (await stub.RegisterMedia(RegisterMediaRequest(url="https://10.0.0.8/a.jpg"))).media
    assert refused.inspection.outcome == media_pb2.INSPECTION_OUTCOME_REFUSED
    assert refused.inspection.detail == "10.0.0.8 is a private address"
    slow = (await stub.RegisterMedia(RegisterMediaRequest(url="gs://demo-bucket/slow.jpg"))).media
    assert slow.inspection.outcome == media_pb2.INSPECTION_OUTCOME_UNREACHABLE
    assert "within 2 s" in slow.inspection.detail


async def test_register_media_shows_a_videos_facts(inspecting) -> None:
    _, stub = inspecting
    m = (await stub.RegisterMedia(RegisterMediaRequest(url="gs://demo-bucket/reel-1080x1920-moov-end.mp4"))).media
    assert (m.mime_type, m.kind, m.width, m.height) == ("video/mp4", media_pb2.MEDIA_KIND_VIDEO, 1080, 1920)
    v = m.video
    assert (v.container, v.width, v.height, v.frame_rate, v.video_codec, v.audio_codec) == (
        "mp4", 1080, 1920, 30.0, "h264", "aac"
    )
    assert 3950 <= v.duration_ms <= 4050 and v.size_bytes == m.size_bytes == v.bytes_read > 0
    assert m.inspection.video == v
    assert (await stub.GetMedia(GetMediaRequest(id=m.id))).media == m
    image = (await stub.RegisterMedia(RegisterMediaRequest(url="gs://demo-bucket/photo.jpg"))).media
    assert not image.HasField("video") and not image.inspection.HasField("video")
