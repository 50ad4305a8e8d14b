"""Where the service's time goes, for the benchmark targets it misses: samples the service
process with py-spy while a benchmark load runs, and writes bench/profiles/<name>.md (a
breakdown by layer, and the top functions); `--stacks DIR` keeps the raw collapsed stacks
(DIR/<name>.folded, for any flame-graph tool).

    .venv/bin/pip install py-spy          # not a project dependency; install it to profile
    python -m bench.profile unary         # PublishInstagramCarousel, 3 images, 16 concurrent
    python -m bench.profile postgres      # the same on PostgreSQL (a fresh database), one replica
    python -m bench.profile history       # ListPublishes first page (no filter) over 1M rows
    python -m bench.profile burst         # 2,000 publishes at once, platforms taking 2 s (CPU)
    python -m bench.profile memory        # the same burst under tracemalloc: what holds the memory
    python -m bench.profile tracing       # `unary` with every trace exported to a loopback OTLP receiver

py-spy samples the threads that are running (idle ones left out) at --rate Hz; a sample's
share is its share of the server's busy time, which the load client converts into
milliseconds per call with the server's CPU time per call.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from bench.harness import Processes, cpu_seconds, peak_rss_mb
from bench.report import table
from tests.support.paths import ROOT as REPO
from tests.support.processes import ServiceProcess

OUT = REPO / "bench" / "profiles"
STACKS_DIR: Path | None = None  # --stacks: where to keep the raw collapsed stacks

# Layer of a sample: the first rule that matches (thread name, frames outermost first).
Rule = tuple[str, Callable[[str, list[str]], bool]]


def _has(*needles: str) -> Callable[[str, list[str]], bool]:
    return lambda _thread, frames: any(n in f for f in frames for n in needles)


# Where a sample's innermost OpenTelemetry or service frame is OpenTelemetry's, the part of
# tracing it is in (the first needle that matches that frame); see `_in_tracing`.
TRACING_PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("tracing: gRPC server instrumentation (its interceptor and servicer context)", ("instrumentation/grpc",)),
    ("tracing: asyncpg instrumentation", ("instrumentation/asyncpg",)),
    ("tracing: OTLP protobuf encoding (export thread)", ("exporter/otlp/proto/common",)),
    ("tracing: OTLP/HTTP send (export thread)", ("exporter/otlp/proto/http", "exporter/http/")),
    ("tracing: batch span processor (queue, worker)", ("sdk/trace/export", "sdk/_shared_internal")),
    ("tracing: span start/end, attributes, ids, sampler (SDK)",
     ("sdk/trace/", "opentelemetry/attributes", "sdk/util", "opentelemetry/util")),
    ("tracing: context attach/detach, current span (API)", ("opentelemetry/context", "opentelemetry/trace/")),
    ("tracing: other OpenTelemetry code", ("opentelemetry/",)),
]


def _in_tracing(part: tuple[str, ...]) -> Callable[[str, list[str]], bool]:
    def rule(_thread: str, frames: list[str]) -> bool:
        for frame in reversed(frames):
            if "opentelemetry/" in frame:
                return any(n in frame for n in part)
            if "server/" in frame:
                return False
        return False

    return rule


RULES: list[Rule] = [
    *((name, _in_tracing(part)) for name, part in TRACING_PARTS),
    ("tracing: Tracer adapter and log-line ids (server/adapters/tracing.py)", _has("server/adapters/tracing.py")),
    ("SQLite store thread: queries, commits, sqlite_utils", lambda t, _f: "sqlite" in t),
    ("grpc core poller thread", lambda t, _f: "_poll_wrapper" in t),
    ("other threads", lambda t, _f: "MainThread" not in t),
    ("PostgreSQL driver (asyncpg) and store", _has("asyncpg/", "server/adapters/postgres/")),
    ("token lookup + Fernet decrypt (AccountTokens)", _has("AccountTokens.", "fernet.py", "TokenCipher.")),
    ("platform HTTP calls (adapters + aiohttp client)",
     _has("request_json", "aiohttp/", "server/adapters/instagram/", "server/adapters/tiktok/", "adapters/http.py")),
    ("hand-off to the SQLite thread (Database.run, futures)",
     _has("Database.run", "Database._submit", "_settle (server/adapters/sqlite")),
    ("rows -> domain objects on the loop", _has("server/adapters/sqlite/", "_strptime.py")),
    ("domain -> proto conversion (converters)", _has("server/grpc_api/converters.py", "protobuf/")),
    ("logging (one JSON line per RPC)", _has("logging/__init__.py", "server/logs.py")),
    ("RPC layer: interceptors, servicers, status mapping", _has("server/grpc_api/")),
    ("use cases + workflow code", _has("server/services/", "server/domain/")),
    ("event loop: epoll wait/dispatch", _has("EpollSelector.select", "_read_from_self", "_write_to_self")),
    ("event loop (uvloop / asyncio) + grpc aio internals, no service frame", lambda _t, _f: True),
]

FINDINGS = "## Findings"

_LINE = re.compile(r":\d+\)$")
_PREFIX = re.compile(r"\((?:/[^()]*site-packages/|/[^()]*/lib/python3\.\d+/|" + re.escape(f"{REPO}/") + ")")


def analyse(folded: Path) -> dict[str, object]:
    categories: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        parts = stack.split(";")
        thread = re.sub(r"\(\d+\)", "", parts[0]).replace("thread ", "").strip()
        frames = [_PREFIX.sub("(", _LINE.sub(")", f)) for f in parts[1:]]
        total += n
        threads[thread] += n
        categories[next(name for name, rule in RULES if rule(thread, frames))] += n
        own[frames[-1] if frames else "(no frame)"] += n
        for f in set(frames):
            inclusive[f] += n
    return {"total": total, "threads": threads, "categories": categories, "own": own, "inclusive": inclusive}


def report(name: str, what: str, folded: Path, calls: int, cpu_s: float, wall_s: float, rate: int) -> Path:
    a = analyse(folded)
    total = max(a["total"], 1)  # type: ignore[call-overload]
    per_call = cpu_s / max(calls, 1) * 1000

    def share_rows(counter: collections.Counter[str], limit: int, with_ms: bool = True) -> list[list[str]]:
        return [[f"{n / total:.1%}"] + ([f"{n / total * per_call:.2f}"] if with_ms else []) + [key]
                for key, n in counter.most_common(limit)]

    service_frames = collections.Counter({k: v for k, v in a["inclusive"].items() if "server/" in k})  # type: ignore[union-attr]
    text = "\n\n".join([
        f"# Profile: {what}",
        f"`python -m bench.profile {name}`: py-spy {rate} Hz on the service process for {wall_s:.0f} s; "
        f"{calls} calls completed, server CPU {cpu_s:.2f} s = **{per_call:.2f} ms per call**; "
        f"{a['total']} samples. A layer's ms/call is its share of the samples times the CPU per call.",
        "## By layer",
        table(["Share", "ms/call", "Layer"], share_rows(a["categories"], 20)),  # type: ignore[arg-type]
        "## By thread",
        table(["Share", "Thread"], share_rows(a["threads"], 10, with_ms=False)),  # type: ignore[arg-type]
        "## Top service functions (inclusive: the function and what it calls)",
        table(["Share", "ms/call", "Function"], share_rows(service_frames, 30)),
        "## Top functions by own time",
        table(["Share", "ms/call", "Function"], share_rows(a["own"], 30)),  # type: ignore[arg-type]
    ]) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.md"
    # What a person concluded from the tables (a "## Findings" section at the end) stays.
    kept = path.read_text().partition(FINDINGS)[2] if path.exists() else ""
    path.write_text(text + (f"\n{FINDINGS}{kept}" if kept else ""))
    if STACKS_DIR is not None:
        STACKS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(folded, STACKS_DIR / f"{name}.folded")
    return path


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy (it is not a project dependency)")
    return found


def _record(pid: int, seconds: float, rate: int, out: Path, full_paths: bool = False) -> subprocess.Popen[bytes]:
    """py-spy on `pid`; `full_paths` keeps whole file names (py-spy shortens a package's to its
    last parts, where opentelemetry/sdk/trace/__init__.py becomes trace/__init__.py), which
    `analyse` cuts back to the path inside site-packages or the repository."""
    return subprocess.Popen(
        [_py_spy(), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
         "--format", "raw", "--threads", "--nonblocking", "-o", str(out),
         *(["--full-filenames"] if full_paths else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def profile_unary(seconds: float, concurrency: int, rate: int) -> Path:
    from bench.cases.unary import _setup  # noqa: PLC0415

    with Processes() as ps:
        service = ps.service(ps.instagram(processing_delay=0), ps.tiktok(processing_delay=0))
        request = asyncio.run(_setup(service.address))
        folded = ps.workdir / "unary.folded"
        spy = _record(service.pid, seconds, rate, folded)
        result = ps.client({"mode": "closed_loop", "levels": [concurrency], "warmup": 0.5, "duration": seconds,
                            "target": service.address, "request": request, "server_pid": service.pid})
        spy.wait(60)
        level = result["levels"][0]
        return report("unary", f"PublishInstagramCarousel, 3 images, {concurrency} concurrent, emulators at delay 0",
                      folded, level["completed"], level["server_cpu_s"], level["elapsed_s"], rate)


def profile_tracing(seconds: float, concurrency: int, rate: int) -> Path:
    """`unary` with tracing on: every trace exported over OTLP/HTTP to a receiver in this
    process (bench case 11's "on" service)."""
    from bench.cases.tracing import _receiver  # noqa: PLC0415
    from bench.cases.unary import _setup  # noqa: PLC0415

    with _receiver() as receiver, Processes() as ps:
        service = ps.service(ps.instagram(processing_delay=0), ps.tiktok(processing_delay=0), extra_env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_SAMPLER": "always_on",
        })
        request = asyncio.run(_setup(service.address))
        folded = ps.workdir / "tracing.folded"
        spy = _record(service.pid, seconds, rate, folded, full_paths=True)
        result = ps.client({"mode": "closed_loop", "levels": [concurrency], "warmup": 0.5, "duration": seconds,
                            "target": service.address, "request": request, "server_pid": service.pid})
        spy.wait(60)
        level = result["levels"][0]
        return report("tracing", f"PublishInstagramCarousel, 3 images, {concurrency} concurrent, emulators at "
                      "delay 0, every trace exported over OTLP/HTTP to a loopback receiver",
                      folded, level["completed"], level["server_cpu_s"], level["elapsed_s"], rate)


def profile_postgres(seconds: float, concurrency: int, rate: int) -> Path:
    """`unary` on PostgreSQL: the service on a fresh database (case 8's deployment)."""
    from bench.cases.postgres import deploy  # noqa: PLC0415

    with Processes() as ps, deploy(ps, "PostgreSQL") as dep:
        service = dep.replicas[0]
        folded = ps.workdir / "postgres.folded"
        spec = {"mode": "closed_loop", "levels": [concurrency], "target": service.address, "request": dep.request,
                "server_pid": service.pid}
        ps.client({**spec, "warmup": 0.0, "duration": 2.0})  # the pool grows to what the load needs
        spy = _record(service.pid, seconds, rate, folded)
        result = ps.client({**spec, "warmup": 0.5, "duration": seconds})
        spy.wait(60)
        level = result["levels"][0]
        return report("postgres", f"PublishInstagramCarousel, 3 images, {concurrency} concurrent, PostgreSQL "
                      "(one replica, fresh database), emulators at delay 0",
                      folded, level["completed"], level["server_cpu_s"], level["elapsed_s"], rate)


def profile_history(seconds: float, rows: int, rate: int) -> Path:
    from distribution.v1 import publishing_service_pb2_grpc  # noqa: PLC0415

    from bench.cases.history import Filter, _settle  # noqa: PLC0415
    from bench.history_data import build  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="distribution-profile-") as tmp:
        path = Path(tmp) / "history.db"
        history = build(path, rows)
        with Processes(Path(tmp)) as ps:
            service = ps.service(None, None, db_path=path, extra_env={
                "DISTRIBUTION_SECRET_KEYS": history.secret_key, "DISTRIBUTION_SANDBOX_PROCESSING_DELAY": "0"})
            _settle(path)

            async def load() -> tuple[int, float, float]:
                async with grpc.aio.insecure_channel(service.address) as channel:
                    stub = publishing_service_pb2_grpc.PublishingServiceStub(channel)
                    for _ in range(20):
                        await stub.ListPublishes(Filter().request())
                    spy = _record(service.pid, seconds, rate, Path(tmp) / "history.folded")
                    cpu, started, calls = cpu_seconds(service.pid), time.perf_counter(), 0
                    while time.perf_counter() - started < seconds:
                        await stub.ListPublishes(Filter().request())
                        calls += 1
                    used, wall = cpu_seconds(service.pid) - cpu, time.perf_counter() - started
                    spy.wait(60)
                    return calls, used, wall

            calls, used, wall = asyncio.run(load())
            return report("history", f"ListPublishes first page (50), no filter, {rows:,} records, one call at a time",
                          Path(tmp) / "history.folded", calls, used, wall, rate)


def _burst(ps: Processes, service: ServiceProcess, publishes: int,
           before: Callable[[], None] | None = None) -> tuple[dict, float]:
    """The concurrency case's burst against `service`: set-up, then `publishes` at once."""
    import dataclasses  # noqa: PLC0415

    from bench.cases import FULL  # noqa: PLC0415
    from bench.cases.concurrency import _calls, _setup  # noqa: PLC0415

    scale = dataclasses.replace(FULL, burst_publishes=publishes)
    calls = _calls(asyncio.run(_setup(service.address, scale)), scale)
    if before is not None:
        before()
    cpu = cpu_seconds(service.pid)
    result = ps.client({"mode": "burst", "target": service.address, "calls": calls, "deadline": 600})
    return result, cpu_seconds(service.pid) - cpu


def profile_burst(publishes: int, rate: int) -> Path:
    """CPU profile of the concurrency case: `publishes` at once, platforms taking 2 s."""
    with Processes() as ps:
        service = ps.service(ps.instagram(processing_delay=2.0), ps.tiktok(processing_delay=2.0))
        folded = ps.workdir / "burst.folded"
        spies: list[subprocess.Popen[bytes]] = []
        result, cpu = _burst(
            ps, service, publishes, before=lambda: spies.append(_record(service.pid, 300, rate, folded))
        )
        spies[0].send_signal(signal.SIGINT)  # py-spy writes what it has sampled and exits
        spies[0].wait(60)
        return report("burst", f"{publishes:,} publishes at once (half Instagram, half TikTok), platforms 2 s",
                      folded, result["ok"], cpu, result["wall_s"], rate)


def profile_memory(publishes: int) -> Path:
    """Python heap at the burst's peak (tracemalloc, via bench.traced_server), beside the RSS."""
    with Processes() as ps:
        snapshot = ps.workdir / "heap.txt"
        service = ps.service(ps.instagram(processing_delay=2.0), ps.tiktok(processing_delay=2.0),
                             args=["-m", "bench.traced_server", str(snapshot)])
        base_rss = peak_rss_mb(service.pid)
        result, _cpu = _burst(ps, service, publishes)
        time.sleep(1.5)
        peak_rss = peak_rss_mb(service.pid)
        lines = snapshot.read_text().splitlines()
    stats = dict(line.split(" ", 1) for line in lines[:2])
    sections, current = {}, None
    for line in lines[2:]:
        if line.startswith("== by "):
            current = line[6:]
            sections[current] = []
        elif current:
            size, count, where = line.split("\t")
            where = re.sub(r"^.*/site-packages/", "", where).replace(str(REPO) + "/", "")
            where = re.sub(r"^.*/lib/python3\.\d+/", "stdlib/", where)
            sections[current].append([size, count, where])
    text = "\n\n".join([
        f"# Memory profile: {publishes:,} publishes at once (half Instagram, half TikTok), platforms 2 s",
        f"`python -m bench.profile memory`: the service run under tracemalloc (bench/traced_server.py). "
        f"Peak RSS (VmHWM) {peak_rss:.0f} MB, {base_rss:.0f} MB before the burst; at the largest snapshot the "
        f"traced Python heap held {stats['traced_mb']} MB with RSS {stats['rss_mb']} MB (tracemalloc adds its "
        f"own bookkeeping, so RSS here runs above an untraced run's). The rest of RSS is native: the interpreter "
        f"and libraries, grpc core's per-call memory, SQLite's page cache. {result['ok']} publishes ok, "
        f"{result['error_count']} errors.",
        "## Python heap by file (top 40)",
        table(["Size", "Blocks", "File"], sections.get("filename", [])),
        "## Python heap by line (top 40)",
        table(["Size", "Blocks", "Line"], sections.get("lineno", [])),
    ]) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "memory.md"
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=("unary", "postgres", "history", "burst", "memory", "tracing"))
    parser.add_argument("--publishes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--stacks", type=Path, help="keep the raw collapsed stacks in this directory")
    args = parser.parse_args()
    global STACKS_DIR  # noqa: PLW0603 - a command-line setting
    STACKS_DIR = args.stacks
    if args.scenario == "unary":
        path = profile_unary(args.seconds, args.concurrency, args.rate)
    elif args.scenario == "tracing":
        path = profile_tracing(args.seconds, args.concurrency, args.rate)
    elif args.scenario == "postgres":
        path = profile_postgres(args.seconds, args.concurrency, args.rate)
    elif args.scenario == "history":
        path = profile_history(args.seconds, args.rows, args.rate)
    elif args.scenario == "burst":
        path = profile_burst(args.publishes, args.rate)
    else:
        path = profile_memory(args.publishes)
    print(path.read_text())
    print(f"written to {path}")


if __name__ == "__main__":
    main()
