"""Both emulators' state files: the world outlives a restart (a stop, or a SIGKILL right
after an answer), lifecycles go on in wall-clock time, tokens are kept only as hashes, the
file is replaced whole, and a file that cannot be used stops the start with one line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from server.sandbox.persist import StateFileError
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

REPO = Path(__file__).resolve().parents[2]
IG_USER = "17841400000000001"
IMAGE = "https://storage.googleapis.com/demo-bucket/photo.jpg"
TOKEN = "a-sandbox-token-that-must-not-be-stored"


async def until(condition: Callable[[], Awaitable[bool]], bound: float = 10.0) -> None:
    deadline = time.monotonic() + bound
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound}s")
        await asyncio.sleep(0.02)


class Http:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as response:
            return response.status, await response.json()


# --- Instagram -------------------------------------------------------------------------------


async def test_instagram_world_survives_a_restart(tmp_path):
    path = tmp_path / "ig.json"
    first = InstagramSandbox(InstagramSandboxConfig(processing_delay=0), state_file=path)
    async with aiohttp.ClientSession() as session:
        http = Http(session, await first.start())
        children = []
        for i in range(2):
            item = {"image_url": IMAGE.replace(".jpg", f"-{i}.jpg"), "is_carousel_item": "true"}
            _, body = await http.call("POST", f"/{IG_USER}/media", data=item)
            children.append(body["id"])
        carousel = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": "kept"}
        _, body = await http.call("POST", f"/{IG_USER}/media", data=carousel)
        _, published = await http.call("POST", f"/{IG_USER}/media_publish", data={"creation_id": body["id"]})
        first.revoke_token("revoked-token")
        await first.stop()
    posts, stats = first.posts(), first.stats()
    assert "revoked-token" not in path.read_text() and TOKEN not in path.read_text()

    second = InstagramSandbox(InstagramSandboxConfig(processing_delay=0), state_file=path)
    async with aiohttp.ClientSession() as session:
        http = Http(session, await second.start())
        try:
            assert second.posts() == posts and second.stats() == stats
            status, body = await http.call("GET", f"/{body['id']}", params={"fields": "status_code"})
            assert (status, body["status_code"]) == (200, "PUBLISHED")
            status, media = await http.call("GET", f"/{published['id']}", params={"fields": "permalink,caption"})
            assert status == 200 and media["caption"] == "kept"
            # Publishing the same container again is refused: the emulator remembers it went live.
            status, error = await http.call("POST", f"/{IG_USER}/media_publish", data={"creation_id": body["id"]})
            assert status == 400 and "already been published" in error["error"]["message"]
            # The publishing quota counts the post made before the restart.
            _, limit = await http.call("GET", f"/{IG_USER}/content_publishing_limit")
            assert limit["data"][0]["quota_usage"] == 1
            assert second.state.revoked_at("revoked-token") is not None
        finally:
            await second.stop()


async def test_instagram_processing_and_ttl_go_on_in_wall_clock_time_across_a_restart(tmp_path):
    path = tmp_path / "ig.json"
    first = InstagramSandbox(InstagramSandboxConfig(processing_delay=0.5, container_ttl=600), state_file=path)
    async with aiohttp.ClientSession() as session:
        http = Http(session, await first.start())
        _, body = await http.call("POST", f"/{IG_USER}/media", data={"image_url": IMAGE})
        container = body["id"]
        created = first.state.containers[container]
        await first.stop()

    # Restarted with other delays: the container keeps the times it was created with, so it
    # finishes half a second after its creation (not a minute after the restart) and expires
    # when the first world said (its creation time kept, not the restart's).
    second = InstagramSandbox(InstagramSandboxConfig(processing_delay=60, container_ttl=600), state_file=path)
    await second.start()
    try:
        kept = second.state.containers[container]
        assert (kept.created_wall, kept.ready_at) == (created.created_wall, created.ready_at)

        async def status() -> str:
            record = second.container(container)
            assert record is not None
            return str(record["status_code"])

        await until(lambda: _is(status, "FINISHED"))
        second.config.container_ttl = time.time() - created.created_wall  # as if 600 s had passed
        assert await status() == "EXPIRED"
    finally:
        await second.stop()


async def _is(read: Callable[[], Awaitable[str]], wanted: str) -> bool:
    return await read() == wanted


# --- TikTok ----------------------------------------------------------------------------------


async def test_tiktok_world_survives_a_restart(tmp_path):
    path = tmp_path / "tt.json"
    first = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, moderation_delay=0), state_file=path)
    first.add_creator("private-creator-token", private=True, username="kept_creator", open_id="creator-1")
    first.add_refresh_token("a-refresh-token", "private-creator-token")
    async with aiohttp.ClientSession() as session:
        http = Http(session, await first.start())
        init = {
            "post_info": {"title": "kept", "privacy_level": "PUBLIC_TO_EVERYONE"},
            "source_info": {"source": "PULL_FROM_URL", "photo_images": [IMAGE, IMAGE], "photo_cover_index": 0},
            "post_mode": "DIRECT_POST", "media_type": "PHOTO",
        }
        _, body = await http.call("POST", "/v2/post/publish/content/init/", json=init)
        publish_id = body["data"]["publish_id"]
        await first.stop()
    text = path.read_text()
    for secret in (TOKEN, "private-creator-token", "a-refresh-token"):
        assert secret not in text

    second = TikTokSandbox(TikTokSandboxConfig(processing_delay=0, moderation_delay=0), state_file=path)
    async with aiohttp.ClientSession() as session:
        http = Http(session, await second.start())
        try:
            assert [p["publish_id"] for p in second.posts()] == [publish_id]
            _, body = await http.call("POST", "/v2/post/publish/status/fetch/", json={"publish_id": publish_id})
            assert body["data"]["status"] == "PUBLISH_COMPLETE" and body["data"]["publicaly_available_post_id"]
            # The creator and the refresh grant made before the restart still hold.
            assert second.accounts.creator("private-creator-token", register=False).username == "kept_creator"
            async with session.post(
                http.base + "/v2/oauth/token/",
                data={"grant_type": "refresh_token", "refresh_token": "a-refresh-token", "client_key": "k",
                      "client_secret": "s"},
            ) as response:
                assert response.status == 200 and (await response.json())["open_id"] == "creator-1"
        finally:
            await second.stop()


# --- the command line: --state, SIGKILL ----------------------------------------------------------


class Cli:
    """`python -m server.sandbox.<name> --state FILE` on a free port."""

    def __init__(self, name: str, state: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"server.sandbox.{name}", "--port", "0", "--state", str(state), *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.base = self.proc.stdout.readline().strip()
        assert self.base.startswith("http://127.0.0.1:"), self.proc.stderr.read() if self.proc.stderr else ""

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.mark.parametrize("name", ["instagram", "tiktok"])
async def test_what_was_answered_survives_a_sigkill(tmp_path, name):
    state = tmp_path / "state.json"
    first = Cli(name, state, "--processing-delay", "0.3")
    try:
        async with aiohttp.ClientSession() as session:
            http = Http(session, first.base)
            if name == "instagram":
                _, body = await http.call("POST", f"/{IG_USER}/media", data={"image_url": IMAGE})
                made = body["id"]
            else:
                init = {
                    "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
                    "source_info": {"source": "PULL_FROM_URL", "photo_images": [IMAGE], "photo_cover_index": 0},
                    "post_mode": "DIRECT_POST", "media_type": "PHOTO",
                }
                _, body = await http.call("POST", "/v2/post/publish/content/init/", json=init)
                made = body["data"]["publish_id"]
    finally:
        first.kill()  # no shutdown: only what was saved before the answer remains

    second = Cli(name, state)
    try:
        async with aiohttp.ClientSession() as session:
            http = Http(session, second.base)

            async def finished() -> bool:
                if name == "instagram":
                    status, body = await http.call("GET", f"/{made}", params={"fields": "status_code"})
                    assert status == 200, body
                    return body["status_code"] == "FINISHED"
                status, body = await http.call("POST", "/v2/post/publish/status/fetch/", json={"publish_id": made})
                assert status == 200, body
                return body["data"]["status"] == "PUBLISH_COMPLETE"

            await until(finished)
    finally:
        second.kill()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "no temporary file is left behind"


@pytest.mark.parametrize("name", ["instagram", "tiktok"])
def test_a_state_file_that_cannot_be_used_stops_the_cli_with_one_line(tmp_path, name):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", f"server.sandbox.{name}", "--port", "0", "--state", str(state)],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    title = "Instagram Graph API sandbox" if name == "instagram" else "TikTok sandbox"
    assert result.stderr.splitlines() == [
        f"{title}: --state {state} is not JSON; fix or delete it to start afresh"
    ]


@pytest.mark.parametrize(
    "contents, reason",
    [
        ({"emulator": "tiktok", "version": 1, "state": {}}, "is not a state file of the instagram emulator"),
        ({"emulator": "instagram", "version": 99, "state": {}}, "has format version 99, not 1"),
        ({"emulator": "instagram", "version": 1, "state": {"containers": []}}, "does not hold what the emulator"),
    ],
)
async def test_a_state_file_of_another_shape_is_refused(tmp_path, contents, reason):
    path = tmp_path / "ig.json"
    path.write_text(json.dumps(contents))
    sandbox = InstagramSandbox(state_file=path)
    with pytest.raises(StateFileError) as info:
        await sandbox.start()
    assert info.value.reason.startswith(reason)


def test_the_service_names_the_database_when_a_sandbox_state_file_is_unusable(tmp_path):
    (tmp_path / "d.sandbox-tiktok.json").write_text("[]")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISTRIBUTION_", "GRPC_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "generated")]),
        DISTRIBUTION_LISTEN="127.0.0.1:0", DISTRIBUTION_METRICS_LISTEN="off", DISTRIBUTION_DB=str(tmp_path / "d.db"),
        DISTRIBUTION_HTTP_LISTEN="off",
    )
    result = subprocess.run(
        [sys.executable, "-m", "server"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )
    state = tmp_path / "d.sandbox-tiktok.json"
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"distribution: cannot start: DISTRIBUTION_DB='{tmp_path / 'd.db'}' has a TikTok sandbox state file beside "
        f"it that cannot be used ({state} is not a state file of the tiktok emulator); delete {state} to start the "
        "TikTok sandbox afresh"
    ]


async def test_a_state_file_that_cannot_be_written_is_logged_and_the_emulator_serves_on(tmp_path, caplog):
    directory = tmp_path / "state"
    sandbox = InstagramSandbox(state_file=directory / "ig.json")
    async with aiohttp.ClientSession() as session:
        http = Http(session, await sandbox.start())
        directory.write_text("")  # a file where the state file's directory should be
        try:
            status, body = await http.call("POST", f"/{IG_USER}/media", data={"image_url": IMAGE})
            assert status == 200 and body["id"]
        finally:
            await sandbox.stop()
    assert [r.getMessage() for r in caplog.records if r.name == "sandbox"][:1] == ["sandbox state file not written"]
