"""Process plumbing and measurement helpers shared by every benchmark case.

Everything here is about the harness, not the service: starting and stopping the processes
(service, emulators, bare server, load clients), reading their CPU time and memory from
/proc, talking to the emulators' control API, and summarising latencies.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- /proc readers -------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; fields after the closing paren are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size since the process started."""
    return status_kb(pid, "VmHWM") / 1024


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import grpc  # noqa: PLC0415 - only the version is wanted

    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": str(os.cpu_count() or 0),
        "nproc (affinity)": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "sqlite": __import__("sqlite3").sqlite_version,
        "service event loop": _service_event_loop(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _service_event_loop() -> str:
    """The event loop `python -m server` runs on by default (DISTRIBUTION_EVENT_LOOP)."""
    try:
        from server.config import Settings  # noqa: PLC0415
    except ImportError:
        return "unknown"
    loop = getattr(Settings, "event_loop", "asyncio")
    if loop == "uvloop":
        try:
            import uvloop  # noqa: PLC0415

            loop = f"uvloop {uvloop.__version__}"
        except ImportError:
            pass
    return loop


# --- statistics ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summarize(latencies_s: list[float]) -> dict[str, float]:
    """Median, p99 and max in milliseconds, plus the sample count."""
    ms = [v * 1000 for v in latencies_s]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


# --- processes -----------------------------------------------------------------------------


@dataclass
class Proc:
    """A child process started by the harness, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


class Processes(AbstractContextManager["Processes"]):
    """Starts child processes and stops every one of them (by its own handle) on exit."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="distribution-bench-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        self.started: list[Proc] = []

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.started):
            proc.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.workdir / f"{name}-{len(self.started)}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        log = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        try:
            popen = subprocess.Popen(
                [PYTHON, *args], cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def wait_for(self, proc: Proc, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Waits until the process's output contains `pattern` (a regex); returns the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = proc.log_path.read_text(errors="replace")
            except OSError:
                text = ""
            match = regex.search(text)
            if match:
                return match
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
            time.sleep(0.02)
        raise TimeoutError(f"{proc.name} did not print {pattern!r} within {timeout}s:\n{proc.log_tail()}")

    # --- the processes the cases use --------------------------------------------------------

    def instagram(self, processing_delay: float) -> Proc:
        """The Instagram emulator alone, with per-user publishing quotas lifted for load runs."""
        proc = self.spawn(
            "instagram",
            ["-m", "server.sandbox.instagram", "--port", "0", "--processing-delay", str(processing_delay),
             "--publish-quota", "100000000"],
        )
        base = self.wait_for(proc, r"(http://127\.0\.0\.1:\d+/v\d+\.\d+)").group(1)
        proc.info.update(base=base, origin=base.rsplit("/", 1)[0])
        # 400 containers per IG user per 24 h would stop a load run after ~130 publishes.
        control(proc, "POST", "/_sandbox/config", {"container_quota": 100_000_000})
        return proc

    def tiktok(self, processing_delay: float) -> Proc:
        proc = self.spawn(
            "tiktok", ["-m", "server.sandbox.tiktok", "--port", "0", "--processing-delay", str(processing_delay)]
        )
        base = self.wait_for(proc, r"(http://127\.0\.0\.1:\d+)").group(1)
        proc.info.update(base=base, origin=base)
        return proc

    def service(self, instagram: Proc | None, tiktok: Proc | None, db_path: Path | None = None,
                extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> Proc:
        """`python -m server` on a free loopback port, its database in a temp dir (or `db_path`).
        An emulator left out (None) means the service's built-in sandbox for that platform."""
        db_path = db_path or (self.workdir / f"service-{len(self.started)}" / "distribution.db")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "DISTRIBUTION_LISTEN": "127.0.0.1:0",
            "DISTRIBUTION_DB": str(db_path),
            "DISTRIBUTION_INSTAGRAM_API_BASE": instagram.info["base"] if instagram else "sandbox",
            "DISTRIBUTION_TIKTOK_API_BASE": tiktok.info["base"] if tiktok else "sandbox",
            "DISTRIBUTION_MAX_CONCURRENT_PER_CALLER": "100000",
            "DISTRIBUTION_SHUTDOWN_GRACE": "1",
            # Metrics stay on, on a free port: the default fixed port clashes with any other service.
            "DISTRIBUTION_METRICS_LISTEN": "127.0.0.1:0",
            **(extra_env or {}),
        }
        proc = self.spawn("service", args or ["-m", "server"], env)
        address = self.wait_for(proc, r"Distribution is listening on (\S+)", timeout=60).group(1)
        proc.info.update(address=address, db=env["DISTRIBUTION_DB"])
        return proc

    def bare(self, options: dict[str, int] | None = None, handler_delay: float = 0.0) -> Proc:
        """The baseline: a bare grpc.aio server answering PublishInstagramCarousel with a canned reply."""
        args = ["-m", "bench.bare_server", "--listen", "127.0.0.1:0", "--delay", str(handler_delay)]
        for key, value in (options or {}).items():
            args += ["--option", f"{key}={value}"]
        proc = self.spawn("bare", args)
        proc.info["address"] = self.wait_for(proc, r"listening on (\S+)").group(1)
        return proc

    def client(self, spec: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
        """Runs a load client process (bench.client) to completion and returns its JSON result."""
        spec_path = self.workdir / f"client-spec-{len(self.started)}.json"
        spec_path.write_text(json.dumps(spec))
        proc = self.spawn("client", ["-m", "bench.client", str(spec_path)])
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.stop()
            raise TimeoutError(f"load client did not finish within {timeout}s:\n{proc.log_tail()}") from None
        text = proc.log_path.read_text(errors="replace")
        for line in reversed(text.splitlines()):
            if line.startswith("{\"result\""):
                return json.loads(line)["result"]
        raise RuntimeError(f"load client failed (exit {proc.popen.returncode}):\n{proc.log_tail(40)}")


# --- emulator control API ------------------------------------------------------------------


def control(proc: Proc, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        proc.info["origin"] + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
        return json.loads(response.read() or b"{}")


def calls(proc: Proc) -> dict[str, int]:
    """The emulator's call counts per endpoint (control calls are not counted)."""
    return dict(control(proc, "GET", "/_sandbox/calls").get("counts", {}))


def calls_since(proc: Proc, before: dict[str, int]) -> dict[str, int]:
    now = calls(proc)
    return {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)}
