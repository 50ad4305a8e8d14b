"""Load client, run in its own process by the harness: `python -m bench.client SPEC.json`.

Modes (spec["mode"]):

* ``closed_loop``: for each concurrency level, N workers each call PublishInstagramCarousel
  (or GetPublish: spec["call"] = "get_publish") back to back on one channel (or over the
  HTTP gateway at spec["http_target"]: spec["transport"] = "http"); after a warm-up,
  latencies, completions and the server's CPU time (utime+stime from /proc/<server_pid>/stat,
  read at the window's edges) are taken over a fixed window. With spec["targets"] (several
  replicas) there is one gRPC channel per address and worker i calls targets[i % n].
  spec["watch_pids"] ({name: pid}) has the CPU time of further processes (replicas,
  emulators, database backends) read at the same edges, beside this client's own and the
  whole machine's busy time (/proc/stat).
* ``burst``: every call in spec["calls"] is started at once (Instagram and TikTok
  carousels); reports the wall time until the last one ended, per-call latencies, errors by
  status code, and the largest lag of this client's own event loop.
* ``register_media``: like ``closed_loop`` at one level, calling RegisterMedia with a new
  URL each time (spec["url"] with ``{n}`` replaced by a counter).

Prints one line ``{"result": ...}`` on stdout. The same code drives the real service and the
bare baseline server (which ignores the ids).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import grpc
from distribution.v1 import media_service_pb2, media_service_pb2_grpc, publishing_service_pb2_grpc
from distribution.v1 import publishing_service_pb2 as pb

from bench.harness import CLOCK_TICKS, cpu_seconds, peak_rss_mb, summarize

CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]


def instagram_request(call: dict[str, Any]) -> pb.PublishInstagramCarouselRequest:
    request = pb.PublishInstagramCarouselRequest(
        media_ids=call["media"], instagram_account_id=call["account"],
        caption=call.get("caption", "Benchmark carousel #bench"), allow_duplicate=True,
    )
    if "publish_time" in call:  # RFC 3339, e.g. 2026-01-01T12:00:00Z: scheduled, answered at once
        request.publish_time.FromJsonString(call["publish_time"])
    return request


def tiktok_request(call: dict[str, Any]) -> pb.PublishTikTokCarouselRequest:
    return pb.PublishTikTokCarouselRequest(
        media_ids=call["media"], creator_consent_obtained=True, tiktok_account_id=call["account"],
        caption=call.get("caption", "Benchmark carousel"),
        privacy_level=call.get("privacy_level", 4),  # PRIVACY_LEVEL_SELF_ONLY
        allow_duplicate=True,
    )


class LoopLag:
    """Measures how late this process's event loop wakes a 10 ms sleeper (its worst lag)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - start - self.interval)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def _error_key(err: grpc.aio.AioRpcError) -> str:
    details = (err.details() or "").splitlines()[0][:120] if err.details() else ""
    return f"{err.code().name}: {details}"


class HttpError(Exception):
    """A call over the HTTP gateway that did not answer 200."""


Call = Callable[[], Awaitable[Any]]


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy (all processes, not only ours)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _cpu_snapshot(pids: dict[str, int]) -> dict[str, float | None]:
    """CPU seconds of each watched process (None once it is gone), this client and the machine."""
    out: dict[str, float | None] = {}
    for name, pid in pids.items():
        try:
            out[name] = cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            out[name] = None
    out["load generator"] = cpu_seconds(os.getpid())
    out["machine (all processes)"] = machine_busy_seconds()
    return out


def _cpu_used(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
    return {name: (after[name] - b if b is not None and after.get(name) is not None else None)  # type: ignore[operator]
            for name, b in before.items()}


class Level:
    """One concurrency level of the closed loop: workers call back to back until a deadline;
    only calls made once `measuring` is set count (the others warm up). Worker i makes
    calls[i % n] (one per replica)."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls
        self.errors: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        self.warm = 0
        self.measuring = False

    async def worker(self, index: int, deadline: float) -> None:
        call = self.calls[index % len(self.calls)]
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await call()
            except (grpc.aio.AioRpcError, HttpError) as err:
                if self.measuring:
                    self.errors[_error_key(err) if isinstance(err, grpc.aio.AioRpcError) else str(err)] += 1
                continue
            if self.measuring:
                self.latencies.append(time.perf_counter() - started)
            else:
                self.warm += 1


def _stub_call(stub: Any, spec: dict[str, Any]) -> Call:
    if spec.get("call", "publish_instagram") == "get_publish":
        get = pb.GetPublishRequest(id=spec["request"]["publish_id"])
        return lambda: stub.GetPublish(get, timeout=60)
    request = instagram_request(spec["request"])
    return lambda: stub.PublishInstagramCarousel(request, timeout=60)


@contextlib.asynccontextmanager
async def _grpc_call(spec: dict[str, Any]) -> AsyncIterator[list[Call]]:
    """One call per target (spec["targets"], else spec["target"]), each on its own channel."""
    channels = [grpc.aio.insecure_channel(t, options=CHANNEL_OPTIONS) for t in spec.get("targets", [spec["target"]])]
    try:
        for channel in channels:
            await channel.channel_ready()
        yield [_stub_call(publishing_service_pb2_grpc.PublishingServiceStub(c), spec) for c in channels]
    finally:
        for channel in channels:
            await channel.close()


@contextlib.asynccontextmanager
async def _http_call(spec: dict[str, Any]) -> AsyncIterator[list[Call]]:
    """The same calls over the HTTP/JSON gateway: JSON encoded and decoded on this side as a
    gRPC client decodes its messages, one keep-alive connection per worker at most."""
    origin = spec["http_target"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        if spec.get("call", "publish_instagram") == "get_publish":
            url, body = f"{origin}/api/v1/publishes/{spec['request']['publish_id']}", None
        else:
            call = spec["request"]
            url = f"{origin}/api/v1/publish/instagram/carousel"
            body = {
                "mediaIds": call["media"], "instagramAccountId": call["account"],
                "caption": call.get("caption", "Benchmark carousel #bench"), "allowDuplicate": True,
            }

        async def one() -> Any:
            async with session.request("POST" if body else "GET", url, json=body) as response:
                data = json.loads(await response.read())
                if response.status != 200:
                    raise HttpError(f"HTTP {response.status}: {str(data.get('error', data))[:120]}")
                return data

        yield [one]


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    server_pid = spec.get("server_pid")
    watch = {name: int(pid) for name, pid in spec.get("watch_pids", {}).items()}
    results = []
    caller = _http_call(spec) if spec.get("transport") == "http" else _grpc_call(spec)
    async with caller as calls:
        for level in spec["levels"]:
            run = Level(calls)
            warm_deadline = time.perf_counter() + spec["warmup"]
            await asyncio.gather(*(run.worker(i, warm_deadline) for i in range(level)))
            run.measuring = True
            watched_before = _cpu_snapshot(watch)
            cpu_before = cpu_seconds(server_pid) if server_pid else None
            started = time.perf_counter()
            deadline = started + spec["duration"]
            await asyncio.gather(*(run.worker(i, deadline) for i in range(level)))
            elapsed = time.perf_counter() - started
            cpu_used = cpu_seconds(server_pid) - cpu_before if server_pid else None
            watched = _cpu_used(watched_before, _cpu_snapshot(watch))
            completed = len(run.latencies)
            cpu_per_call = cpu_used / completed * 1000 if cpu_used is not None and completed else None
            results.append(
                {
                    "concurrency": level,
                    **summarize(run.latencies),
                    "elapsed_s": elapsed,
                    "completed": completed,
                    "warmup_completed": run.warm,
                    "throughput": completed / elapsed if elapsed else 0.0,
                    "errors": dict(run.errors),
                    "server_cpu_s": cpu_used,
                    "server_cpu_ms_per_call": cpu_per_call,
                    "cpu_s": watched,
                }
            )
    return {"levels": results, "server_peak_rss_mb": peak_rss_mb(server_pid) if server_pid else None}


async def burst(spec: dict[str, Any]) -> dict[str, Any]:
    channels = [grpc.aio.insecure_channel(spec["target"], options=CHANNEL_OPTIONS)
                for _ in range(spec.get("channels", 1))]
    try:
        for channel in channels:
            await channel.channel_ready()
        stubs = [publishing_service_pb2_grpc.PublishingServiceStub(c) for c in channels]
        errors: collections.Counter[str] = collections.Counter()
        latencies: list[float] = []
        ends: list[float] = []
        deadline = spec.get("deadline", 600.0)

        async def one(i: int, call: dict[str, Any]) -> None:
            stub = stubs[i % len(stubs)]
            started = time.perf_counter()
            try:
                if call["kind"] == "instagram":
                    await stub.PublishInstagramCarousel(instagram_request(call), timeout=deadline)
                else:
                    await stub.PublishTikTokCarousel(tiktok_request(call), timeout=deadline)
            except grpc.aio.AioRpcError as err:
                errors[_error_key(err)] += 1
            else:
                latencies.append(time.perf_counter() - started)
            ends.append(time.perf_counter())

        with LoopLag() as lag:
            started = time.perf_counter()
            await asyncio.gather(*(one(i, c) for i, c in enumerate(spec["calls"])))
            wall = max(ends) - started if ends else 0.0
        return {
            "calls": len(spec["calls"]),
            "ok": len(latencies),
            "errors": dict(errors),
            "error_count": sum(errors.values()),
            "wall_s": wall,
            **summarize(latencies),
            "throughput": len(latencies) / wall if wall else 0.0,
            "client_loop_lag_ms": lag.worst * 1000,
        }
    finally:
        for channel in channels:
            await channel.close()


async def register_media(spec: dict[str, Any]) -> dict[str, Any]:
    server_pid = spec.get("server_pid")
    level = spec["concurrency"]
    counter = [0]
    errors: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    measuring = [False]
    async with grpc.aio.insecure_channel(spec["target"], options=CHANNEL_OPTIONS) as channel:
        stub = media_service_pb2_grpc.MediaServiceStub(channel)
        await channel.channel_ready()

        async def worker(deadline: float) -> None:
            while time.perf_counter() < deadline:
                counter[0] += 1
                request = media_service_pb2.RegisterMediaRequest(url=spec["url"].format(n=counter[0]))
                started = time.perf_counter()
                try:
                    response = await stub.RegisterMedia(request, timeout=60)
                except grpc.aio.AioRpcError as err:
                    errors[_error_key(err)] += 1
                    continue
                if spec.get("expect_inspection") and response.media.inspection.outcome != 1:  # READ
                    errors[f"inspection {response.media.inspection.outcome}: {response.media.inspection.detail}"] += 1
                if measuring[0]:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker(time.perf_counter() + spec["warmup"]) for _ in range(level)))
        measuring[0] = True
        cpu_before = cpu_seconds(server_pid) if server_pid else None
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + spec["duration"]) for _ in range(level)))
        elapsed = time.perf_counter() - started
        cpu_used = cpu_seconds(server_pid) - cpu_before if server_pid else None
    completed = len(latencies)
    return {
        "concurrency": level,
        **summarize(latencies),
        "completed": completed,
        "throughput": completed / elapsed if elapsed else 0.0,
        "errors": dict(errors),
        "server_cpu_ms_per_call": (cpu_used / completed * 1000) if cpu_used is not None and completed else None,
        "server_peak_rss_mb": peak_rss_mb(server_pid) if server_pid else None,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    mode = {"closed_loop": closed_loop, "burst": burst, "register_media": register_media}[spec["mode"]]
    result = asyncio.run(mode(spec))
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
