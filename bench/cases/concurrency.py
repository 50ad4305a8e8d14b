"""Case 2, concurrency: many publishes started at once while the platforms take seconds.

`burst_publishes` carousels (3 images; half Instagram, half TikTok) start at once from one
client process while both emulators keep every container / photo post processing for
`burst_delay` seconds. TikTok limits init to 6 calls a minute per token, so every TikTok
publish uses its own account (own token); the emulators' limits are left as they are.
Instagram publishes spread over `burst_instagram_accounts` accounts (the emulator's
per-user quotas are lifted, see harness.Processes.instagram).

The wall time is compared with one lone publish of each platform measured just before, on
the same service. The service's own event-loop lag cannot be read without editing it, so a
probe thread in the harness calls grpc.health.v1 Check every 50 ms during the burst: its
latency is the time the service takes to pick up and answer a trivial call, an upper bound
of its loop lag. The client's own loop lag is reported too.

The same burst is sent to the bare server (each call held `burst_delay`) with grpc's default options
and with `grpc.server.max_pending_requests` raised, to show whether the core's pending-call
limit (default 1000) rejects calls.
"""

from __future__ import annotations

import asyncio

import grpc

from bench.api import Api, Probe
from bench.cases import Scale
from bench.harness import Processes, cpu_seconds, peak_rss_mb, status_kb, summarize
from bench.report import CaseResult, Row, Target, ms, num
from server.grpc_api.server import MAX_PENDING_REQUESTS

NAME = "2. Concurrency"
IMAGES = 3
PENDING_OPTION = "grpc.server.max_pending_requests"
HARD_OPTION = "grpc.server.max_pending_requests_hard_limit"
PENDING_FIX = {PENDING_OPTION: 10_000, HARD_OPTION: 20_000}


async def _setup(address: str, scale: Scale) -> dict[str, object]:
    half = scale.burst_publishes // 2
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        media = await api.images(IMAGES, prefix="burst")
        instagram = await api.instagram_accounts(scale.burst_instagram_accounts + 1, prefix="178416")
        tiktok = await api.tiktok_accounts(scale.burst_publishes - half + 1, prefix="burst")
    return {"media": media, "instagram": instagram, "tiktok": tiktok}


def _calls(setup: dict[str, object], scale: Scale) -> list[dict[str, object]]:
    media, instagram, tiktok = setup["media"], setup["instagram"][1:], setup["tiktok"][1:]
    out = []
    for i in range(scale.burst_publishes):
        if i % 2 == 0:
            out.append({"kind": "instagram", "account": instagram[(i // 2) % len(instagram)], "media": media})
        else:
            out.append({"kind": "tiktok", "account": tiktok[i // 2], "media": media})
    return out


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    with Processes() as ps:
        instagram = ps.instagram(processing_delay=scale.burst_delay)
        tiktok = ps.tiktok(processing_delay=scale.burst_delay)
        service = ps.service(instagram, tiktok)
        address = service.address
        setup = asyncio.run(_setup(address, scale))
        media = setup["media"]
        # Lone publishes: the same client code, one call at a time, accounts of their own.
        lone_ig = ps.client({"mode": "burst", "target": address, "calls": [
            {"kind": "instagram", "account": setup["instagram"][0], "media": media}]})
        lone_tt = ps.client({"mode": "burst", "target": address, "calls": [
            {"kind": "tiktok", "account": setup["tiktok"][0], "media": media}]})
        before = {"instagram": instagram.calls(), "tiktok": tiktok.calls()}
        cpu_before = cpu_seconds(service.pid)
        # What the service holds before the burst (warm: accounts, media and lone publishes
        # done): the peak above it is what the publishes in flight hold.
        rss_before = status_kb(service.pid, "VmRSS") / 1024
        with Probe(address, service.pid) as probe:
            burst = ps.client({"mode": "burst", "target": address, "calls": _calls(setup, scale), "deadline": 600})
        cpu = cpu_seconds(service.pid) - cpu_before
        upstream = sum(instagram.calls().values()) - sum(before["instagram"].values()) + \
            sum(tiktok.calls().values()) - sum(before["tiktok"].values())
        rss = peak_rss_mb(service.pid)
        service.stop()

        bare_calls = [{"kind": "instagram", "account": "a", "media": ["m1", "m2", "m3"]}] * scale.bare_burst
        bare_results = {}
        for label, options in (("default options", {}), (f"{HARD_OPTION}=20000 only", {HARD_OPTION: 20_000}),
                               (f"{PENDING_OPTION}=10000", PENDING_FIX)):
            bare = ps.bare(options, handler_delay=scale.burst_delay)
            with Probe(bare.address, bare.pid) as bare_probe:
                bare_burst = ps.client({"mode": "burst", "target": bare.address, "calls": bare_calls,
                                        "deadline": 120})
            bare_results[label] = (bare_burst, peak_rss_mb(bare.pid), bare_probe)
            bare.stop()

    lone = max(lone_ig["wall_s"], lone_tt["wall_s"])
    health = summarize(probe.health_latencies)
    result.data = {"lone_instagram": lone_ig, "lone_tiktok": lone_tt, "burst": burst,
                   "health": health, "bare": {k: v[0] for k, v in bare_results.items()}}
    n = scale.burst_publishes
    per_publish_kb = max(rss - rss_before, 0.0) * 1024 / max(n, 1)
    result.data["rss_before_burst_mb"] = rss_before
    result.data["kb_per_publish_in_flight"] = per_publish_kb
    result.rows.append(
        Row(
            case=NAME,
            scenario=f"{n:,} publishes at once ({n // 2:,} Instagram + {n - n // 2:,} TikTok, {IMAGES} images), "
            f"platform processing {scale.burst_delay:g} s",
            median_ms=burst["median_ms"], p99_ms=burst["p99_ms"], throughput=burst["throughput"], rss_mb=rss,
            baseline=f"slower lone publish, same service and run (Instagram {lone_ig['wall_s']:.2f} s, "
            f"TikTok {lone_tt['wall_s']:.2f} s)",
            base_median_ms=lone * 1000, base_p99_ms=lone * 1000,
            base_throughput=1 / lone if lone else None, base_rss_mb=None,
            ratio=f"wall {burst['wall_s']:.2f} s = {burst['wall_s'] / lone:.2f}× the slower lone publish "
            f"({lone:.2f} s)",
            notes=f"{burst['error_count']} errors {burst['errors'] or ''}; health-check latency during the burst "
            f"median {ms(health['median_ms'])} / max {ms(health['max_ms'])} ms ({probe.health_failures} failed); "
            f"client loop lag max {ms(burst['client_loop_lag_ms'])} ms; server CPU {cpu:.1f} s "
            f"({cpu / max(n, 1) * 1000:.1f} ms/publish); {upstream / max(n, 1):.1f} platform calls/publish; "
            f"RSS {num(rss_before)} MB before the burst, peak {num(rss)} MB: "
            f"{per_publish_kb:.0f} KB per publish in flight",
        )
    )
    for label, (bare_burst, bare_rss, _probe) in bare_results.items():
        result.rows.append(
            Row(
                case=NAME,
                scenario=f"bare server, {scale.bare_burst:,} calls at once, each held {scale.burst_delay:g} s, {label}",
                median_ms=bare_burst["median_ms"], p99_ms=bare_burst["p99_ms"],
                throughput=bare_burst["throughput"], rss_mb=bare_rss,
                baseline="(transport-only reference)",
                ratio=f"wall {bare_burst['wall_s']:.2f} s",
                notes=f"{bare_burst['error_count']} errors {bare_burst['errors'] or ''}; client loop lag max "
                f"{ms(bare_burst['client_loop_lag_ms'])} ms",
            )
        )
    result.targets += [
        Target(NAME, "wall time ≤ 3× one lone publish",
               f"{burst['wall_s']:.2f} s vs lone {lone:.2f} s = {burst['wall_s'] / lone:.2f}×",
               burst["wall_s"] <= 3 * lone),
        Target(NAME, "server peak RSS < 150 MB",
               f"{num(rss)} MB ({num(rss_before)} MB before the burst, {per_publish_kb:.0f} KB per publish in flight)",
               rss < 150),
        Target(NAME, "0 errors", f"{burst['error_count']} {burst['errors'] or ''}".strip(),
               burst["error_count"] == 0),
    ]
    default_errors = bare_results["default options"][0]["error_count"]
    hard_errors = bare_results[f"{HARD_OPTION}=20000 only"][0]["error_count"]
    fixed_errors = bare_results[f"{PENDING_OPTION}=10000"][0]["error_count"]
    result.sections.append(
        f"Event-loop lag: the service cannot be instrumented without editing it, so lag is bounded from "
        f"outside: a grpc.health.v1 Check every 50 ms during the burst took median {ms(health['median_ms'])} ms, "
        f"p99 {ms(health['p99_ms'])} ms, max {ms(health['max_ms'])} ms ({health['n']} probes). "
        f"The client's own loop lag peaked at {ms(burst['client_loop_lag_ms'])} ms. Not measured: the server "
        "loop's lag itself (it would need a ticker task inside the service, or PYTHONASYNCIODEBUG, which "
        "distorts the timing)."
    )
    result.sections.append(
        f"Pending-call limit: {scale.bare_burst:,} calls at once to the bare grpc.aio server "
        f"(each held {scale.burst_delay:g} s) "
        f"gave {default_errors} errors with default options "
        f"({bare_results['default options'][0]['errors'] or 'none'}), {hard_errors} with only "
        f"`{HARD_OPTION}` = 20000, and {fixed_errors} with `{PENDING_OPTION}` = 10000 plus `{HARD_OPTION}` = 20000. "
        "grpc core queues calls that arrived before the application asked for them (grpc.aio asks for one "
        "call at a time from its event loop); past `grpc.server.max_pending_requests` (default 1000) it "
        "refuses new ones with a probability that rises to 1 at `grpc.server.max_pending_requests_hard_limit` "
        "(default 3000); the client sees CANCELLED. The service sets both (`server/app.py`: "
        f"`{PENDING_OPTION}` = {MAX_PENDING_REQUESTS:,}, `{HARD_OPTION}` = {2 * MAX_PENDING_REQUESTS:,}; the soft "
        "limit is the one that matters) and its own burst above had "
        f"{burst['error_count']} errors this run; `tests/api/test_burst.py` fails without the setting."
    )
    return result
