"""Case 11, tracing's cost: server CPU per publish with tracing exported, with tracing off,
and without tracing code, same run.

Three `python -m server` processes against the same two emulators (their own processes,
delay 0): tracing ON (OTEL_EXPORTER_OTLP_ENDPOINT names a loopback OTLP/HTTP receiver in this
process, which decodes every ExportTraceServiceRequest; sampler always on, the SDK's default
batching); OFF (the SDK installed, no endpoint: what every service without a collector runs);
and the BASELINE, `bench.untraced_server`, the same service with the SDK, the exporters and
the instrumentations made unimportable and no OTEL_* variable. A closed-loop client process calls
PublishInstagramCarousel (3 images) at `scale.tracing_level` concurrent against each in turn,
the order alternating over `scale.tracing_rounds` rounds and the figures averaged, so drift
on a shared machine falls on every side. Server CPU per publish is utime+stime of the service
process over the window divided by the publishes completed. Targets: off costs ≤ 2%, on ≤ 15%.
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from bench.api import Api
from bench.cases import Scale
from bench.harness import Processes, peak_rss_mb
from bench.report import CaseResult, Row, Target, num
from tests.support.otlp import OtlpReceiver

NAME = "11. Tracing"
IMAGES = 3
VARIANTS = ("baseline", "off", "on", "sampled")
TITLES = {
    "off": "SDK installed, no endpoint",
    "on": "every trace exported to a loopback OTLP receiver",
    "sampled": "1 trace in 10 exported (OTEL_TRACES_SAMPLER=traceidratio, ARG 0.1)",
}


@contextmanager
def _receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver on its own event loop in a thread of this process."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="otlp-receiver", daemon=True)
    thread.start()
    receiver = asyncio.run_coroutine_threadsafe(OtlpReceiver("http/protobuf").start(), loop).result(30)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


async def _setup(address: str) -> dict[str, object]:
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        [account] = await api.instagram_accounts(1, prefix="178417")
        media = await api.images(IMAGES, prefix="tracing")
    return {"account": account, "media": media}


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    spec = {
        "mode": "closed_loop", "levels": [scale.tracing_level],
        "warmup": scale.tracing_warmup, "duration": scale.tracing_duration, "call": "publish_instagram",
        "transport": "grpc",
    }
    measured: dict[str, list[dict[str, object]]] = {v: [] for v in VARIANTS}
    with _receiver() as receiver, Processes() as ps:
        instagram = ps.instagram(processing_delay=0)
        tiktok = ps.tiktok(processing_delay=0)
        services = {
            "baseline": ps.service(instagram, tiktok, args=["-m", "bench.untraced_server"]),
            "off": ps.service(instagram, tiktok),
            "on": ps.service(instagram, tiktok, extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "distribution-bench",
                "OTEL_TRACES_SAMPLER": "always_on",
            }),
            "sampled": ps.service(instagram, tiktok, extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "distribution-bench-sampled",
                "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
            }),
        }
        requests = {v: asyncio.run(_setup(s.address)) for v, s in services.items()}
        for round_ in range(scale.tracing_rounds):
            for variant in VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS)):
                service = services[variant]
                run_ = ps.client({
                    **spec, "target": service.address, "request": requests[variant], "server_pid": service.pid,
                })
                measured[variant].extend(run_["levels"])
        rss = {v: peak_rss_mb(s.pid) for v, s in services.items()}
        by_service = collections.Counter(s.resource.get("service.name") for s in receiver.spans)
        spans = {"on": by_service["distribution-bench"], "sampled": by_service["distribution-bench-sampled"]}
        runs = sum(
            1 for s in receiver.spans
            if s.name == "publish.run" and s.resource.get("service.name") == "distribution-bench"
        )

    result.data = measured

    def mean(variant: str, key: str) -> float | None:
        values = [lv[key] for lv in measured[variant] if lv.get(key) is not None]
        return statistics.fmean(values) if values else None  # type: ignore[arg-type]

    cpu = {v: mean(v, "server_cpu_ms_per_call") for v in VARIANTS}
    base = cpu["baseline"]
    for variant, title in TITLES.items():
        added = cpu[variant] / base - 1 if cpu[variant] and base else None
        errors = {k: v for lv in measured[variant] for k, v in lv["errors"].items()}  # type: ignore[union-attr]
        result.rows.append(Row(
            case=NAME,
            scenario=f"PublishInstagramCarousel ({IMAGES} images), tracing {variant}: {title}, "
            f"{scale.tracing_level} concurrent",
            median_ms=mean(variant, "median_ms"), p99_ms=mean(variant, "p99_ms"),
            throughput=mean(variant, "throughput"), rss_mb=rss[variant],
            baseline="the same service without the SDK (bench.untraced_server), same run",
            base_median_ms=mean("baseline", "median_ms"), base_p99_ms=mean("baseline", "p99_ms"),
            base_throughput=mean("baseline", "throughput"), base_rss_mb=rss["baseline"],
            ratio=f"server CPU {added:+.1%}" if added is not None else "",
            notes=f"server CPU {num(cpu[variant], 3)} ms/publish vs {num(base, 3)} ms"
            + (f"; {spans[variant]} spans received" if variant in spans else "")
            + (f" ({spans['on'] / runs:.0f} per publish)" if variant == "on" and runs else "")
            + (f"; errors: {errors}" if errors else "; 0 errors"),
        ))
    for variant, limit in (("off", 0.02), ("on", 0.15)):
        added = cpu[variant] / base - 1 if cpu[variant] and base else None
        result.targets.append(Target(
            NAME, f"tracing {variant} costs ≤ {limit:.0%} server CPU per publish",
            f"{num(cpu[variant], 3)} vs {num(base, 3)} ms = {added:+.1%}" if added is not None else "not measured",
            added is not None and added <= limit,
        ))
    return result
