"""Both emulators' command line (server.sandbox.cli): serve on the given port, stop cleanly.

The crash tests, the soak and the benchmarks run the emulators as processes and end them
with SIGTERM; a stop must release the port even while a faulted call is stalled.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[2]

# (emulator, a call to stall, base URL suffix): the call is answered only after a long stall.
STALLED_CALL = {
    "instagram": ("media_list", "GET", "/v23.0/17841405822304914/media"),
    "tiktok": ("creator_info", "POST", "/v2/post/publish/creator_info/query/"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a new server could listen on `port` (as AppServer binds: SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("name", sorted(STALLED_CALL))
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_stops_cleanly_on_signal(name: str, stop_signal: signal.Signals) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"server.sandbox.{name}", "--port", str(port),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode().strip()
        assert line.startswith(f"http://127.0.0.1:{port}"), line
        assert not port_is_free(port)
        origin = f"http://127.0.0.1:{port}"
        endpoint, method, path = STALLED_CALL[name]
        rule = {"endpoint": endpoint, "kind": "timeout", "rate": 1, "stall_seconds": 60}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{origin}/_sandbox/faults", json={"rules": [rule]}) as resp:
                assert resp.status == 200
            headers = {"Authorization": "Bearer token"}
            stalled = asyncio.create_task(session.request(method, origin + path, headers=headers))
            await _until_injected(session, origin)

            proc.send_signal(stop_signal)
            assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
            with pytest.raises(aiohttp.ClientConnectionError):
                await stalled  # the stalled call's connection is reset, not left hanging
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert port_is_free(port)


async def _until_injected(session: aiohttp.ClientSession, origin: str) -> None:
    """Waits until the emulator has stalled the call (it injected the fault)."""
    for _ in range(500):
        async with session.get(f"{origin}/_sandbox/faults") as resp:
            if (await resp.json())["injected"]:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the stalled call never reached the emulator")
