"""Process plumbing and measurement helpers shared by every benchmark case.

Everything here is about the harness, not the service: starting and stopping the processes
(service, emulators, bare server, load clients) through tests.support.processes, reading
their CPU time and memory from /proc, and summarising latencies.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from tests.support.processes import Child, EmulatorProcess, ServiceProcess, service_env

ChildT = TypeVar("ChildT", bound=Child)
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


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core: user, nice,
    system, irq, softirq and steal; not idle or waiting on I/O)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds of `root` (this process by default) and every process under it, the live
    ones read now and those already gone as their parents' reaped children's time."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        # utime, stime, and the reaped children's cutime, cstime
        times[pid] = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


# Other processes using more than this share of one core during a case make it contended:
# its figures are reported, marked, and not used for a verdict.
CONTENDED_SHARE = 0.20


class OtherLoad:
    """The CPU that processes outside the benchmark took while a case ran: the machine's busy
    time less the benchmark's own process tree (and less what a case says its database server
    spent for it, `own_elsewhere_s`, such as the PostgreSQL backends serving its database)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._busy = machine_busy_seconds()
        self._ours = tree_cpu_seconds()

    def share(self, own_elsewhere_s: float = 0.0) -> float:
        """Others' CPU over the case, as a share of one core."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        others = machine_busy_seconds() - self._busy - (tree_cpu_seconds() - self._ours) - own_elsewhere_s
        return max(others, 0.0) / elapsed


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
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
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


class BareServer(Child):
    """bench.bare_server: the baseline gRPC server, on the address it printed."""

    address = ""


class Processes(AbstractContextManager["Processes"]):
    """Starts the processes of a case (through tests.support.processes, the one launcher the
    tests and the soak use too) and stops every one of them, last started first, on exit."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="distribution-bench-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        self.started: list[Child] = []

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.started):
            proc.stop(10.0)
        if self._tmp is not None:
            self._tmp.cleanup()

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}-{len(self.started)}.log"

    def _started(self, proc: ChildT) -> ChildT:
        self.started.append(proc)
        return proc

    # --- the processes the cases use --------------------------------------------------------

    def instagram(self, processing_delay: float) -> EmulatorProcess:
        """The Instagram emulator alone, with per-user publishing quotas lifted for load runs."""
        proc = EmulatorProcess(
            "instagram", self.workdir, "--processing-delay", str(processing_delay), "--publish-quota", "100000000",
            log_path=self._log("instagram"),
        )
        self._started(proc).start()
        # 400 containers per IG user per 24 h would stop a load run after ~130 publishes.
        proc.control("POST", "config", {"container_quota": 100_000_000})
        return proc

    def tiktok(self, processing_delay: float) -> EmulatorProcess:
        proc = EmulatorProcess(
            "tiktok", self.workdir, "--processing-delay", str(processing_delay), log_path=self._log("tiktok")
        )
        return self._started(proc).start()

    def service(self, instagram: EmulatorProcess | None, tiktok: EmulatorProcess | None, db_path: Path | None = None,
                extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> ServiceProcess:
        """`python -m server` (or `args`) on a free loopback port, its database in a temp dir (or
        `db_path`). An emulator left out (None) means the service's built-in sandbox for that platform."""
        workdir = self.workdir / f"service-{len(self.started)}"
        workdir.mkdir(parents=True, exist_ok=True)
        settings = service_env(
            workdir,
            instagram.base_url if instagram else "sandbox",
            tiktok.base_url if tiktok else "sandbox",
            DISTRIBUTION_MAX_CONCURRENT_PER_CALLER="100000",
            # Metrics stay on, on a free port: the default fixed port clashes with any other service.
            DISTRIBUTION_METRICS_LISTEN="127.0.0.1:0",
            **({"DISTRIBUTION_DB": str(db_path)} if db_path else {}),
            # The cases measure publishing and history: media are not inspected unless a case
            # asks (the media case does, against the sandbox media host).
            **{"DISTRIBUTION_MEDIA_FETCH": "off", **(extra_env or {})},
        )
        proc = ServiceProcess(settings, self._log("service"), module=args or ("-m", "server"))
        return self._started(proc).start()

    def bare(self, options: dict[str, int] | None = None, handler_delay: float = 0.0) -> BareServer:
        """The baseline: a bare grpc.aio server answering PublishInstagramCarousel with a canned reply."""
        args = ["-m", "bench.bare_server", "--listen", "127.0.0.1:0", "--delay", str(handler_delay)]
        for key, value in (options or {}).items():
            args += ["--option", f"{key}={value}"]
        proc = self._started(BareServer("bare", args, self._log("bare")))
        proc.spawn()
        proc.address = proc.wait_for(r"listening on (\S+)").group(1)
        return proc

    def client(self, spec: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
        """Runs a load client process (bench.client) to completion and returns its JSON result."""
        spec_path = self.workdir / f"client-spec-{len(self.started)}.json"
        spec_path.write_text(json.dumps(spec))
        proc = self._started(Child("client", ["-m", "bench.client", str(spec_path)], self._log("client")))
        proc.spawn()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.stop()
            raise TimeoutError(f"load client did not finish within {timeout}s:\n{proc.log_tail()}") from None
        for line in reversed(proc.output().splitlines()):
            if line.startswith("{\"result\""):
                return json.loads(line)["result"]
        raise RuntimeError(f"load client failed (exit {proc.returncode}):\n{proc.log_tail(40)}")


# --- emulator calls --------------------------------------------------------------------------


def calls_since(emulator: EmulatorProcess, before: dict[str, int]) -> dict[str, int]:
    now = emulator.calls()
    return {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)}
