"""Case 12, single image and Reel: platform calls per publish against the documented
minimum, and bytes read per video inspection against the file's size.

Calls: `python -m server` and the Instagram emulator in its own process (processing delay 0,
so a container is FINISHED at its first status read), sequential PublishInstagramMedia calls
of one image and of one Reel, each on a fresh account (the service reads the account's
content_publishing_limit once, then keeps it); the emulator's `/_sandbox/calls` counters
before and after each publish. The documented minimum is Meta's flow: create the container,
read its status until FINISHED (one read at delay 0), media_publish: 3 calls. The service adds
the permalink read (the post's public URL, which the response carries) and, on an account's
first publish, the content_publishing_limit read.

Bytes: the media inspector in this process (the service's adapter, `HttpMediaInspector`)
against the sandbox media host in its own process, on real videos made with PyAV: a small
faststart MP4, a large one (random pictures) faststart, and the same with its index at the
end. Bytes read (`VideoFacts.bytes_read`: the first read plus every Range block the demuxer
asked for) against the file's size.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time

import grpc
from distribution.v1 import publishing_service_pb2 as pb

from bench.api import Api
from bench.cases import Scale
from bench.harness import Processes, calls_since, peak_rss_mb, summarize
from bench.report import CaseResult, Row, Target, num
from tests.support.processes import Child, EmulatorProcess

NAME = "12. Single image and Reel"
DOCUMENTED_MINIMUM = 3  # create the container, one status read, media_publish
VIDEOS = ("small-720x1280-4s.mp4", "large-noise-720x1280-{s}s.mp4", "large-noise-720x1280-{s}s-moov-end.mp4")


async def _publishes(address: str, instagram: EmulatorProcess, scale: Scale) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        for kind, url in (("image", "gs://bench-single/photo-{n}.jpg"), ("reel", "gs://bench-single/reel-{n}.mp4")):
            accounts = await api.instagram_accounts(scale.single_media_publishes, prefix=f"17849{len(out)}")
            calls: list[int] = []
            latencies: list[float] = []
            endpoints: dict[str, int] = {}
            for n, account in enumerate(accounts):
                media_id = await api.register(url.format(n=n))
                before = instagram.calls()
                started = time.perf_counter()
                response = await api.publishing.PublishInstagramMedia(
                    pb.PublishInstagramMediaRequest(media_id=media_id, instagram_account_id=account), timeout=60
                )
                latencies.append(time.perf_counter() - started)
                assert response.ig_media_id, response
                await asyncio.sleep(0.05)  # a late permalink read would come now
                spent = calls_since(instagram, before)
                calls.append(sum(spent.values()))
                for endpoint, count in spent.items():
                    endpoints[endpoint] = endpoints.get(endpoint, 0) + count
            out[kind] = {"calls": calls, "latencies": latencies,
                         "endpoints": {k: v / len(accounts) for k, v in sorted(endpoints.items())}}
    return out


def _bytes_read(origin: str, seconds: int, repeats: int) -> list[dict[str, object]]:
    """Each video inspected `repeats` times (the host makes it at the first request, which is
    not timed): bytes read, and how long an inspection took."""
    from server.adapters.media_fetch import FetchLimits, HttpMediaInspector, SandboxFetcher  # noqa: PLC0415

    async def measure() -> list[dict[str, object]]:
        inspector = HttpMediaInspector(SandboxFetcher(origin), FetchLimits(time_limit=120.0))
        try:
            found = []
            for pattern in VIDEOS:
                name = pattern.format(s=seconds)
                url = f"https://storage.googleapis.com/bench-videos/{name}"
                await inspector.inspect(url)  # the host makes the video now
                times, video = [], None
                for _ in range(repeats):
                    started = time.perf_counter()
                    inspection = await inspector.inspect(url)
                    times.append(time.perf_counter() - started)
                    video = inspection.video
                    assert video is not None, (name, inspection)
                assert video is not None
                found.append({"name": name, "size": video.size_bytes, "read": video.bytes_read,
                              "duration_ms": video.duration_ms, "codec": video.video_codec, "times": times})
            return found
        finally:
            await inspector.close()

    return asyncio.run(measure())


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    with Processes() as ps:
        instagram = ps.instagram(processing_delay=0)
        instagram.control("POST", "config", {"reel_processing_delay": 0})
        service = ps.service(instagram, None)
        measured = asyncio.run(_publishes(service.address, instagram, scale))
        rss = peak_rss_mb(service.pid)
        host = ps._started(Child("media", ["-m", "server.sandbox.media", "--port", "0"], ps.workdir / "media.log"))
        host.spawn()
        origin = host.wait_for(r"(http://127\.0\.0\.1:\d+)").group(1)
        videos = _bytes_read(origin, scale.single_media_noise_seconds, scale.single_media_publishes)
    # The inspector ran in this process: its peak RSS is this process's.
    inspector_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.data = {"publishes": measured, "videos": videos}
    for kind, label in (("image", "one image (feed post)"), ("reel", "one video (Reel)")):
        m = measured[kind]
        calls = m["calls"]
        assert isinstance(calls, list)
        stats = summarize(m["latencies"])  # type: ignore[arg-type]
        first, later = calls[0], statistics.median(calls[1:] or calls)
        endpoints = m["endpoints"]
        assert isinstance(endpoints, dict)
        result.rows.append(Row(
            NAME, f"PublishInstagramMedia, {label}, platform processing done before the first check",
            stats["median_ms"], stats["p99_ms"], 1000 / stats["mean_ms"], rss,
            f"documented minimum: {DOCUMENTED_MINIMUM} calls (container, one status read, media_publish)",
            ratio=f"{later:g} calls = {later / DOCUMENTED_MINIMUM:.2f}× the minimum",
            notes=f"each publish on a fresh account: {', '.join(str(c) for c in calls)} calls; per publish: "
            + ", ".join(f"{k} {v:g}" for k, v in endpoints.items()),
        ))
        one_each = endpoints.get("create_container") == 1 and endpoints.get("media_publish") == 1
        result.targets.append(Target(
            NAME, f"{label}: one container and one media_publish per publish; ≤ minimum + 2 calls "
            "(the permalink, and the quota on the account's first publish)",
            f"{first} calls on a fresh account (create_container {endpoints.get('create_container', 0):g}, "
            f"media_publish {endpoints.get('media_publish', 0):g})",
            one_each and max(calls) <= DOCUMENTED_MINIMUM + 2,
        ))
    for video in videos:
        size, read = int(video["size"]), int(video["read"])  # type: ignore[call-overload]
        timing = summarize(video["times"])  # type: ignore[arg-type]
        result.rows.append(Row(
            NAME, f"video inspection of {video['name']} (the inspector in the bench process)",
            timing["median_ms"], timing["p99_ms"], 1000 / timing["mean_ms"], inspector_rss,
            "the file's size", ratio=f"read {read:,} of {size:,} bytes ({read / size:.1%})",
            notes=f"{video['codec']}, {num(int(video['duration_ms']) / 1000)} s",  # type: ignore[call-overload]
        ))
    large = [v for v in videos if "noise" in str(v["name"])]
    worst = max(int(v["read"]) / int(v["size"]) for v in large)  # type: ignore[call-overload]
    result.targets.append(Target(
        NAME, "a large video (faststart or its index at the end) is read, not downloaded: ≤ 25% of its bytes",
        f"worst {worst:.1%} of the file", worst <= 0.25,
    ))
    return result
