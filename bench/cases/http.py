"""Case 6, the HTTP/JSON gateway: the same calls over HTTP and over gRPC, same service, same run.

`python -m server` runs with DISTRIBUTION_HTTP_LISTEN on, against both emulators in their own
processes (delay 0). A closed-loop client process calls PublishInstagramCarousel (3 images),
then GetPublish, first over gRPC, then over HTTP (POST /api/v1/publish/instagram/carousel,
GET /api/v1/publishes/{id}), at `scale.http_levels` concurrent; the rounds alternate
`scale.http_rounds` times and their CPU figures are averaged, so drift on a shared machine
falls on both sides. Server CPU per call is utime+stime of the service process over each
window divided by the calls completed in it. The baseline of each HTTP row is the same call
over gRPC; the target: HTTP adds at most 15% server CPU per publish.
"""

from __future__ import annotations

import asyncio
import statistics

import grpc
from distribution.v1 import publishing_service_pb2 as pb

from bench.api import Api
from bench.cases import Scale
from bench.harness import Processes, peak_rss_mb
from bench.report import CaseResult, Row, Target, num

NAME = "6. HTTP gateway"
IMAGES = 3
CALLS = (("publish_instagram", f"PublishInstagramCarousel, {IMAGES} images"), ("get_publish", "GetPublish"))


async def _setup(address: str) -> dict[str, object]:
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        [account] = await api.instagram_accounts(1, prefix="178416")
        media = await api.images(IMAGES, prefix="http")
        published = await api.publish_instagram(account, media)
        # GetPublish of a publish with a full timeline, as history callers read them.
        await api.publishing.GetPublish(pb.GetPublishRequest(id=published.instagram_publish_id))
    return {"account": account, "media": media, "publish_id": published.instagram_publish_id}


def _http_origin(service: object) -> str:
    for entry in reversed(service.json_logs()):  # type: ignore[attr-defined]
        if entry.get("message") == "started":
            return str(entry["http"])
    raise RuntimeError("the service logged no 'started' line with its HTTP address")


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    spec = {
        "mode": "closed_loop", "levels": list(scale.http_levels),
        "warmup": scale.http_warmup, "duration": scale.http_duration,
    }
    runs: dict[tuple[str, str], list[dict[str, object]]] = {}
    with Processes() as ps:
        instagram = ps.instagram(processing_delay=0)
        tiktok = ps.tiktok(processing_delay=0)
        service = ps.service(instagram, tiktok, extra_env={"DISTRIBUTION_HTTP_LISTEN": "127.0.0.1:0"})
        origin = _http_origin(service)
        request = asyncio.run(_setup(service.address))
        for _ in range(scale.http_rounds):
            for call, _title in CALLS:
                for transport in ("grpc", "http"):
                    measured = ps.client({
                        **spec, "call": call, "transport": transport, "target": service.address,
                        "http_target": origin, "request": request, "server_pid": service.pid,
                    })
                    runs.setdefault((call, transport), []).append(measured)
        rss = peak_rss_mb(service.pid)

    result.data = {f"{call} {transport}": rounds for (call, transport), rounds in runs.items()}
    cpu: dict[tuple[str, str, int], float | None] = {}
    for call, title in CALLS:
        for level in scale.http_levels:
            def levels(transport: str, call: str = call, level: int = level) -> list[dict[str, object]]:
                return [lv for m in runs[(call, transport)] for lv in m["levels"] if lv["concurrency"] == level]

            http, grpc_ = levels("http"), levels("grpc")
            for transport, rounds in (("http", http), ("grpc", grpc_)):
                cpu[(call, transport, level)] = _mean([lv["server_cpu_ms_per_call"] for lv in rounds])
            h_cpu, g_cpu = cpu[(call, "http", level)], cpu[(call, "grpc", level)]
            errors = {k: v for lv in http + grpc_ for k, v in lv["errors"].items()}
            result.rows.append(
                Row(
                    case=NAME,
                    scenario=f"{title} over HTTP/JSON, {level} concurrent",
                    median_ms=_mean([lv["median_ms"] for lv in http]),
                    p99_ms=_mean([lv["p99_ms"] for lv in http]),
                    throughput=_mean([lv["throughput"] for lv in http]),
                    rss_mb=rss,
                    baseline="the same call over gRPC, same service",
                    base_median_ms=_mean([lv["median_ms"] for lv in grpc_]),
                    base_p99_ms=_mean([lv["p99_ms"] for lv in grpc_]),
                    base_throughput=_mean([lv["throughput"] for lv in grpc_]),
                    base_rss_mb=rss,
                    ratio=f"server CPU {h_cpu / g_cpu - 1:+.1%} over gRPC" if h_cpu and g_cpu else "",
                    notes=f"server CPU {num(h_cpu, 3)} ms/call over HTTP, {num(g_cpu, 3)} ms over gRPC; "
                    f"{sum(lv['completed'] for lv in http)} HTTP calls, {sum(lv['completed'] for lv in grpc_)} gRPC"
                    + (f"; errors: {errors}" if errors else "; 0 errors"),
                )
            )
    top = max(scale.http_levels)
    h_cpu, g_cpu = cpu[("publish_instagram", "http", top)], cpu[("publish_instagram", "grpc", top)]
    added = h_cpu / g_cpu - 1 if h_cpu and g_cpu else None
    result.targets.append(
        Target(NAME, f"HTTP adds ≤ 15% server CPU per publish (at {top} concurrent)",
               f"{num(h_cpu, 3)} vs {num(g_cpu, 3)} ms = {added:+.1%}" if added is not None else "not measured",
               added is not None and added <= 0.15)
    )
    result.sections.append(
        "HTTP gateway: the gateway runs in the service's process and calls the gRPC methods through "
        "the same interceptors without a socket (server/grpc_api/inprocess.py), so the HTTP side adds "
        "HTTP/1.1 parsing in aiohttp and JSON transcoding (protobuf's json_format) in place of the "
        "gRPC side's HTTP/2 framing and protobuf decoding."
    )
    return result
