"""The sandbox media host (server.sandbox.media): the URL convention, real files with byte
ranges, unreachable and slow answers, the command line; and the emulators judging images
by the real bytes it serves."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from server.sandbox.media import MediaHost, NotServed, host_path, spec_for_url
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "fmt", "size", "total", "meta", "unreachable", "slow"),
    [
        ("gs://b/autumn-1.jpg", "JPEG", (1080, 1080), None, 0, False, 0.0),
        ("https://storage.googleapis.com/b/p-1086x1448.JPEG", "JPEG", (1086, 1448), None, 0, False, 0.0),
        ("gs://b/wide-2000x500.png", "PNG", (2000, 500), None, 0, False, 0.0),
        ("gs://b/x.webp", "WEBP", (1080, 1080), None, 0, False, 0.0),
        ("gs://b/slide-as-png.jpg", "PNG", (1080, 1080), None, 0, False, 0.0),
        ("gs://b/page-as-text.jpg", "TEXT", (1080, 1080), None, 0, False, 0.0),
        ("gs://b/big-9mib.jpg", "JPEG", (1080, 1080), 9 << 20, 0, False, 0.0),
        ("gs://b/big-21mb.webp", "WEBP", (1080, 1080), 21_000_000, 0, False, 0.0),
        ("gs://b/deep-meta-2mib.jpg", "JPEG", (1080, 1080), None, 2 << 20, False, 0.0),
        ("gs://b/unreachable/a.jpg", "JPEG", (1080, 1080), None, 0, True, 0.0),
        ("https://photos.invalid/a.jpg", "JPEG", (1080, 1080), None, 0, True, 0.0),
        ("gs://b/slow.jpg", "JPEG", (1080, 1080), None, 0, False, 30.0),
        ("gs://b/slow-2.5s.jpg", "JPEG", (1080, 1080), None, 0, False, 2.5),
        ("gs://b/clip.mp4", "MP4", (720, 1280), None, 0, False, 0.0),
        ("gs://b/notes.txt", "TEXT", (1080, 1080), None, 0, False, 0.0),
    ],
)
def test_the_url_convention(url, fmt, size, total, meta, unreachable, slow) -> None:
    spec = spec_for_url(url)
    assert (spec.format, (spec.width, spec.height), spec.total_bytes, spec.meta_bytes) == (fmt, size, total, meta)
    assert (spec.unreachable, spec.slow_seconds) == (unreachable, slow)


@pytest.mark.parametrize("url", ["gs://b/huge-20000x20000.jpg", "gs://b/x-100mib.jpg", "gs://b/w-17000x100.webp"])
def test_what_the_sandbox_will_not_make(url: str) -> None:
    with pytest.raises(NotServed):
        spec_for_url(url)


def test_where_urls_are_served() -> None:
    assert host_path("gs://demo-bucket/a/b.jpg") == "/storage.googleapis.com/demo-bucket/a/b.jpg"
    assert host_path("https://Storage.googleapis.com/b/c.jpg?x=1") == "/storage.googleapis.com/b/c.jpg?x=1"


@pytest.fixture
async def host() -> AsyncIterator[MediaHost]:
    media_host = MediaHost()
    await media_host.start()
    yield media_host
    await media_host.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        yield client


async def test_serves_real_images_whole_and_by_range(host: MediaHost, session: aiohttp.ClientSession) -> None:
    url = f"{host.base_url}/storage.googleapis.com/b/p-1200x628.png"
    async with session.get(url) as response:
        assert response.status == 200 and response.content_type == "image/png"
        body = await response.read()
    assert Image.open(io.BytesIO(body)).size == (1200, 628)
    async with session.get(url, headers={"Range": "bytes=0-99"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
        assert await response.read() == body[:100]
    async with session.get(url, headers={"Range": f"bytes={len(body)}-"}) as response:
        assert response.status == 416
    async with session.head(url) as response:
        assert response.status == 200 and int(response.headers["Content-Length"]) == len(body)
    assert host.calls.counts["object"] == 4


async def test_padded_files_have_their_size_and_a_readable_header(host, session) -> None:
    async with session.get(f"{host.base_url}/storage.googleapis.com/b/big-21mb.jpg",
                           headers={"Range": "bytes=0-65535"}) as response:
        assert response.headers["Content-Range"].endswith("/21000000")
        head = await response.read()
    assert Image.open(io.BytesIO(head)).format == "JPEG"


async def test_unreachable_is_404_and_slow_ends_when_the_host_stops(host, session) -> None:
    async with session.get(f"{host.base_url}/storage.googleapis.com/b/unreachable.jpg") as response:
        assert response.status == 404
    slow = asyncio.create_task(session.get(f"{host.base_url}/storage.googleapis.com/b/slow.jpg"))
    for _ in range(10_000):  # until the slow request has arrived (a loopback round trip)
        if host.calls.total() == 2:
            break
        await asyncio.sleep(0)
    assert host.calls.total() == 2
    await host.stop()
    async with await slow as response:
        assert response.status == 503  # released at once, not after 30 s


async def test_runs_alone_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.sandbox.media", "--port", "0",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        origin = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode().strip()
        assert origin.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as client, client.get(f"{origin}/storage.googleapis.com/b/a.webp") as r:
            assert r.status == 200 and r.content_type == "image/webp"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# --- the emulators, reading real bytes from the media host -----------------------------------------


async def test_instagram_judges_the_bytes_not_the_name(host: MediaHost, session: aiohttp.ClientSession) -> None:
    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=0), media_host=host.base_url)
    base = await sandbox.start()
    try:
        outcomes = {}
        for name in ("a.jpg", "disguised-as-png.jpg", "b.webp", "c-9mib.jpg", "d-3000x1000.jpg", "page-as-text.jpg"):
            url = f"https://storage.googleapis.com/b/{name}"
            async with session.post(f"{base}/17841400000000001/media", params={
                "image_url": url, "is_carousel_item": "true", "access_token": "t"}) as response:
                container = (await response.json())["id"]
            outcomes[name] = sandbox.container(container)["status"]
        assert host.calls.total() == 6  # each image downloaded once, as Instagram would
    finally:
        await sandbox.stop()
    assert outcomes == {
        "a.jpg": "Finished: Media has been uploaded and it is ready to be published.",
        "disguised-as-png.jpg": "Error: Media upload has failed with error code 2207005",
        "b.webp": "Error: Media upload has failed with error code 2207005",
        "c-9mib.jpg": "Error: Media upload has failed with error code 2207004",
        "d-3000x1000.jpg": "Error: Media upload has failed with error code 2207009",
        "page-as-text.jpg": "Error: Media upload has failed with error code 2207052",
    }


@pytest.mark.parametrize(
    ("second", "fail_reason"),
    [
        ("b.webp", None),
        ("b-as-png.jpg", "file_format_check_failed"),
        ("b-1086x1448.jpg", "picture_size_check_failed"),
        ("b-21mb.jpg", "picture_size_check_failed"),
        ("unreachable-b.jpg", "photo_pull_failed"),
    ],
)
async def test_tiktok_pulls_the_real_bytes(host: MediaHost, second: str, fail_reason: str | None) -> None:
    sandbox = TikTokSandbox(TikTokSandboxConfig(processing_delay=0), media_host=host.base_url)
    await sandbox.start()
    try:
        sandbox.add_creator("tok")
        body = {
            "post_info": {"privacy_level": "SELF_ONLY"},
            "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": [
                "https://storage.googleapis.com/b/a.jpg", f"https://storage.googleapis.com/b/{second}"]},
            "post_mode": "DIRECT_POST", "media_type": "PHOTO",
        }
        async with aiohttp.ClientSession() as client, client.post(
            f"{sandbox.base_url}/v2/post/publish/content/init/", json=body, headers={"Authorization": "Bearer tok"}
        ) as response:
            publish_id = (await response.json())["data"]["publish_id"]
        assert sandbox.publishes.by_id[publish_id].fail_reason == fail_reason
        assert host.calls.total() == 2
    finally:
        await sandbox.stop()
