"""Case 7, scheduling: many publishes scheduled for the same second against the same number
started at once.

One service (`python -m server`, SQLite) and the Instagram emulator in their own processes,
the emulator keeping each container processing `schedule_delay` seconds; 3-image Instagram
carousels spread over `burst_instagram_accounts` accounts (the emulator's quotas lifted).

Baseline, same run and service: `schedule_publishes` immediate publishes sent at once from a
client process (bench.client, mode burst); their wall time is the burst time. Then the same
number, sent at once with one publish_time `schedule_lead` seconds ahead (each call returns
at once, SCHEDULED). At that second the service's timer claims them in batches and runs them.
Read back through ListPublishes: how late each started after its time (start_time -
schedule_time, the service's own record), when the last one went live, how many ended MISSED,
and how many media_publish calls the emulator served beyond one per publish (duplicates).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from distribution.v1 import publish_pb2
from distribution.v1 import publishing_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from bench.api import Api
from bench.cases import Scale
from bench.harness import Processes, calls_since, peak_rss_mb, percentile
from bench.report import CaseResult, Row, Target, ms

NAME = "7. Scheduling"
IMAGES = 3
_UNFINISHED = (publish_pb2.PUBLISH_STATE_SCHEDULED, publish_pb2.PUBLISH_STATE_PROCESSING)


async def _setup(address: str, scale: Scale) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        return {
            "media": await api.images(IMAGES, prefix="schedule"),
            "accounts": await api.instagram_accounts(scale.burst_instagram_accounts, prefix="178417"),
        }


def _calls(setup: dict[str, Any], count: int, publish_time: str | None = None) -> list[dict[str, Any]]:
    accounts = setup["accounts"]
    extra = {"publish_time": publish_time} if publish_time else {}
    return [{"kind": "instagram", "account": accounts[i % len(accounts)], "media": setup["media"], **extra}
            for i in range(count)]


async def _scheduled(address: str, due: datetime, count: int, within: float) -> list[pb.Publish]:
    """The publishes scheduled for `due`, once none of them is waiting or running (a bounded poll)."""
    after, before = Timestamp(), Timestamp()
    after.FromDatetime(due - timedelta(seconds=1))
    before.FromDatetime(due + timedelta(seconds=1))
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(address) as channel:
        api = Api(channel)
        while True:
            found: list[pb.Publish] = []
            token = ""
            while True:
                page = await api.publishing.ListPublishes(pb.ListPublishesRequest(
                    page_size=1000, page_token=token, schedule_time_after=after, schedule_time_before=before))
                found.extend(page.publishes)
                token = page.next_page_token
                if not token:
                    break
            if len(found) >= count and not any(p.state in _UNFINISHED for p in found):
                return found
            if time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    n = scale.schedule_publishes
    with Processes() as ps:
        instagram = ps.instagram(processing_delay=scale.schedule_delay)
        # A tolerance well under the lead: a call that reaches the service late (a slow client
        # start on a busy machine) must still schedule, not publish at once.
        service = ps.service(instagram, None, extra_env={"DISTRIBUTION_SCHEDULE_TOLERANCE": "0.5"})
        address = service.address
        setup = asyncio.run(_setup(address, scale))

        before = instagram.calls()
        burst = ps.client({"mode": "burst", "target": address, "calls": _calls(setup, n), "deadline": 600})
        immediate_calls = calls_since(instagram, before)

        due = (datetime.now(UTC) + timedelta(seconds=scale.schedule_lead)).replace(microsecond=0)
        before = instagram.calls()
        sent = ps.client({"mode": "burst", "target": address, "deadline": 600,
                          "calls": _calls(setup, n, due.isoformat().replace("+00:00", "Z"))})
        sent_by = datetime.now(UTC)
        records = asyncio.run(_scheduled(address, due, n, scale.schedule_lead + 10 * burst["wall_s"] + 60))
        scheduled_calls = calls_since(instagram, before)
        rss = peak_rss_mb(service.pid)
        service.stop()

    def seconds(ts: Timestamp) -> float:
        return (ts.ToDatetime(tzinfo=UTC) - due).total_seconds()

    started = [p for p in records if p.HasField("start_time")]
    lateness = sorted(p.start_lateness.ToTimedelta().total_seconds() for p in started)
    live = [seconds(p.publish_time) for p in records if p.state == publish_pb2.PUBLISH_STATE_PUBLISHED]
    missed = sum(1 for p in records if p.state == publish_pb2.PUBLISH_STATE_MISSED)
    other = sum(1 for p in records if p.state not in (publish_pb2.PUBLISH_STATE_PUBLISHED,
                                                      publish_pb2.PUBLISH_STATE_MISSED))
    sends = scheduled_calls.get("media_publish", 0)
    duplicated = max(sends - len(live), 0)
    last_start = lateness[-1] if lateness else float("nan")
    last_live = max(live) if live else float("nan")
    burst_s = burst["wall_s"]
    result.data = {"burst": burst, "sent": sent, "records": len(records), "started": len(started),
                   "published": len(live), "missed": missed, "other": other, "media_publish": sends,
                   "immediate_media_publish": immediate_calls.get("media_publish", 0),
                   "last_start_s": last_start, "last_live_s": last_live, "lateness_s": lateness,
                   "scheduling_done_before_due_s": (due - sent_by).total_seconds()}
    result.rows.append(
        Row(
            case=NAME,
            scenario=f"{n:,} Instagram publishes ({IMAGES} images) scheduled for the same second, platform "
            f"processing {scale.schedule_delay:g} s: start lateness (start_time - schedule_time)",
            median_ms=percentile(lateness, 50) * 1000 if lateness else None,
            p99_ms=percentile(lateness, 99) * 1000 if lateness else None,
            throughput=len(live) / last_live if live and last_live > 0 else None, rss_mb=rss,
            baseline=f"{n:,} immediate publishes sent at once, same service and run: call latency",
            base_median_ms=burst["median_ms"], base_p99_ms=burst["p99_ms"], base_throughput=burst["throughput"],
            ratio=f"last start {last_start:.2f} s late = {last_start / burst_s:.2f}× the burst time "
            f"({burst_s:.2f} s); last live {last_live:.2f} s after the time",
            notes=f"{missed} missed, {duplicated} duplicated ({sends} media_publish calls for {len(live)} live), "
            f"{other} in another state; scheduling calls: {sent['error_count']} errors, wall {sent['wall_s']:.2f} s "
            f"(median {ms(sent['median_ms'])} ms); immediate burst: {burst['error_count']} errors",
        )
    )
    result.targets += [
        Target(NAME, "last scheduled start ≤ 2× the immediate burst time",
               f"{last_start:.2f} s vs burst {burst_s:.2f} s = {last_start / burst_s:.2f}×",
               len(started) == n and last_start <= 2 * burst_s),
        Target(NAME, "0 missed, 0 duplicated, every one published",
               f"{missed} missed, {duplicated} duplicated, {len(live)}/{n} published",
               missed == 0 and duplicated == 0 and len(live) == n),
    ]
    return result
