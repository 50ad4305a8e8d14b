"""Case 5, media inspection: what reading a media URL's bytes adds to RegisterMedia.

Two services (`python -m server`, each in its own process, built-in sandbox APIs): one with
DISTRIBUTION_MEDIA_FETCH=sandbox, inspecting every registration against its in-process
sandbox media host (one ranged GET of at most 1 MiB, the header read with Pillow), one with
media fetch off (the baseline: validation and one INSERT). A closed-loop client process
(bench.client, mode register_media) registers a new gs:// URL per call at 16 concurrent;
throughput, latency percentiles and server CPU per call come from the same window. The
in-process media host shares the service's process, so its CPU (serving the files) is in the
inspecting service's figure, as the network and a real host would not be: an upper bound.

Memory held per inspection is measured apart from the service: in this process, with
tracemalloc, 16 inspections at once of 9 MiB files (each reads its 1 MiB limit) served by a
media host in its own process; the peak of traced memory over the baseline, divided by 16.
"""

from __future__ import annotations

import asyncio
import tracemalloc

from bench.cases import Scale
from bench.harness import Processes
from bench.report import CaseResult, Row, Target, num
from tests.support.processes import Child

NAME = "5. Media inspection"
LEVEL = 16


def _memory_per_inspection(origin: str, concurrent: int) -> dict[str, float]:
    from server.adapters.media_fetch import FetchLimits, HttpMediaInspector, SandboxFetcher  # noqa: PLC0415

    async def measure() -> dict[str, float]:
        inspector = HttpMediaInspector(SandboxFetcher(origin), FetchLimits(concurrency=concurrent))
        try:
            await inspector.inspect("https://storage.googleapis.com/bench/warm-9mib.jpg")  # session, pools
            tracemalloc.start()
            before, _ = tracemalloc.get_traced_memory()
            results = await asyncio.gather(*(
                inspector.inspect(f"https://storage.googleapis.com/bench/m{i}-9mib.jpg") for i in range(concurrent)
            ))
            _, peak = tracemalloc.get_traced_memory()
            after, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            await inspector.close()
        assert all(r.ok for r in results), results
        return {"per_inspection_kib": (peak - before) / concurrent / 1024, "held_after_kib": (after - before) / 1024}

    return asyncio.run(measure())


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    warmup, duration = scale.unary_warmup, scale.unary_duration
    spec = {"mode": "register_media", "concurrency": LEVEL, "warmup": warmup, "duration": duration}
    with Processes() as ps:
        inspecting = ps.service(None, None, extra_env={"DISTRIBUTION_MEDIA_FETCH": "sandbox"})
        measured = ps.client({**spec, "target": inspecting.address, "server_pid": inspecting.pid,
                              "url": "gs://bench-bucket/photo-{n}-1080x1350.jpg", "expect_inspection": True})
        inspecting.stop()
        plain = ps.service(None, None, extra_env={"DISTRIBUTION_MEDIA_FETCH": "off"})
        baseline = ps.client({**spec, "target": plain.address, "server_pid": plain.pid,
                              "url": "gs://bench-bucket/photo-{n}-1080x1350.jpg"})
        plain.stop()
        host = ps._started(Child("media", ["-m", "server.sandbox.media", "--port", "0"], ps.workdir / "media.log"))
        host.spawn()
        origin = host.wait_for(r"(http://127\.0\.0\.1:\d+)").group(1)
        memory = _memory_per_inspection(origin, LEVEL)
    result.data = {"inspecting": measured, "baseline": baseline, "memory": memory}
    m, b = measured, baseline
    errors = sum(m["errors"].values())
    result.rows.append(
        Row(
            case=NAME,
            scenario=f"RegisterMedia with inspection (sandbox media host in-process), {LEVEL} concurrent",
            median_ms=m["median_ms"], p99_ms=m["p99_ms"], throughput=m["throughput"], rss_mb=m["server_peak_rss_mb"],
            baseline="RegisterMedia, media fetch off",
            base_median_ms=b["median_ms"], base_p99_ms=b["p99_ms"], base_throughput=b["throughput"],
            base_rss_mb=b["server_peak_rss_mb"],
            ratio=f"throughput {m['throughput'] / b['throughput']:.0%} of without" if b["throughput"] else "",
            notes=f"server CPU {num(m['server_cpu_ms_per_call'], 2)} ms/call (without: "
            f"{num(b['server_cpu_ms_per_call'], 2)}); {m['completed']} calls; "
            f"memory held per inspection {num(memory['per_inspection_kib'])} KiB (1 MiB read limit), "
            f"{num(memory['held_after_kib'])} KiB still held after"
            + (f"; {errors} errors: {m['errors']}" if errors else "; 0 errors"),
        )
    )
    result.targets.append(
        Target(NAME, "every inspected registration READ, no errors", f"{errors} errors", errors == 0)
    )
    result.targets.append(
        Target(NAME, "memory held per inspection ≤ the byte limit plus 25%",
               f"{num(memory['per_inspection_kib'])} KiB", memory["per_inspection_kib"] <= 1280)
    )
    return result
