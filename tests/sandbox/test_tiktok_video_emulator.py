"""The TikTok emulator's video posts over loopback HTTP (server/sandbox/tiktok/video.py): both
init endpoints and both sources, the chunk plan init must declare, and the upload URL's
answers to each PUT (206, 201, and 400 / 403 / 404 / 416 as TikTok's media transfer guide
gives them)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

MiB = 1024 * 1024
DIRECT = "/v2/post/publish/video/init/"
INBOX = "/v2/post/publish/inbox/video/init/"
STATUS = "/v2/post/publish/status/fetch/"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42"


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def post(self, path: str, body: dict[str, Any], token: str = "tok") -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json; charset=UTF-8", "Authorization": f"Bearer {token}"}
        async with self.session.post(self.base + path, data=json.dumps(body), headers=headers) as resp:
            return resp.status, await resp.json()

    async def upload_init(self, size: int, chunk: int, count: int, path: str = DIRECT) -> dict[str, Any]:
        body: dict[str, Any] = {"source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                                                "total_chunk_count": count}}
        if path == DIRECT:
            body["post_info"] = {"privacy_level": "SELF_ONLY", "title": "clip"}
        status, answer = await self.post(path, body)
        assert status == 200, answer
        return answer["data"]

    async def put(self, url: str, first: int, last: int, total: int, *, content_type: str = "video/mp4",
                  body: bytes | None = None) -> int:
        data = body if body is not None else (MP4_HEAD + bytes(last - first + 1))[: last - first + 1]
        headers = {"Content-Type": content_type, "Content-Range": f"bytes {first}-{last}/{total}"}
        async with self.session.put(url, data=data, headers=headers) as resp:
            return resp.status

    async def status(self, publish_id: str) -> dict[str, Any]:
        _, body = await self.post(STATUS, {"publish_id": publish_id})
        return body["data"]


@pytest.fixture
async def sandbox() -> AsyncIterator[TikTokSandbox]:
    sb = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, moderation_delay=0))
    yield sb
    await sb.stop()


@pytest.fixture
async def api(sandbox: TikTokSandbox) -> AsyncIterator[Api]:
    base = await sandbox.start()
    async with aiohttp.ClientSession() as session:
        yield Api(session, base)


async def test_an_upload_in_chunks_is_acknowledged_then_processed(api: Api, sandbox: TikTokSandbox) -> None:
    data = await api.upload_init(12 * MiB, 5 * MiB, 2)
    url = data["upload_url"]
    assert (await api.status(data["publish_id"]))["status"] == "PROCESSING_UPLOAD"
    assert await api.put(url, 0, 5 * MiB - 1, 12 * MiB) == 206
    # The chunk just acknowledged may come again (its answer lost): acknowledged, kept once.
    assert await api.put(url, 0, 5 * MiB - 1, 12 * MiB) == 206
    assert (await api.status(data["publish_id"]))["uploaded_bytes"] == 5 * MiB
    assert await api.put(url, 5 * MiB, 12 * MiB - 1, 12 * MiB) == 201
    status = await api.status(data["publish_id"])
    assert status["status"] == "PUBLISH_COMPLETE"
    [post] = sandbox.posts()
    assert post["chunks"] == [[0, 5 * MiB - 1, 5 * MiB], [5 * MiB, 12 * MiB - 1, 7 * MiB]]
    assert sandbox.calls.counts["upload"] == 3


async def test_a_chunk_out_of_order_or_off_the_plan_is_416(api: Api) -> None:
    url = (await api.upload_init(12 * MiB, 5 * MiB, 2))["upload_url"]
    assert await api.put(url, 5 * MiB, 12 * MiB - 1, 12 * MiB) == 416  # the second before the first
    assert await api.put(url, 0, 4 * MiB - 1, 12 * MiB) == 416  # not the declared chunk size
    assert await api.put(url, 0, 5 * MiB - 1, 13 * MiB) == 416  # not the declared total


async def test_bad_headers_are_400(api: Api) -> None:
    url = (await api.upload_init(12 * MiB, 5 * MiB, 2))["upload_url"]
    assert await api.put(url, 0, 5 * MiB - 1, 12 * MiB, content_type="image/jpeg") == 400
    async with api.session.put(url, data=b"x", headers={"Content-Type": "video/mp4"}) as resp:
        assert resp.status == 400  # no Content-Range


async def test_an_expired_or_unknown_upload_url(api: Api, sandbox: TikTokSandbox) -> None:
    data = await api.upload_init(3 * MiB, 3 * MiB, 1)
    sandbox.publishes.by_id[data["publish_id"]].created_at -= 3601
    assert await api.put(data["upload_url"], 0, 3 * MiB - 1, 3 * MiB) == 403
    assert await api.put(api.base + "/upload/?upload_id=404", 0, 3 * MiB - 1, 3 * MiB) == 404


async def test_bytes_that_are_no_video_fail_processing(api: Api) -> None:
    data = await api.upload_init(5 * MiB, 5 * MiB, 1)
    assert await api.put(data["upload_url"], 0, 5 * MiB - 1, 5 * MiB, body=bytes(5 * MiB)) == 201
    status = await api.status(data["publish_id"])
    assert (status["status"], status["fail_reason"]) == ("FAILED", "file_format_check_failed")


@pytest.mark.parametrize(
    "source_info, problem",
    [
        ({"source": "FILE_UPLOAD", "video_size": 12 * MiB, "chunk_size": 5 * MiB, "total_chunk_count": 3},
         "floor"),
        ({"source": "FILE_UPLOAD", "video_size": 12 * MiB, "chunk_size": MiB, "total_chunk_count": 12}, "5 MB"),
        ({"source": "FILE_UPLOAD", "video_size": 4 * MiB, "chunk_size": 2 * MiB, "total_chunk_count": 2}, "one chunk"),
        ({"source": "FILE_UPLOAD", "video_size": 300 * MiB, "chunk_size": 65 * MiB, "total_chunk_count": 4},
         "64 MB"),
        ({"source": "PULL_FROM_URL"}, "video_url"),
        ({"source": "SOMETHING"}, "FILE_UPLOAD or PULL_FROM_URL"),
    ],
)
async def test_an_init_that_breaks_the_chunk_rules_is_invalid_params(
    api: Api, source_info: dict[str, Any], problem: str
) -> None:
    status, body = await api.post(INBOX, {"source_info": source_info})
    assert (status, body["error"]["code"]) == (400, "invalid_params")
    assert problem in body["error"]["message"]


async def test_a_pull_needs_a_verified_url_and_a_direct_post_its_privacy(api: Api, sandbox: TikTokSandbox) -> None:
    status, body = await api.post(INBOX, {"source_info": {"source": "PULL_FROM_URL",
                                                           "video_url": "https://cdn.example.com/a.mp4"}})
    assert (status, body["error"]["code"]) == (403, "url_ownership_unverified")
    pull = {"source": "PULL_FROM_URL", "video_url": "https://storage.googleapis.com/b/a.mp4"}
    status, body = await api.post(DIRECT, {"post_info": {"title": "t"}, "source_info": pull})
    assert (status, body["error"]["code"]) == (403, "privacy_level_option_mismatch")
    status, body = await api.post(DIRECT, {"post_info": {"title": "😀" * 1101, "privacy_level": "SELF_ONLY"},
                                           "source_info": pull})
    assert (status, body["error"]["code"]) == (400, "invalid_params")
    status, body = await api.post(INBOX, {"source_info": pull})
    assert status == 200 and "upload_url" not in body["data"]
    [post] = sandbox.posts()
    assert (post["post_mode"], post["source"], post["media_type"]) == ("MEDIA_UPLOAD", "PULL_FROM_URL", "VIDEO")
    assert (await api.status(post["publish_id"]))["status"] == "SEND_TO_USER_INBOX"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"source_info": {"source": "PULL_FROM_URL"}}, "post_info is required"),
        ({"post_info": [], "source_info": {"source": "PULL_FROM_URL"}}, "post_info is required"),
        ({"post_info": {"privacy_level": "SELF_ONLY"}}, "source_info is required"),
        ({"post_info": {"title": 7}, "source_info": {}}, "post_info.title must be a string"),
        ({"post_info": {"disable_duet": "yes"}, "source_info": {}}, "post_info.disable_duet must be a boolean"),
        ({"post_info": {"video_cover_timestamp_ms": -1}, "source_info": {}}, "video_cover_timestamp_ms"),
        ({"post_info": {"video_cover_timestamp_ms": True}, "source_info": {}}, "video_cover_timestamp_ms"),
    ],
)
async def test_a_direct_post_whose_post_info_breaks_tiktoks_rules_is_invalid_params(
    api: Api, body: dict[str, Any], problem: str
) -> None:
    status, answer = await api.post(DIRECT, body)
    assert (status, answer["error"]["code"]) == (400, "invalid_params")
    assert problem in answer["error"]["message"]
