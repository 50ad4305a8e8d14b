"""Outside tools (grpcurl, buf, node, bash) run against a service, as a user would run them.

`run` is for an in-process service: the tool runs as an asyncio subprocess, so the server in
the same event loop keeps serving while the tool talks to it. `grpcurl` blocks, for a service
in a process of its own. Nothing is skipped: a missing tool is a failure that says how to get
it (`make test` installs them all).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import GRPCURL, ROOT

# A safety net so a hung tool cannot hang the suite; no test asserts how long anything takes.
TOOL_TIMEOUT = 120.0


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


def tool(path: Path, how_to_install: str) -> Path:
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: {how_to_install}"
    return path


async def run(*argv: str | Path, env: dict[str, str] | None = None) -> Completed:
    """Runs a tool from the repository root to completion, without blocking the event loop."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, argv),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TOOL_TIMEOUT):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return Completed(proc.returncode or 0, out.decode(), err.decode())


async def grpcurl_async(address: str, *args: str) -> Completed:
    """`grpcurl -plaintext <address> <args>` against an in-process service."""
    tool(GRPCURL, "run `make` (requirements-dev.txt installs grpcurl into .venv)")
    return await run(GRPCURL, "-plaintext", "-max-time", "10", address, *args)


def grpcurl(address: str, method: str, data: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """`grpcurl -plaintext [-d <data as JSON>] <address> <method>`, blocking: for a service
    in a process of its own."""
    args = [str(tool(GRPCURL, "run `make` (requirements-dev.txt installs grpcurl into .venv)")),
            "-plaintext", "-max-time", "10"]
    if data is not None:
        args += ["-d", json.dumps(data)]
    return subprocess.run([*args, address, method], capture_output=True, text=True, timeout=20, check=False)
