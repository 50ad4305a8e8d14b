"""Case 3, upstream cost: platform HTTP calls per publish, and what polling adds to latency.

Sequential publishes (one at a time, from the harness) of Instagram carousels of 2 and 10
images and a TikTok carousel of 35, first with processing delay 0 (every container is done
before the first status check), then with `upstream_delay` seconds. Calls are the emulators'
`/_sandbox/calls` counters read before and after each publish (control calls are not
counted). Each TikTok publish uses its own account: TikTok limits inits per token. Each
Instagram scenario starts on a fresh account, as most real publishes do (an account posts a
few times a day), so the first publish shows the account's full cost.

Polling cost = RPC latency minus the platform's own processing time, relative to it. The
processing time is what the platform needs in sequence: Instagram processes the item
containers (in parallel) and then the carousel container, each for the delay, so 2× the
delay; TikTok processes the photo post once, 1× the delay.
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import time

import grpc

from bench.api import Api
from bench.cases import Scale
from bench.harness import Processes, calls_since, peak_rss_mb, summarize
from bench.report import CaseResult, Row, Target, ms, table
from tests.support.processes import EmulatorProcess

NAME = "3. Upstream cost"
SCENARIOS = (("instagram", 2), ("instagram", 10), ("tiktok", 35))


def _checks(policy: object, until: float) -> list[float]:
    """When a PollPolicy checks (seconds after it starts), up to the first check at or after `until`."""
    at, interval, times = 0.0, policy.initial_interval, [0.0]  # type: ignore[attr-defined]
    while at < until:
        at += interval
        times.append(at)
        interval = min(interval * policy.multiplier, policy.max_interval)  # type: ignore[attr-defined]
    return times


def _schedules(delay: float) -> str:
    """The service's own poll schedules (read from server.services.workflow.polling), against `delay`."""
    try:
        from server.services.workflow.polling import INSTAGRAM_CONTAINERS, TIKTOK_STATUS  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the service renamed them
        return f"Poll schedules: not readable ({exc})."
    lines = []
    for name, policy in (("Instagram containers", INSTAGRAM_CONTAINERS), ("TikTok status", TIKTOK_STATUS)):
        times = _checks(policy, delay)
        lines.append(f"{name} ({policy}): checks at {', '.join(f'{t:g}' for t in times)} s, so processing that "
                     f"takes {delay:g} s is seen {times[-1] - delay:.3g} s late (+{(times[-1] - delay) / delay:.0%}).")
    return "Poll schedules, from the service's constants:\n\n" + "\n".join(f"- {line}" for line in lines)


def _phases(platform: str) -> int:
    return 2 if platform == "instagram" else 1


async def _measure(address: str, emulators: dict[str, EmulatorProcess], scale: Scale) -> list[dict[str, object]]:
    out = []
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        # A fresh Instagram account per scenario, so each starts as a real account's publish does:
        # the service reads content_publishing_limit when its cached reading is missing or stale.
        ig_accounts = await api.instagram_accounts(2 * len(SCENARIOS), prefix="178417")
        media = await api.images(35, prefix="upstream")
        iterations = scale.upstream_fast_iterations + scale.upstream_slow_iterations
        tiktok_accounts = await api.tiktok_accounts(iterations, prefix="upstream")
        used_tiktok = 0
        rounds = ((0.0, scale.upstream_fast_iterations), (scale.upstream_delay, scale.upstream_slow_iterations))
        for delay, count in rounds:
            for emulator in emulators.values():
                emulator.control("POST", "config", {"processing_delay": delay})
            for platform, images in SCENARIOS:
                ig_account = ig_accounts.pop()
                latencies: list[float] = []
                per_publish: list[int] = []
                endpoints: collections.Counter[str] = collections.Counter()
                for _ in range(count):
                    emulator = emulators[platform]
                    before = emulator.calls()
                    started = time.perf_counter()
                    if platform == "instagram":
                        await api.publish_instagram(ig_account, media[:images])
                    else:
                        await api.publish_tiktok(tiktok_accounts[used_tiktok], media[:images])
                        used_tiktok += 1
                    latencies.append(time.perf_counter() - started)
                    # Late reads (permalink, post id) happen after the RPC; give them a moment.
                    await asyncio.sleep(0.05)
                    spent = calls_since(emulator, before)
                    per_publish.append(sum(spent.values()))
                    endpoints.update(spent)
                out.append({
                    "platform": platform, "images": images, "delay": delay, "latencies": latencies,
                    "calls": per_publish, "endpoints": {k: v / count for k, v in sorted(endpoints.items())},
                })
    return out


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    with Processes() as ps:
        emulators = {"instagram": ps.instagram(processing_delay=0), "tiktok": ps.tiktok(processing_delay=0)}
        service = ps.service(emulators["instagram"], emulators["tiktok"])
        measured = asyncio.run(_measure(service.address, emulators, scale))
        rss = peak_rss_mb(service.pid)
    result.data = {"scenarios": measured}
    detail_rows = []
    for m in measured:
        platform, images, delay = m["platform"], m["images"], m["delay"]
        stats = summarize(m["latencies"])
        calls_median = statistics.median(m["calls"])
        label = f"{'Instagram' if platform == 'instagram' else 'TikTok'} carousel of {images}"
        processing = _phases(platform) * delay
        if delay == 0:
            limit = images + 5
            baseline = f"call budget n + 5 = {limit}" if platform == "instagram" else "(no call target)"
            budget = f" = {calls_median / limit:.2f}× budget" if platform == "instagram" else ""
            ratio = f"{calls_median:g} calls{budget}"
            row = Row(NAME, f"{label}, processing done before the first check (delay 0)",
                      stats["median_ms"], stats["p99_ms"], 1000 / stats["mean_ms"], rss, baseline,
                      ratio=ratio, notes=f"{calls_median:g} platform calls/publish (max {max(m['calls'])})")
            if platform == "instagram":
                first, typical = m["calls"][0], statistics.median(m["calls"][1:] or m["calls"])
                result.targets.append(Target(
                    NAME, f"Instagram {images} images: ≤ {limit} platform calls per publish (delay 0)",
                    f"{first} on the account's first publish, {typical:g} on later ones (max {max(m['calls'])})",
                    max(m["calls"]) <= limit))
        else:
            added = (stats["median_ms"] / 1000 - processing) / processing
            worst = (stats["max_ms"] / 1000 - processing) / processing
            row = Row(NAME, f"{label}, platform processing {delay:g} s per container/post",
                      stats["median_ms"], stats["p99_ms"], 1000 / stats["mean_ms"], rss,
                      f"platform processing time {processing:g} s ({_phases(platform)}× {delay:g} s)",
                      base_median_ms=processing * 1000, base_p99_ms=processing * 1000,
                      ratio=f"polling adds {added:+.0%} (worst {worst:+.0%})",
                      notes=f"{calls_median:g} platform calls/publish (max {max(m['calls'])})")
            result.targets.append(Target(NAME, f"{label}: polling adds ≤ 25% to {processing:g} s of processing",
                                         f"{added:+.1%} (median of {stats['n']}; worst {worst:+.1%})",
                                         added <= 0.25))
        result.rows.append(row)
        detail_rows.append([label, f"{delay:g} s", ", ".join(str(c) for c in m["calls"][:12]),
                            ", ".join(f"{k} {v:g}" for k, v in m["endpoints"].items()),
                            ms(stats["median_ms"])])
    result.sections.append(
        "Platform calls per publish, in order, and by endpoint (mean per publish; from the emulators' "
        "`/_sandbox/calls`):\n\n"
        + table(["Publish", "Processing delay", "Calls, each publish", "By endpoint", "RPC median ms"], detail_rows)
    )
    result.sections.append(_schedules(scale.upstream_delay))
    return result
