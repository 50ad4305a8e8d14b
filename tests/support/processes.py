"""Child processes: the service (`python -m server`) and the platform emulators
(`python -m server.sandbox.<platform>`), each in its own process on loopback, so the service
can be killed with SIGKILL while the platforms live on, and so a benchmark can read each
one's CPU time.

Every child writes its stdout and stderr to a log file. A child is ready when its own output
says so (the emulators print their URL, the service its "listening on" banner once it serves
and reports SERVING), so a port of 0 works and nothing polls a port that may not be ours.
Each wait has a blocking form (`start`, `wait_for`) and an awaitable one (`astart`,
`await_for`) that leaves the event loop running, e.g. for callers that keep retrying while
the service restarts.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

POLL_SECONDS = 0.02


def free_port() -> int:
    """A loopback port free at the time of asking (for a child that cannot be given port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any DISTRIBUTION_* setting, plus `values`: a child
    sees only the settings its starter chose, whatever the developer's shell exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTION_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(values)
    return env


class Child:
    """`python <args>` with its output appended to `log_path`; started again after it ends
    (a restart), each run's output is told apart from the earlier ones'."""

    start_seconds = 30.0  # how long `start`/`astart` wait for the child to say it is ready

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self.env = dict(env) if env is not None else clean_env()
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self._run_starts_at = 0  # where this run's output begins in the log file

    # --- running ----------------------------------------------------------------------------

    def spawn(self) -> None:
        """Starts the process and returns at once (see `start`/`astart` to wait until ready)."""
        if self.alive():
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._run_starts_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *self.args],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self._popen().pid

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status, once it ends by itself (subprocess.TimeoutExpired after `timeout`)."""
        return self._popen().wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as in a crash."""
        if self.alive():
            popen = self._popen()
            popen.send_signal(signal.SIGKILL)
            popen.wait()

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, then its exit status (subprocess.TimeoutExpired if it outlives `timeout`)."""
        popen = self._popen()
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
        return popen.wait(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Ends it if it still runs: SIGTERM, and SIGKILL when that takes over `timeout`."""
        if not self.alive():
            return
        try:
            self.terminate(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    # --- output -----------------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything every run of it wrote."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def output(self) -> str:
        """What the current (or last) run wrote."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._run_starts_at)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Blocks until this run's output matches `pattern` (a regex); returns the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (match := self._look_for(regex)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(self._did_not_print(pattern, timeout))
            time.sleep(POLL_SECONDS)
        return match

    async def await_for(self, pattern: str) -> re.Match[str]:
        """`wait_for` that lets the event loop run meanwhile (bound it with asyncio.timeout)."""
        regex = re.compile(pattern)
        # A file another process writes has no event to await: polling it is the way.
        while (match := self._look_for(regex)) is None:  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)
        return match

    async def _await_ready(self, pattern: str) -> re.Match[str]:
        try:
            async with asyncio.timeout(self.start_seconds):
                return await self.await_for(pattern)
        except TimeoutError:
            raise TimeoutError(self._did_not_print(pattern, self.start_seconds)) from None

    def _look_for(self, regex: re.Pattern[str]) -> re.Match[str] | None:
        match = regex.search(self.output())
        if match is None and not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.returncode}; {self.log_path}:\n{self.log_tail()}")
        return match

    def _did_not_print(self, pattern: str, seconds: float) -> str:
        return f"{self.name} did not print {pattern!r} within {seconds} s; {self.log_path}:\n{self.log_tail()}"

    def _popen(self) -> subprocess.Popen[bytes]:
        if self.popen is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.popen


# --- the emulators ----------------------------------------------------------------------------

# The first line an emulator prints, whole (a partly written line must not pass for a port).
_URL = r"(?m)^(http://127\.0\.0\.1:\d+)(/v\d+\.\d+)?\r?\n"


class EmulatorProcess(Child):
    """`python -m server.sandbox.<platform> --port 0 <options>`, driven over its
    `/_sandbox/...` control API (server/sandbox/README.md#control-api)."""

    def __init__(
        self, platform: str, workdir: Path, *options: str, port: int = 0, log_path: Path | None = None
    ) -> None:
        super().__init__(
            platform,
            ["-m", f"server.sandbox.{platform}", "--port", str(port), *options],
            log_path or workdir / f"{platform}.log",
        )
        self.platform = platform
        self.origin = ""  # http://127.0.0.1:<port>: where /_sandbox/... is served
        self.base_url = ""  # what the service's DISTRIBUTION_<PLATFORM>_API_BASE points at

    start_seconds = 20.0

    def start(self) -> EmulatorProcess:
        self.spawn()
        self._serving(self.wait_for(_URL, self.start_seconds))
        return self

    async def astart(self) -> EmulatorProcess:
        self.spawn()
        self._serving(await self._await_ready(_URL))
        return self

    def _serving(self, url: re.Match[str]) -> None:
        self.origin = url.group(1)
        self.base_url = url.group(1) + (url.group(2) or "")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """`method /_sandbox/<path>` with a JSON body; the JSON answer (HTTPError on 4xx/5xx)."""
        request = urllib.request.Request(
            f"{self.origin}/_sandbox/{path.lstrip('/')}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    async def acontrol(self, method: str, path: str, body: Any = None) -> Any:
        """`control` off the event loop."""
        return await asyncio.to_thread(self.control, method, path, body)

    def calls(self) -> dict[str, int]:
        """Calls per platform endpoint (control calls are not counted)."""
        return dict(self.control("GET", "calls").get("counts", {}))

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts")["posts"])

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "stats"))

    async def acalls(self) -> dict[str, int]:
        return await asyncio.to_thread(self.calls)

    async def aposts(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.posts)


# --- the service ------------------------------------------------------------------------------

_LISTENING = r"Distribution is listening on (\S+)\s"


def service_env(workdir: Path, instagram_api_base: str = "sandbox", tiktok_api_base: str = "sandbox",
                **overrides: str) -> dict[str, str]:
    """DISTRIBUTION_* variables for a service over `workdir`/distribution.db on a free port,
    metrics and the HTTP gateway off, a 1 s shutdown grace, media inspected against the service's own sandbox
    media host; `overrides` are further DISTRIBUTION_* variables."""
    return {
        "DISTRIBUTION_LISTEN": "127.0.0.1:0",
        "DISTRIBUTION_DB": str(workdir / "distribution.db"),
        "DISTRIBUTION_INSTAGRAM_API_BASE": instagram_api_base,
        "DISTRIBUTION_TIKTOK_API_BASE": tiktok_api_base,
        "DISTRIBUTION_METRICS_LISTEN": "off",
        # Its default fixed port (127.0.0.1:8080) would clash between services run at once.
        "DISTRIBUTION_HTTP_LISTEN": "off",
        "DISTRIBUTION_SHUTDOWN_GRACE": "1",
        # Emulators in their own processes are no "sandbox" API base, which would make the
        # media fetch direct (the internet): the service's own sandbox media host instead.
        "DISTRIBUTION_MEDIA_FETCH": "sandbox",
        **overrides,
    }


class ServiceProcess(Child):
    """`python -m server` (or another module that runs it, e.g. bench.traced_server) with
    the given DISTRIBUTION_* variables (see `service_env`), its output in `log_path`.

    Started on port 0, it keeps the port it got: a restart after `kill` listens on the same
    address, as a service behind a fixed address would, so clients' channels reconnect."""

    def __init__(
        self,
        settings: Mapping[str, str],
        log_path: Path,
        module: Sequence[str] = ("-m", "server"),
    ) -> None:
        super().__init__("service", module, log_path, clean_env(**settings))
        self.address = ""

    @property
    def db_path(self) -> Path:
        return Path(self.env["DISTRIBUTION_DB"])

    start_seconds = 60.0

    def start(self) -> ServiceProcess:
        self.spawn()
        self._serving(self.wait_for(_LISTENING, self.start_seconds))
        return self

    async def astart(self) -> ServiceProcess:
        self.spawn()
        self._serving(await self._await_ready(_LISTENING))
        return self

    def _serving(self, banner: re.Match[str]) -> None:
        self.address = banner.group(1)
        self.env["DISTRIBUTION_LISTEN"] = self.address

    def json_logs(self) -> list[dict[str, Any]]:
        """The JSON log lines of every run, oldest first."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]
