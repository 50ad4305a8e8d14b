"""A TikTok video upload killed mid-way (SIGKILL of the service while a chunk is on the wire)
resumes after a restart from the last chunk TikTok acknowledged: exactly one init, one post,
and every chunk received once, in order. The emulator runs in its own process and outlives
the service, as TikTok would; the video comes from the service's own sandbox media host."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)

from tests.support.processes import ServiceProcess, service_env

MiB = 1024 * 1024
CHUNK = 5 * MiB
# A real MP4 of random pictures from the service's sandbox media host, about 15.8 MB: three
# chunks, 5 MiB, 5 MiB and the rest.
VIDEO = "https://videos.example.com/crash/clip-noise-360x640-3s.mp4"
KILL_POINT_SECONDS = 60.0


async def until(predicate, what: str) -> None:
    deadline = time.monotonic() + KILL_POINT_SECONDS
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"never reached: {what}")
        await asyncio.sleep(0.02)


async def publish_then_kill(service: ServiceProcess, url: str, kill_point, what: str):  # type: ignore[no-untyped-def]
    """Connects a TikTok account, registers `url` and starts PublishTikTokVideo on `service`,
    then kills the service (SIGKILL) once `kill_point()` holds; returns the request, to be
    sent again (same request_id) to the restarted service."""
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            accounts = account_service_pb2_grpc.AccountServiceStub(channel)
            media = media_service_pb2_grpc.MediaServiceStub(channel)
            publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
            account = await accounts.ConnectAccount(account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid", username="crash",
                access_token="crash-token",
            ))
            registered = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url=url))
            request = publishing_service_pb2.PublishTikTokVideoRequest(
                media_id=registered.media.id, tiktok_account_id=account.account.id, title="crash test",
                request_id=str(uuid.uuid4()),
            )
            call = publishing.PublishTikTokVideo(request, timeout=120)
            await until(kill_point, what)
            service.kill()
            try:
                await call
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        service.kill()
    return request


async def test_an_upload_killed_mid_chunk_resumes_from_its_last_acknowledged_chunk(tmp_path, platforms) -> None:
    instagram, tiktok = platforms
    # The second chunk's PUT waits halfway, so the kill lands with it on the wire.
    await tiktok.acontrol("POST", "config", {"upload_stall_at_chunk": 2, "upload_stall_seconds": 30})
    settings = service_env(
        tmp_path, instagram.base_url, tiktok.base_url, DISTRIBUTION_LOG_LEVEL="WARNING",
        DISTRIBUTION_TIKTOK_UPLOAD_CHUNK_BYTES=str(CHUNK),
    )
    first = ServiceProcess(settings, tmp_path / "service.log")
    await first.astart()

    async def second_chunk_on_the_wire() -> bool:
        return (await tiktok.acalls()).get("upload", 0) >= 2

    request = await publish_then_kill(first, VIDEO, second_chunk_on_the_wire, "the second chunk's PUT")
    [post] = await tiktok.aposts()
    assert post["chunks"] == [[0, CHUNK - 1, CHUNK]]  # the dropped chunk was never received
    await tiktok.acontrol("POST", "config", {"upload_stall_at_chunk": 0})

    second = ServiceProcess(settings, tmp_path / "service.log")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
            # The caller retries with the same request_id: it gets the resumed publish's outcome.
            result = await publishing.PublishTikTokVideo(request, timeout=120)
            assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
            record = (await publishing.GetPublish(
                publishing_service_pb2.GetPublishRequest(id=result.tiktok_publish_id))).publish
            timeline = [e.type for e in (await publishing.GetPublish(
                publishing_service_pb2.GetPublishRequest(id=result.tiktok_publish_id))).events]
    finally:
        second.stop()
    [post] = await tiktok.aposts()
    assert post["publish_id"] == record.tiktok_platform_publish_id
    # Resumed from chunk 2: chunk 1 was never sent again, each chunk received once, in order.
    size = post["video_size"]
    assert 3 * CHUNK <= size < 4 * CHUNK, size
    assert post["chunks"] == [
        [0, CHUNK - 1, CHUNK], [CHUNK, 2 * CHUNK - 1, CHUNK], [2 * CHUNK, size - 1, size - 2 * CHUNK],
    ]
    calls = await tiktok.acalls()
    assert calls["init"] == 1
    assert calls["upload"] == 4  # three chunks, and the one the kill cut off
    assert (record.tiktok_upload.chunks_acknowledged, record.tiktok_upload.total_chunk_count) == (3, 3)
    assert "TIKTOK_UPLOAD_RESUMED" in timeline


async def test_a_pulled_video_killed_while_tiktok_processes_it_is_polled_after_restart(tmp_path, platforms) -> None:
    """Killed after init was accepted (its publish_id saved), while TikTok processes the
    pulled video: the restarted service polls the saved publish_id and never inits again."""
    instagram, tiktok = platforms
    settings = service_env(tmp_path, instagram.base_url, tiktok.base_url, DISTRIBUTION_LOG_LEVEL="WARNING")
    first = ServiceProcess(settings, tmp_path / "service.log")
    await first.astart()

    async def processing() -> bool:
        calls = await tiktok.acalls()
        return calls.get("init", 0) >= 1 and calls.get("status", 0) >= 1

    request = await publish_then_kill(first, "gs://crash/clip.mp4", processing, "TikTok processing the accepted video")
    second = ServiceProcess(settings, tmp_path / "service.log")
    await second.astart()
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)
            result = await publishing.PublishTikTokVideo(request, timeout=120)
    finally:
        second.stop()
    assert result.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    [post] = await tiktok.aposts()
    assert (post["publish_id"], post["source"]) == (result.publish_id, "PULL_FROM_URL")
    assert (await tiktok.acalls())["init"] == 1
