"""Real processes for crash tests and the soak: emulators and the service, each its own
process on loopback, so the service can be killed with SIGKILL while the platforms live on."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTION_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    env.update(extra)
    return env


class Emulator:
    """`python -m server.sandbox.<name>` with its /_sandbox control API."""

    def __init__(self, name: str, *args: str) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.origin}/v23.0" if name == "instagram" else self.origin
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"server.sandbox.{name}", "--port", str(self.port), *args],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, f"{self.origin}/_sandbox/{path}", json=body) as response:
                response.raise_for_status()
                return await response.json()

    async def ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.control("GET", "calls")
                return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def calls(self) -> dict[str, int]:
        return (await self.control("GET", "calls"))["counts"]

    async def posts(self) -> list[dict[str, Any]]:
        return (await self.control("GET", "posts"))["posts"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ServiceProcess:
    """`python -m server` on a free port, over a given database, against given platform bases."""

    def __init__(self, workdir: Path, instagram_base: str, tiktok_base: str, **env: str) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.workdir = workdir
        self.env = _env(
            DISTRIBUTION_LISTEN=self.address,
            DISTRIBUTION_METRICS_LISTEN="off",
            DISTRIBUTION_DB=str(workdir / "distribution.db"),
            DISTRIBUTION_INSTAGRAM_API_BASE=instagram_base,
            DISTRIBUTION_TIKTOK_API_BASE=tiktok_base,
            DISTRIBUTION_SHUTDOWN_GRACE="1",
            DISTRIBUTION_LOG_LEVEL="WARNING",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 30.0) -> None:
        log = open(self.workdir / "service.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server"], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        async with grpc.aio.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"service exited with {self.proc.returncode}; see {self.workdir}/service.log")
                try:
                    response = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("service did not become healthy")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
