"""Operations: reflection (real grpcurl), health, graceful shutdown, config errors, JSON logs.

The in-process tests run grpcurl with asyncio subprocesses so the server in this event loop
keeps serving. The process tests run `python -m server` for real and stop it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from distribution.v1 import publish_pb2
from distribution.v1.account_service_pb2 import GetAccountRequest
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import connect, images, register

ROOT = Path(__file__).resolve().parents[1]
GRPCURL = str(ROOT / ".venv" / "bin" / "grpcurl")
APP_SERVICES = (
    "distribution.v1.AccountService",
    "distribution.v1.MediaService",
    "distribution.v1.PublishingService",
)
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def grpcurl_async(address: str, *args: str, timeout: float = 20.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        GRPCURL, "-plaintext", "-max-time", "10", address, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode, out.decode(), err.decode()


# --- (a) reflection -------------------------------------------------------------


async def test_grpcurl_lists_every_service(service):
    rc, out, err = await grpcurl_async(service.address, "list")
    assert rc == 0, err
    assert set(out.split()) == {*APP_SERVICES, HEALTH, REFLECTION}


async def test_grpcurl_describes_a_service(service):
    rc, out, err = await grpcurl_async(service.address, "describe", "distribution.v1.PublishingService")
    assert rc == 0, err
    assert "distribution.v1.PublishingService is a service" in out
    assert "rpc PublishInstagramCarousel ( .distribution.v1.PublishInstagramCarouselRequest )" in out
    assert "rpc PublishTikTokCarousel" in out


async def test_grpcurl_describes_a_message(service):
    rc, out, err = await grpcurl_async(
        service.address, "describe", "distribution.v1.PublishInstagramCarouselRequest"
    )
    assert rc == 0, err
    assert "repeated string media_ids = 1;" in out
    assert "string instagram_account_id = 2;" in out


async def test_grpcurl_describes_a_method(service):
    rc, out, err = await grpcurl_async(
        service.address, "describe", "distribution.v1.PublishingService.PublishInstagramCarousel"
    )
    assert rc == 0, err
    assert "rpc PublishInstagramCarousel" in out


# --- (b) health -----------------------------------------------------------------


@pytest.fixture
def health(channel) -> health_pb2_grpc.HealthStub:
    return health_pb2_grpc.HealthStub(channel)


async def check(health, name: str) -> int:
    return (await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status


async def test_health_is_serving_overall_and_per_service(health):
    for name in ("", *APP_SERVICES):
        assert await check(health, name) == SERVING, name


async def test_health_of_an_unknown_service_is_not_found(health):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "distribution.v1.NoSuchService")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_graceful_shutdown_shows_not_serving_over_the_wire(service, health):
    await service.grpc.health.enter_graceful_shutdown()
    for name in ("", *APP_SERVICES):
        assert await check(health, name) == NOT_SERVING, name


async def test_stop_turns_health_not_serving_or_closes(service, health):
    stopping = asyncio.create_task(service.stop(1.0))
    try:
        await asyncio.sleep(0)  # let stop() begin
        try:
            status = await check(health, "")
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.UNAVAILABLE, err
        else:
            assert status == NOT_SERVING
    finally:
        await asyncio.wait_for(stopping, 10)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_stop_tells_watchers_not_serving_before_the_port_closes(service, health):
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    first = await asyncio.wait_for(watch.read(), 5)
    assert first.status == SERVING

    stopping = asyncio.create_task(service.stop(5.0))
    try:
        second = await asyncio.wait_for(watch.read(), 5)
        assert second.status == NOT_SERVING
    finally:
        watch.cancel()
        await asyncio.wait_for(stopping, 10)

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_stop_lets_an_in_flight_publish_finish(service, accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.processing_delay = 0.3
    account = await connect(accounts)
    ids = await register(media, *images(2))

    async def publish():
        return await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id), timeout=15
        )

    call = asyncio.create_task(publish())
    for _ in range(200):
        if instagram_sandbox.calls.total() or call.done():
            break
        await asyncio.sleep(0.01)
    assert not call.done()
    assert instagram_sandbox.calls.total() > 0  # the publish is under way

    await asyncio.wait_for(service.stop(10.0), 15)
    response = await asyncio.wait_for(call, 5)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts()) == 1


# --- the RPC log line, in-process ------------------------------------------------


def rpc_records(caplog, method: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "rpc" and getattr(r, "method", "") == method]


async def test_rpc_log_line_carries_the_domain_error_code(accounts, caplog):
    caplog.set_level(logging.DEBUG, logger="distribution.rpc")
    with pytest.raises(grpc.aio.AioRpcError):
        await accounts.GetAccount(GetAccountRequest(id="not-a-uuid"))
    await accounts.GetAccount(GetAccountRequest(id=(await connect(accounts)).id))
    records = rpc_records(caplog, "/distribution.v1.AccountService/GetAccount")
    assert [r.code for r in records] == ["INVALID_ARGUMENT", "OK"]
    assert records[0].reason == "INVALID_REQUEST"
    assert all(r.duration_ms >= 0 for r in records)


async def test_rpc_log_line_code_is_the_status_of_a_handler_abort(health, caplog):
    caplog.set_level(logging.DEBUG, logger="distribution.rpc")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check(health, "nope.Service")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    records = rpc_records(caplog, "/grpc.health.v1.Health/Check")
    assert [r.code for r in records] == ["NOT_FOUND"]


# --- the real process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTION_")}
    env.update(values)
    return env


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class ServerProcess:
    """`python -m server` on a free loopback port, with the sandbox emulators in-process."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.address = f"127.0.0.1:{free_port()}"
        self.env = clean_env(
            DISTRIBUTION_LISTEN=self.address,
            DISTRIBUTION_METRICS_LISTEN=f"127.0.0.1:{free_port()}",
            DISTRIBUTION_DB=str(workdir / "d.db"),
            DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"

    def start(self) -> None:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server"], cwd=self.workdir, env=self.env, stdout=out, stderr=err
            )

    def grpcurl(self, method: str, data: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
        args = [GRPCURL, "-plaintext", "-max-time", "10"]
        if data is not None:
            args += ["-d", json.dumps(data)]
        return subprocess.run([*args, self.address, method], capture_output=True, text=True, timeout=20)

    def call(self, method: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.grpcurl(method, data)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_serving(self, bound: float = 20.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.stderr}")
            result = self.grpcurl("grpc.health.v1.Health/Check")
            if result.returncode == 0 and json.loads(result.stdout).get("status") == "SERVING":
                return
            time.sleep(0.1)
        raise AssertionError(f"server not SERVING within {bound}s: {self.stderr}")

    def terminate(self, bound: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=bound)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


# --- (c) graceful shutdown of the process -------------------------------------


def test_sigterm_stops_the_process_cleanly_with_json_logs(tmp_path):
    # Health and reflection calls are logged at DEBUG (probes would flood INFO), so ask for DEBUG.
    server = ServerProcess(tmp_path, DISTRIBUTION_LOG_LEVEL="DEBUG")
    try:
        server.start()
        server.wait_serving()
        assert server.call("grpc.health.v1.Health/Check", {"service": APP_SERVICES[2]}) == {"status": "SERVING"}
        code = server.terminate()
    finally:
        server.kill()

    assert code == 0, server.stderr
    logs = json_lines(server.stderr)
    assert logs, server.stderr
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in logs)
    health_calls = [e for e in logs if e["message"] == "rpc" and e.get("method") == "/grpc.health.v1.Health/Check"]
    assert health_calls, server.stderr
    assert {e["code"] for e in health_calls} == {"OK"}
    for entry in health_calls:
        assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0
    messages = [e["message"] for e in logs]
    assert "started" in messages
    assert messages.index("shutting down") < messages.index("stopped")
    assert messages[-1] == "stopped"
    assert (tmp_path / "d.db").exists()


# --- (d) bad configuration ------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DISTRIBUTION_LISTEN", "nonsense"),
        ("DISTRIBUTION_INSTAGRAM_API_BASE", "ftp://x"),
        ("DISTRIBUTION_LOG_LEVEL", "LOUD"),
        ("DISTRIBUTION_LIST_CACHE_ENTRIES", "-1"),
    ],
)
def test_bad_config_fails_at_start_with_one_line(tmp_path, variable, value):
    env = clean_env(
        DISTRIBUTION_LISTEN=f"127.0.0.1:{free_port()}",
        DISTRIBUTION_METRICS_LISTEN="off",
        DISTRIBUTION_DB=str(tmp_path / "d.db"),
        DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0",
    )
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "-m", "server"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert value in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "d.db").exists()


# --- (e, f) the README walkthrough, then SIGTERM ------------------------------


SECRET = "SECRET-TOKEN-123"


@dataclass
class Walkthrough:
    account: dict[str, Any]
    fetched_account: dict[str, Any]
    media: list[dict[str, Any]]
    publish: dict[str, Any]
    rejected_connect: subprocess.CompletedProcess[str]
    transcript: str
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> Walkthrough:
    workdir = tmp_path_factory.mktemp("walkthrough")
    # DEBUG makes the secrets check strictest: every logger speaks.
    server = ServerProcess(workdir, DISTRIBUTION_LOG_LEVEL="DEBUG")
    transcript: list[str] = []
    try:
        server.start()
        server.wait_serving()

        def call(method: str, data: dict[str, Any]) -> dict[str, Any]:
            result = server.grpcurl(method, data)
            transcript.extend([result.stdout, result.stderr])
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)

        account = call(
            "distribution.v1.AccountService/ConnectAccount",
            {
                "platform": "PLATFORM_INSTAGRAM",
                "external_account_id": "17841400000000001",
                "username": "demo",
                "access_token": SECRET,
            },
        )["account"]
        fetched = call("distribution.v1.AccountService/GetAccount", {"id": account["id"]})["account"]
        media = [
            call("distribution.v1.MediaService/RegisterMedia", {"url": url})["media"]
            for url in ("gs://demo-bucket/autumn-1.jpg", "https://storage.googleapis.com/demo-bucket/autumn-2.jpg")
        ]
        publish = call(
            "distribution.v1.PublishingService/PublishInstagramCarousel",
            {
                "media_ids": [m["id"] for m in media],
                "instagram_account_id": account["id"],
                "caption": "Autumn in the sandbox #demo",
            },
        )
        rejected = server.grpcurl(
            "distribution.v1.AccountService/ConnectAccount",
            {"platform": "PLATFORM_INSTAGRAM", "external_account_id": "not-digits", "access_token": SECRET},
        )
        transcript.extend([rejected.stdout, rejected.stderr])
        code = server.terminate()
    finally:
        server.kill()
    return Walkthrough(
        account=account,
        fetched_account=fetched,
        media=media,
        publish=publish,
        rejected_connect=rejected,
        transcript="\n".join(transcript),
        exit_code=code,
        stdout=server.stdout,
        stderr=server.stderr,
    )


def test_walkthrough_publishes_a_carousel(walkthrough):
    w = walkthrough
    assert w.exit_code == 0, w.stderr
    assert w.account["state"] == "ACCOUNT_STATE_ACTIVE"
    assert w.account["platform"] == "PLATFORM_INSTAGRAM"
    assert [m["storage"] for m in w.media] == ["STORAGE_GCS", "STORAGE_GCS"]
    assert [m["kind"] for m in w.media] == ["MEDIA_KIND_IMAGE", "MEDIA_KIND_IMAGE"]
    # grpcurl prints proto field names (snake_case), not the lowerCamelCase JSON names.
    assert set(w.publish) == {"instagram_publish_id", "ig_media_id", "permalink", "image_count", "state"}
    assert len(w.publish["instagram_publish_id"]) == 36
    assert w.publish["ig_media_id"].isdigit()
    assert w.publish["permalink"].startswith("https://www.instagram.com/p/")
    assert w.publish["image_count"] == 2
    assert w.publish["state"] == "PUBLISH_STATE_PUBLISHED"


def test_walkthrough_logs_one_json_line_per_rpc(walkthrough):
    logs = json_lines(walkthrough.stderr)
    rpcs = [e for e in logs if e["message"] == "rpc" and e["method"].startswith("/distribution.v1.")]
    assert [(e["method"].rsplit("/", 1)[1], e["code"]) for e in rpcs] == [
        ("ConnectAccount", "OK"),
        ("GetAccount", "OK"),
        ("RegisterMedia", "OK"),
        ("RegisterMedia", "OK"),
        ("PublishInstagramCarousel", "OK"),
        ("ConnectAccount", "INVALID_ARGUMENT"),
    ]
    assert rpcs[4]["publish_id"] == walkthrough.publish["instagram_publish_id"]
    assert all(isinstance(e["duration_ms"], (int, float)) for e in rpcs)


def test_walkthrough_keeps_the_token_out_of_responses_and_logs(walkthrough):
    w = walkthrough
    assert w.rejected_connect.returncode != 0
    assert "InvalidArgument" in w.rejected_connect.stderr
    assert "external_account_id" in w.rejected_connect.stderr
    assert w.account["id"] in w.transcript  # the transcript is what we think it is
    assert "17841400000000001" in w.stderr or w.publish["instagram_publish_id"] in w.stderr
    assert SECRET not in w.transcript
    assert SECRET not in w.stdout + w.stderr
    assert "access_token" not in w.account and "access_token" not in w.fetched_account
