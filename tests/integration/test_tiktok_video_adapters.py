"""The TikTok video adapters against real servers on loopback: the client's video init and
chunk PUT read the TikTok emulator's answers (each refusal mapped to its reason, whether it
may be sent again), and the media byte reader streams ranges from the sandbox media host in
bounded pieces, while the guarded reader refuses what the egress guard refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.adapters.egress import EgressPolicy
from server.adapters.http import new_session
from server.adapters.media_fetch.ranges import GuardedMediaBytes, SandboxMediaBytes
from server.adapters.tiktok.client import RateLimits, TikTokClient
from server.domain.platforms import PlatformFailure, VideoPost
from server.domain.ports import MediaUnavailable
from server.sandbox.media import MediaHost
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

MiB = 1024 * 1024
NO_PACING = RateLimits(init=0, status=0, creator_info=0)


@pytest.fixture
async def emulator() -> AsyncIterator[TikTokSandbox]:
    sandbox = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, moderation_delay=0))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def client(emulator: TikTokSandbox) -> AsyncIterator[TikTokClient]:
    session = new_session()
    yield TikTokClient(session, emulator.base_url, None, NO_PACING)  # type: ignore[arg-type]
    await session.close()


@pytest.fixture
async def media_host() -> AsyncIterator[str]:
    host = MediaHost()
    origin = await host.start()
    yield origin
    await host.stop()


def upload(size: int, chunk: int, count: int) -> VideoPost:
    return VideoPost(post_mode="MEDIA_UPLOAD", source="FILE_UPLOAD", video_size=size, chunk_size=chunk,
                     total_chunk_count=count)


async def body(data: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for at in range(0, len(data), piece):
        yield data[at:at + piece]


MP4 = b"\x00\x00\x00\x18ftypmp42"


async def test_an_upload_init_answers_its_url_and_chunks_are_acknowledged(client, emulator) -> None:
    answer = await client.init_video_post("tok", upload(12 * MiB, 5 * MiB, 2))
    assert answer.publish_id and answer.upload_url.startswith(emulator.base_url)
    first = (MP4 + bytes(5 * MiB))[: 5 * MiB]
    await client.upload_chunk(answer.upload_url, 0, 5 * MiB - 1, 12 * MiB, "video/mp4", body(first))
    await client.upload_chunk(answer.upload_url, 5 * MiB, 12 * MiB - 1, 12 * MiB, "video/mp4", body(bytes(7 * MiB)))
    status = await client.fetch_status("tok", answer.publish_id)
    assert status.status == "SEND_TO_USER_INBOX"


@pytest.mark.parametrize(
    "first, last, total, reason",
    [
        (5 * MiB, 12 * MiB - 1, 12 * MiB, "TIKTOK_UPLOAD_RANGE_REFUSED"),  # out of order: 416
        (0, 5 * MiB - 1, 13 * MiB, "TIKTOK_UPLOAD_RANGE_REFUSED"),  # not the declared total: 416
    ],
)
async def test_a_refused_chunk_is_final(client, first, last, total, reason) -> None:
    answer = await client.init_video_post("tok", upload(12 * MiB, 5 * MiB, 2))
    with pytest.raises(PlatformFailure) as caught:
        await client.upload_chunk(answer.upload_url, first, last, total, "video/mp4", body(bytes(last - first + 1)))
    assert (caught.value.error.reason, caught.value.retryable, caught.value.http_status) == (reason, False, 416)


async def test_an_expired_upload_url_is_a_final_403(client, emulator) -> None:
    answer = await client.init_video_post("tok", upload(3 * MiB, 3 * MiB, 1))
    emulator.publishes.by_id[answer.publish_id].created_at -= 3601
    with pytest.raises(PlatformFailure) as caught:
        await client.upload_chunk(answer.upload_url, 0, 3 * MiB - 1, 3 * MiB, "video/mp4", body(bytes(3 * MiB)))
    assert (caught.value.error.reason, caught.value.retryable) == ("TIKTOK_UPLOAD_URL_EXPIRED", False)
    assert caught.value.error.retryable  # a new publish may succeed: nothing was posted


async def test_a_dropped_connection_or_a_5xx_may_be_sent_again(client, emulator) -> None:
    answer = await client.init_video_post("tok", upload(3 * MiB, 3 * MiB, 1))
    for kind in ("reset", "5xx"):
        emulator.faults.clear()
        emulator.faults.set("upload", kind, 1.0)
        with pytest.raises(PlatformFailure) as caught:
            await client.upload_chunk(answer.upload_url, 0, 3 * MiB - 1, 3 * MiB, "video/mp4", body(bytes(3 * MiB)))
        assert caught.value.retryable, kind
    emulator.faults.clear()
    await client.upload_chunk(answer.upload_url, 0, 3 * MiB - 1, 3 * MiB, "video/mp4", body(MP4 + bytes(3 * MiB - 12)))


async def test_a_pull_init_sends_the_url_and_the_direct_options(client, emulator) -> None:
    post = VideoPost(post_mode="DIRECT_POST", source="PULL_FROM_URL", video_url="https://storage.googleapis.com/b/v.mp4",
                     title="t", privacy_level="SELF_ONLY", disable_duet=True, video_cover_timestamp_ms=10, is_aigc=True)
    answer = await client.init_video_post("tok", post)
    assert answer.upload_url == ""
    [record] = emulator.posts()
    assert (record["video_url"], record["disable_duet"], record["video_cover_timestamp_ms"], record["is_aigc"]) == (
        post.video_url, True, 10, True)


async def test_the_byte_reader_streams_a_range_in_bounded_pieces(media_host) -> None:
    reader = SandboxMediaBytes(media_host)
    try:
        url = "https://videos.example.com/a/clip-noise-360x640-1s.mp4"
        size = await reader.size(url)
        assert size > 3 * MiB
        pieces = [piece async for piece in reader.read(url, MiB, 3 * MiB - 1)]
        assert sum(len(p) for p in pieces) == 2 * MiB
        assert max(len(p) for p in pieces) <= reader.piece_bytes
        with pytest.raises(MediaUnavailable):
            await reader.size("https://videos.example.com/unreachable.mp4")
        with pytest.raises(MediaUnavailable):
            [p async for p in reader.read(url, 20 * MiB, 21 * MiB)]  # past the end: 416
    finally:
        await reader.close()


async def test_the_guarded_reader_refuses_what_the_egress_guard_refuses(media_host) -> None:
    reader = GuardedMediaBytes(EgressPolicy())
    try:
        for url in (media_host + "/x/clip.mp4", "http://example.com/clip.mp4", "https://169.254.169.254/clip.mp4"):
            with pytest.raises(MediaUnavailable, match="refused"):
                await reader.size(url)
    finally:
        await reader.close()


async def test_a_host_that_ignores_range_is_read_from_the_whole_file_in_pieces() -> None:
    from aiohttp import web  # noqa: PLC0415

    data = bytes(range(256)) * 4096  # 1 MiB

    async def whole(_: web.Request) -> web.Response:
        return web.Response(body=data, content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/{tail:.*}", whole)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    reader = SandboxMediaBytes(f"http://127.0.0.1:{port}")
    try:
        url = "https://videos.example.com/plain.mp4"
        assert await reader.size(url) == len(data)
        pieces = [piece async for piece in reader.read(url, 1000, 300_000)]
        assert b"".join(pieces) == data[1000:300_001]
        assert max(len(p) for p in pieces) <= reader.piece_bytes
    finally:
        await reader.close()
        await runner.cleanup()


async def test_a_body_the_media_host_cannot_finish_is_the_hosts_failure_not_tiktoks(client) -> None:
    answer = await client.init_video_post("tok", upload(3 * MiB, 3 * MiB, 1))

    async def failing() -> AsyncIterator[bytes]:
        yield MP4 + bytes(MiB - len(MP4))
        raise MediaUnavailable("the media host ended the range early")

    with pytest.raises(MediaUnavailable):
        await client.upload_chunk(answer.upload_url, 0, 3 * MiB - 1, 3 * MiB, "video/mp4", failing())
