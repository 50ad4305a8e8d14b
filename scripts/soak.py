#!/usr/bin/env python3
"""Soak: many publishes through the real service under platform faults and SIGKILLs.

    make soak                                   # 500 publishes, seed 1
    make soak SOAK_ARGS="--publishes 100 --seed 7 --json var/soak.json"
    python scripts/soak.py --help

Set-up: both platform emulators in their own processes (short processing delay, Instagram's
publishing and container quotas raised, TikTok's per-token rate limits off), the service
(`python -m server`) in its own process over a database in a work directory. The publishes
(half Instagram, half TikTok; accounts spread so the service's per-token TikTok pacing never
makes a publish wait) are planned from --seed: account, media, caption (which carries the
request_id, so every platform post can be traced to its request), TikTok mode and privacy.

Run: seeded random faults on every endpoint of both emulators (5xx, 429 with Retry-After 1,
resets before and after serving, short stalls before and after serving, error_after_live on
media_publish and init), while a pool of concurrent callers sends each publish with its own
request_id and retries the SAME request on UNAVAILABLE, connection loss and DEADLINE_EXCEEDED
until the service gives a definitive answer (a result, or an error that names the publish, or
a refusal other than UNAVAILABLE). Meanwhile the service is killed with SIGKILL at seeded
intervals and restarted at once on the same database and port.

End: faults off, the last service run settles (every record terminal, bounded), then the
records (ListPublishes, GetPublish) are checked against what the emulators actually posted:

* duplicates: the emulators' own duplicate_posts, two records naming one platform post, a
  request whose publish posted more than once, a request_id with more than one record;
* lost: a request that never got a record (and was not refused), a record still not
  terminal after settling;
* mismatches: a record whose story differs from the platform's (PUBLISHED without a post,
  FAILED although it posted, a platform id that is not its own post's, the caller told
  something other than the record says), and INTERNAL errors;
* UNCONFIRMED records are allowed: each is listed with its reason and whether it posted.

Every duplicate, lost publish or mismatch is printed with its request_id, publish id, the
record's timeline (GetPublish events) and the emulator's posts for it. The figures go to
stdout and, with --json, to a file. Exit status 1 on any duplicate, lost publish or mismatch.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import random
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for extra in (str(ROOT / "generated"), str(ROOT)):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import grpc  # noqa: E402
from distribution.v1 import (  # noqa: E402
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)
from google.protobuf import json_format  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402
from grpc_status import rpc_status  # noqa: E402

from tests.support.processes import EmulatorProcess, ServiceProcess, service_env  # noqa: E402

INSTAGRAM_ENDPOINTS = (
    "create_container", "container_status", "batch_status", "media_publish",
    "media_read", "media_list", "publishing_limit", "token_refresh",
)
TIKTOK_ENDPOINTS = ("creator_info", "init", "status", "token")
# The calls that change what people see: the duplicate traps.
LIVE_ENDPOINTS = {"media_publish", "init"}

STATE_NAMES = {v: k.removeprefix("PUBLISH_STATE_") for k, v in publish_pb2.PublishState.items()}
TERMINAL = {"PUBLISHED", "DELIVERED_TO_INBOX", "FAILED", "UNCONFIRMED"}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

CHANNEL_OPTIONS = [
    # Reconnect quickly after a kill instead of backing off for up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class Planned:
    index: int
    platform: str  # "instagram" | "tiktok"
    request_id: str
    account: int  # index into the platform's accounts
    media: list[int]  # indexes into the media pool
    caption: str
    post_mode: str = "DIRECT"
    privacy_level: str = "SELF_ONLY"
    cover_index: int = 0


@dataclass
class Outcome:
    """What the caller was finally told."""

    kind: str = "none"  # ok | error | no_answer
    state: str = ""  # the publish state the answer carried (ok), or the record's (error)
    code: str = ""
    reason: str = ""
    message: str = ""
    publish_id: str = ""
    attempts: int = 0
    codes_seen: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0


def fault_rules(endpoints: tuple[str, ...], rate: float, stall: float) -> list[dict[str, Any]]:
    """`rate` of each endpoint's calls get a fault, split among the kinds."""
    if rate <= 0:
        return []
    rules = []
    for endpoint in endpoints:
        live = endpoint in LIVE_ENDPOINTS
        mix: list[tuple[dict[str, Any], float]] = [
            ({"kind": "5xx"}, 0.25 if live else 0.35),
            ({"kind": "429", "retry_after": 1}, 0.20),
            ({"kind": "reset"}, 0.15),
            ({"kind": "reset", "after_serving": True}, 0.10),
            ({"kind": "timeout", "stall_seconds": stall}, 0.10),
            ({"kind": "timeout", "after_serving": True, "stall_seconds": stall}, 0.10),
        ]
        if live:
            mix.append(({"kind": "error_after_live"}, 0.10))
        for body, share in mix:
            rules.append({"endpoint": endpoint, "rate": round(rate * share, 6), **body})
    return rules


def plan(args: argparse.Namespace, rng: random.Random) -> tuple[list[Planned], int, int]:
    n = args.publishes
    n_ig = n // 2 + n % 2
    n_tt = n // 2
    platforms = ["instagram"] * n_ig + ["tiktok"] * n_tt
    rng.shuffle(platforms)
    ig_accounts = max(1, math.ceil(n_ig / args.ig_per_account))
    tt_accounts = max(1, math.ceil(n_tt / args.tiktok_per_account))
    seen = {"instagram": 0, "tiktok": 0}
    out = []
    for index, platform in enumerate(platforms):
        k = seen[platform]
        seen[platform] += 1
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        count = rng.randint(2, min(5, args.media_pool))
        media = rng.sample(range(args.media_pool), count)
        per = args.ig_per_account if platform == "instagram" else args.tiktok_per_account
        item = Planned(
            index=index,
            platform=platform,
            request_id=request_id,
            account=k // per,
            media=media,
            caption=f"soak {args.seed}/{index} {request_id}",  # <= 90 UTF-16 units for TikTok
        )
        if platform == "tiktok":
            roll = rng.random()
            if roll < 0.15:
                item.post_mode = "INBOX"
                item.privacy_level = ""
            elif roll < 0.30:
                item.privacy_level = "PUBLIC_TO_EVERYONE"
            item.cover_index = rng.randrange(count)
        out.append(item)
    return out, ig_accounts, tt_accounts


# --- errors -----------------------------------------------------------------------------------


def error_info(err: grpc.aio.AioRpcError) -> tuple[str, dict[str, str], float | None]:
    """(reason, metadata, retry delay) from the google.rpc.Status the error carried, if any."""
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except Exception:  # a malformed status is the service's problem; treat as bare
        status = None
    reason, metadata, delay = "", {}, None
    if status is None:
        return reason, metadata, delay
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.ToTimedelta().total_seconds()
    return reason, metadata, delay


async def with_retries(call, what: str, attempts: int = 30) -> Any:
    """For the soak's own set-up and read-back calls: retry while the service is away."""
    for attempt in range(attempts):
        try:
            return await call()
        except grpc.aio.AioRpcError as err:
            if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or (
                attempt + 1 == attempts
            ):
                raise RuntimeError(f"{what}: {err.code().name} {err.details()}") from None
            await asyncio.sleep(0.3)
    raise AssertionError("unreachable")


# --- the soak ---------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.kill_rng = random.Random(f"{args.seed}:kills")
        self.client_rng = random.Random(f"{args.seed}:clients")
        self.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="distribution-soak-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.requests, self.n_ig_accounts, self.n_tt_accounts = plan(args, self.rng)
        self.outcomes: dict[str, Outcome] = {}
        self.kills: list[float] = []
        self.unexpected_exits: list[dict[str, Any]] = []
        self.restarts_failed = 0
        self.done = asyncio.Event()
        self.answered = 0
        self.started = 0.0
        self.log_lines: list[str] = []

    def say(self, line: str = "") -> None:
        print(line, flush=True)

    # --- processes ----------------------------------------------------------------------

    async def start(self) -> None:
        delay = str(self.args.processing_delay)
        self.instagram = EmulatorProcess(
            "instagram", self.workdir, "--processing-delay", delay, "--publish-quota", "1000000"
        )
        self.tiktok = EmulatorProcess("tiktok", self.workdir, "--processing-delay", delay, "--moderation-delay", "0.5")
        await asyncio.gather(self.instagram.astart(), self.tiktok.astart())
        await self.instagram.acontrol("POST", "config", {"container_quota": 1000000})
        await self.tiktok.acontrol(
            "POST", "config",
            {"init_limit_per_minute": 0, "status_limit_per_minute": 0, "creator_info_limit_per_minute": 0},
        )
        settings = service_env(
            self.workdir, self.instagram.base_url, self.tiktok.base_url, DISTRIBUTION_LOG_LEVEL="WARNING"
        )
        self.service = ServiceProcess(settings, self.workdir / "service.log")
        await self.service.astart()
        self.channel = grpc.aio.insecure_channel(self.service.address, options=CHANNEL_OPTIONS)
        self.accounts = account_service_pb2_grpc.AccountServiceStub(self.channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(self.channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(self.channel)

    async def stop(self) -> None:
        try:
            await self.channel.close()
        except Exception:
            pass
        self.service.stop()
        self.instagram.stop()
        self.tiktok.stop()

    async def restart(self) -> None:
        for attempt in range(5):
            try:
                await self.service.astart()
                return
            except (RuntimeError, TimeoutError) as exc:
                self.restarts_failed += 1
                self.say(f"  restart attempt {attempt + 1} failed: {exc}")
                self.service.kill()
                await asyncio.sleep(1)
        raise RuntimeError(f"the service would not restart; see {self.workdir}/service.log")

    # --- set-up -------------------------------------------------------------------------

    async def prepare(self) -> None:
        seed = self.args.seed
        self.ig_account_ids = []
        for k in range(self.n_ig_accounts):
            request = account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM,
                external_account_id=str(17841400000000000 + k),
                username=f"soak_ig_{k}", access_token=f"soak-ig-token-{seed}-{k}",
            )
            reply = await with_retries(lambda: self.accounts.ConnectAccount(request, timeout=10), "ConnectAccount")
            self.ig_account_ids.append(reply.account.id)
        self.tt_account_ids = []
        for k in range(self.n_tt_accounts):
            request = account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_TIKTOK,
                external_account_id=f"soak-open-id-{k}",
                username=f"soak_tt_{k}", access_token=f"soak-tiktok-token-{seed}-{k}",
            )
            reply = await with_retries(lambda: self.accounts.ConnectAccount(request, timeout=10), "ConnectAccount")
            self.tt_account_ids.append(reply.account.id)
        self.media_ids = []
        for k in range(self.args.media_pool):
            request = media_service_pb2.RegisterMediaRequest(url=f"gs://soak-bucket/photo-{k}.jpg")
            reply = await with_retries(lambda: self.media.RegisterMedia(request, timeout=10), "RegisterMedia")
            self.media_ids.append(reply.media.id)

    def message(self, item: Planned) -> Any:
        media_ids = [self.media_ids[m] for m in item.media]
        if item.platform == "instagram":
            return publishing_service_pb2.PublishInstagramCarouselRequest(
                media_ids=media_ids, instagram_account_id=self.ig_account_ids[item.account],
                caption=item.caption, request_id=item.request_id,
            )
        request = publishing_service_pb2.PublishTikTokCarouselRequest(
            media_ids=media_ids, tiktok_account_id=self.tt_account_ids[item.account],
            caption=item.caption, request_id=item.request_id, cover_index=item.cover_index,
            post_mode=publish_pb2.PostMode.Value(f"POST_MODE_{item.post_mode}"),
        )
        if item.privacy_level:
            request.privacy_level = publish_pb2.PrivacyLevel.Value(f"PRIVACY_LEVEL_{item.privacy_level}")
        return request

    async def set_faults(self) -> None:
        rate, stall = self.args.fault_rate, self.args.stall_seconds
        await self.instagram.acontrol(
            "POST", "faults", {"seed": f"{self.args.seed}:instagram", "rules": fault_rules(INSTAGRAM_ENDPOINTS, rate, stall)}
        )
        await self.tiktok.acontrol(
            "POST", "faults", {"seed": f"{self.args.seed}:tiktok", "rules": fault_rules(TIKTOK_ENDPOINTS, rate, stall)}
        )

    # --- callers ------------------------------------------------------------------------

    async def publish_once(self, item: Planned) -> Outcome:
        """One logical publish: the same request until a definitive answer."""
        request = self.message(item)
        call = (
            self.publishing.PublishInstagramCarousel
            if item.platform == "instagram"
            else self.publishing.PublishTikTokCarousel
        )
        outcome = Outcome()
        started = time.monotonic()
        backoff = 0.2
        while True:
            outcome.attempts += 1
            try:
                reply = await call(request, timeout=self.args.call_timeout)
            except grpc.aio.AioRpcError as err:
                code = err.code()
                reason, metadata, delay = error_info(err)
                outcome.codes_seen[f"{code.name}:{reason or '-'}"] += 1
                publish_id = metadata.get("publish_id", "")
                transient = (
                    code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)
                    or (code == grpc.StatusCode.RESOURCE_EXHAUSTED and not publish_id)
                )
                # A recorded publish's error names it (and replays the same answer): definitive.
                # So is the service's own PUBLISH_UNCONFIRMED. Without either, retry the same request.
                if publish_id or reason == "PUBLISH_UNCONFIRMED" or not transient:
                    outcome.kind = "error"
                    outcome.code, outcome.reason = code.name, reason
                    outcome.message, outcome.publish_id = err.details() or "", publish_id
                    break
                if time.monotonic() - started > self.args.request_timeout:
                    outcome.kind = "no_answer"
                    outcome.code, outcome.reason, outcome.message = code.name, reason, err.details() or ""
                    break
                pause = max(delay or 0.0, self.client_rng.uniform(0.5, 1.0) * backoff)
                backoff = min(backoff * 2, 2.0)
                await asyncio.sleep(min(pause, 5.0))
                continue
            outcome.kind = "ok"
            outcome.state = STATE_NAMES.get(reply.state, str(reply.state))
            outcome.publish_id = (
                reply.instagram_publish_id if item.platform == "instagram" else reply.tiktok_publish_id
            )
            break
        outcome.seconds = time.monotonic() - started
        return outcome

    async def caller(self, queue: asyncio.Queue[Planned]) -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            self.outcomes[item.request_id] = await self.publish_once(item)
            self.answered += 1
            if self.answered % max(1, len(self.requests) // 10) == 0:
                self.say(
                    f"  {self.answered}/{len(self.requests)} answered, {len(self.kills)} kills, "
                    f"{time.monotonic() - self.started:.0f}s"
                )

    async def killer(self) -> None:
        limit = self.args.kills
        while limit is None or len(self.kills) < limit:
            wait = self.kill_rng.uniform(self.args.kill_min, self.args.kill_max)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self.done.is_set():
                    return
                if self.service.popen is not None and not self.service.alive():
                    # Not ours: the service died on its own. Note it and bring it back.
                    code = self.service.returncode
                    self.unexpected_exits.append({"at_s": round(time.monotonic() - self.started, 1), "returncode": code})
                    self.say(f"  !! the service exited on its own (code {code}); restarting")
                    await self.restart()
                await asyncio.sleep(0.05)
            if self.done.is_set():
                return
            self.service.kill()
            self.kills.append(round(time.monotonic() - self.started, 2))
            await self.restart()

    async def run_load(self) -> None:
        queue: asyncio.Queue[Planned] = asyncio.Queue()
        for item in self.requests:
            queue.put_nowait(item)
        killer = asyncio.create_task(self.killer())
        try:
            await asyncio.gather(*(self.caller(queue) for _ in range(self.args.concurrency)))
        finally:
            self.done.set()
            await killer

    # --- read-back ----------------------------------------------------------------------

    async def list_records(self) -> list[Any]:
        records, token = [], ""
        while True:
            request = publishing_service_pb2.ListPublishesRequest(page_size=1000, page_token=token)
            page = await with_retries(lambda: self.publishing.ListPublishes(request, timeout=30), "ListPublishes")
            records.extend(page.publishes)
            token = page.next_page_token
            if not token:
                return records

    async def settle(self) -> list[Any]:
        deadline = time.monotonic() + self.args.settle_timeout
        while True:
            records = await self.list_records()
            open_ = [r for r in records if STATE_NAMES.get(r.state) not in TERMINAL]
            if not open_ or time.monotonic() > deadline:
                return records
            await asyncio.sleep(1.0)

    async def timeline(self, publish_id: str) -> dict[str, Any]:
        request = publishing_service_pb2.GetPublishRequest(id=publish_id)
        reply = await with_retries(lambda: self.publishing.GetPublish(request, timeout=10), "GetPublish")
        return {
            "publish": json_format.MessageToDict(reply.publish, preserving_proto_field_name=True),
            "events": [
                {
                    "seq": e.sequence,
                    "time": e.time.ToJsonString(),
                    "type": e.type,
                    "state": STATE_NAMES.get(e.state, "") if e.state else "",
                    "message": e.message,
                    "details": json_format.MessageToDict(e.details),
                }
                for e in reply.events
            ],
        }

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        args = self.args
        t0 = time.monotonic()
        self.say(
            f"soak: {args.publishes} publishes, seed {args.seed}, {args.concurrency} callers, fault rate "
            f"{args.fault_rate:g} per endpoint, kills every {args.kill_min:g}-{args.kill_max:g}s"
            + (f" (at most {args.kills})" if args.kills is not None else "")
            + f"; work dir {self.workdir}"
        )
        await self.start()
        try:
            await self.prepare()
            self.say(
                f"  {self.n_ig_accounts} Instagram and {self.n_tt_accounts} TikTok accounts, "
                f"{len(self.media_ids)} media; faults on"
            )
            await self.set_faults()
            self.started = time.monotonic()
            await self.run_load()
            load_seconds = time.monotonic() - self.started
            self.say(f"  every request answered after {load_seconds:.0f}s; faults off, settling")
            faults = {
                "instagram": await self.instagram.acontrol("DELETE", "faults"),
                "tiktok": await self.tiktok.acontrol("DELETE", "faults"),
            }
            records = await self.settle()
            report = await self.analyse(records, faults)
            report["load_seconds"] = round(load_seconds, 1)
            report["elapsed_seconds"] = round(time.monotonic() - t0, 1)
            return report
        finally:
            await self.stop()

    async def analyse(self, records: list[Any], faults: dict[str, Any]) -> dict[str, Any]:
        args = self.args
        by_rid: dict[str, Planned] = {r.request_id: r for r in self.requests}
        recs_by_rid: dict[str, list[Any]] = collections.defaultdict(list)
        stray_records = []
        for rec in records:
            if rec.request_id in by_rid:
                recs_by_rid[rec.request_id].append(rec)
            else:
                stray_records.append(rec)

        ig_posts = await self.instagram.aposts()
        tt_posts = await self.tiktok.aposts()
        ig_stats = await self.instagram.acontrol("GET", "stats")
        tt_stats = await self.tiktok.acontrol("GET", "stats")
        posts_by_rid: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        orphan_posts = []
        for platform, posts, text_key in (("instagram", ig_posts, "caption"), ("tiktok", tt_posts, "title")):
            for post in posts:
                post = {"platform": platform, **post}
                match = UUID_RE.search(post.get(text_key) or "")
                if match and match.group(0) in by_rid:
                    posts_by_rid[match.group(0)].append(post)
                else:
                    orphan_posts.append(post)

        def live(post: dict[str, Any]) -> bool:
            return post["platform"] == "instagram" or post.get("status") != "FAILED"

        problems: dict[str, dict[str, Any]] = {}

        def problem(kind: str, request_id: str, why: str, record: Any = None) -> None:
            entry = problems.setdefault(
                request_id or f"no-request-{len(problems)}",
                {"request_id": request_id, "kinds": [], "why": [], "publish_ids": []},
            )
            if kind not in entry["kinds"]:
                entry["kinds"].append(kind)
            entry["why"].append(why)
            if record is not None and record.id not in entry["publish_ids"]:
                entry["publish_ids"].append(record.id)

        # --- duplicates
        dup_records_sharing = 0
        shared: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)
        for rec in records:
            if rec.platform == account_pb2.PLATFORM_INSTAGRAM and rec.ig_media_id:
                shared[("instagram", rec.ig_media_id)].append(rec)
            if rec.platform == account_pb2.PLATFORM_TIKTOK and rec.tiktok_publish_id:
                shared[("tiktok", rec.tiktok_publish_id)].append(rec)
        for (platform, post_id), recs in shared.items():
            if len(recs) > 1:
                dup_records_sharing += len(recs) - 1
                for rec in recs:
                    problem("duplicate", rec.request_id,
                            f"{len(recs)} records name the same {platform} post {post_id}", rec)
        posted_twice = 0
        for rid, posts in posts_by_rid.items():
            lives = [p for p in posts if live(p)]
            if len(lives) > 1:
                posted_twice += 1
                ids = [p.get("id") or p.get("publish_id") for p in lives]
                problem("duplicate", rid, f"posted {len(lives)} times on {lives[0]['platform']}: {ids}")
        several_records = several_extra = 0
        for rid, recs in recs_by_rid.items():
            if len(recs) > 1:
                several_records += 1
                several_extra += len(recs) - 1
                for rec in recs:
                    problem("duplicate", rid, f"request_id has {len(recs)} records", rec)
        emulator_dups = {"instagram": ig_stats["duplicate_posts"], "tiktok": tt_stats["duplicate_posts"]}
        unattributed_dups = 0
        for platform, stats, posts in (("instagram", ig_stats, ig_posts), ("tiktok", tt_stats, tt_posts)):
            key = "id" if platform == "instagram" else "publish_id"
            text = "caption" if platform == "instagram" else "title"
            by_id = {p[key]: p for p in posts}
            for group in stats.get("duplicate_groups", []):
                rids = {m.group(0) for pid in group if (m := UUID_RE.search(by_id.get(pid, {}).get(text) or ""))}
                if not rids:
                    unattributed_dups += len(group) - 1
                for rid in rids:
                    problem("duplicate", rid, f"the {platform} emulator counts posts {group} as duplicates")
        duplicate_requests = sorted(rid for rid, p in problems.items() if "duplicate" in p["kinds"])

        # --- lost and the final state of each request
        final_state: collections.Counter[str] = collections.Counter()
        refused: collections.Counter[str] = collections.Counter()
        lost_no_record, stuck = [], []
        for item in self.requests:
            rid = item.request_id
            recs = recs_by_rid.get(rid, [])
            outcome = self.outcomes.get(rid, Outcome())
            if not recs:
                if outcome.kind == "error" and not outcome.publish_id:
                    refused[f"{outcome.code}:{outcome.reason}"] += 1
                    final_state["REFUSED"] += 1
                    if outcome.code == "INTERNAL":
                        problem("mismatch", rid, f"INTERNAL before any record: {outcome.message}")
                    if posts_by_rid.get(rid):
                        problem("mismatch", rid, f"refused ({outcome.code} {outcome.reason}) but it posted")
                    continue
                final_state["LOST"] += 1
                lost_no_record.append(rid)
                problem("lost", rid, f"no record; the caller was told {outcome.kind} {outcome.code} "
                        f"{outcome.reason} {outcome.message!r} after {outcome.attempts} attempts")
                continue
            rec = recs[0]
            state = STATE_NAMES.get(rec.state, str(rec.state))
            if state not in TERMINAL:
                stuck.append(rid)
                final_state["STUCK"] += 1
                problem("lost", rid, f"record still {state} after settling", rec)
                continue
            final_state[state] += 1
            # What the caller was told vs the record.
            if outcome.kind == "ok" and outcome.state != state:
                problem("mismatch", rid, f"the caller was told {outcome.state}, the record says {state}", rec)
            if outcome.kind == "error" and state in ("PUBLISHED", "DELIVERED_TO_INBOX"):
                problem("mismatch", rid, f"the caller was told {outcome.code} {outcome.reason}, the record says {state}", rec)
            if outcome.kind == "ok" and outcome.publish_id != rec.id:
                problem("mismatch", rid, f"the caller was told publish {outcome.publish_id}, the record is {rec.id}", rec)
            if outcome.code == "INTERNAL" or rec.error.code == "INTERNAL":
                problem("mismatch", rid, f"INTERNAL: {rec.error.message or outcome.message}", rec)
            # The record vs the platform.
            posts = [p for p in posts_by_rid.get(rid, []) if live(p)]
            if state in ("PUBLISHED", "DELIVERED_TO_INBOX") and not posts:
                problem("mismatch", rid, f"record {state} but nothing was posted", rec)
            if state == "FAILED" and posts:
                problem("mismatch", rid, f"record FAILED ({rec.error.reason}) but it posted "
                        f"{[p.get('id') or p.get('publish_id') for p in posts]}", rec)
            if rec.platform == account_pb2.PLATFORM_INSTAGRAM and rec.ig_media_id:
                own = [p for p in ig_posts if p["creation_id"] == rec.instagram_container_id]
                if not own or own[0]["id"] != rec.ig_media_id:
                    problem("mismatch", rid, f"record names IG media {rec.ig_media_id}, its container "
                            f"{rec.instagram_container_id} was posted as {[p['id'] for p in own]}", rec)
            if rec.platform == account_pb2.PLATFORM_TIKTOK and rec.tiktok_publish_id:
                if rec.tiktok_publish_id not in {p["publish_id"] for p in posts_by_rid.get(rid, [])}:
                    problem("mismatch", rid, f"record names TikTok publish {rec.tiktok_publish_id}, "
                            "which is not this request's post", rec)
        for rec in stray_records:
            problem("mismatch", rec.request_id, "a record no soak request asked for", rec)

        # --- notes (allowed, but worth knowing)
        unconfirmed = []
        failed: collections.Counter[str] = collections.Counter()
        published_without_id = []
        for rid, recs in recs_by_rid.items():
            rec = recs[0]
            state = STATE_NAMES.get(rec.state)
            posts = [p for p in posts_by_rid.get(rid, []) if live(p)]
            if state == "UNCONFIRMED":
                unconfirmed.append({
                    "request_id": rid,
                    "publish_id": rec.id,
                    "platform": by_rid[rid].platform,
                    "message": rec.error.message,
                    "posted": bool(posts),
                    "posts": [p.get("id") or p.get("publish_id") for p in posts],
                })
            elif state == "FAILED":
                failed[f"{rec.error.code}:{rec.error.reason}"] += 1
            elif state == "PUBLISHED":
                if rec.platform == account_pb2.PLATFORM_INSTAGRAM and not rec.ig_media_id:
                    published_without_id.append({"request_id": rid, "publish_id": rec.id,
                                                 "posts": [p["id"] for p in posts]})

        # --- attribution of every problem
        for rid, entry in problems.items():
            ids = list(entry["publish_ids"]) or [r.id for r in recs_by_rid.get(rid, [])]
            entry["publish_ids"] = ids
            entry["timelines"] = [await self.timeline(pid) for pid in ids]
            entry["posts"] = posts_by_rid.get(rid, [])
            planned = by_rid.get(rid)
            entry["platform"] = planned.platform if planned else ""
            outcome = self.outcomes.get(rid)
            entry["caller_was_told"] = (
                {k: v for k, v in outcome.__dict__.items() if k != "codes_seen"}
                | {"codes_seen": dict(outcome.codes_seen)} if outcome else None
            )

        lost_total = len(lost_no_record) + len(stuck)
        duplicates_total = len(duplicate_requests) + unattributed_dups
        mismatches = sorted(rid for rid, p in problems.items() if "mismatch" in p["kinds"])
        accounted = sum(final_state.values())
        codes_seen: collections.Counter[str] = collections.Counter()
        attempts = 0
        for outcome in self.outcomes.values():
            codes_seen.update(outcome.codes_seen)
            attempts += outcome.attempts
        log_errors = scan_log(self.workdir / "service.log")
        report = {
            "seed": args.seed,
            "settings": {
                "publishes": args.publishes, "concurrency": args.concurrency, "fault_rate": args.fault_rate,
                "stall_seconds": args.stall_seconds, "processing_delay": args.processing_delay,
                "kill_interval": [args.kill_min, args.kill_max], "max_kills": args.kills,
                "instagram_accounts": self.n_ig_accounts, "tiktok_accounts": self.n_tt_accounts,
            },
            "publishes_requested": len(self.requests),
            "by_platform": dict(collections.Counter(r.platform for r in self.requests)),
            "records_created": len(records),
            "posts": {
                "instagram": len(ig_posts),
                "tiktok": len(tt_posts),
                "tiktok_failed_on_platform": tt_stats.get("failed", 0),
                "not_from_a_soak_request": len(orphan_posts),
            },
            "published": final_state["PUBLISHED"],
            "delivered_to_inbox": final_state["DELIVERED_TO_INBOX"],
            "failed": {"count": final_state["FAILED"], "by_reason": dict(failed.most_common())},
            "unconfirmed": {
                "count": len(unconfirmed),
                "posted_on_platform": sum(1 for u in unconfirmed if u["posted"]),
                "records": unconfirmed,
            },
            "refused_before_record": {"count": final_state["REFUSED"], "by_reason": dict(refused)},
            "duplicates": {
                "total": duplicates_total,
                "emulator_duplicate_posts": emulator_dups,
                "records_sharing_a_post": dup_records_sharing,
                "requests_posted_more_than_once": posted_twice,
                "requests_with_several_records": several_records,
                "request_ids": duplicate_requests,
            },
            "lost": {
                "total": lost_total,
                "no_record": lost_no_record,
                "stuck_non_terminal": stuck,
            },
            "mismatches": {"total": len(mismatches), "request_ids": mismatches},
            "published_without_ig_media_id": published_without_id,
            "accounting": {
                "requests_by_final_state": dict(final_state),
                # Every request ends in exactly one class; every record belongs to one request.
                "adds_up": accounted == len(self.requests)
                and len(records) == len(self.requests) - final_state["REFUSED"] - final_state["LOST"]
                + several_extra + len(stray_records),
            },
            "kills": len(self.kills),
            "kill_times_s": self.kills,
            "unexpected_service_exits": self.unexpected_exits,
            "failed_restart_attempts": self.restarts_failed,
            "client": {"attempts": attempts, "retried_answers": dict(codes_seen.most_common())},
            "faults_injected": {
                name: {f"{i['endpoint']}:{i['kind']}": i["count"] for i in snapshot["injected"]}
                for name, snapshot in faults.items()
            },
            # Faults after which the post was live although the service saw an error or no answer:
            # the duplicate traps. Calls are numbered per endpoint on each emulator.
            "live_faults": {
                name: [
                    {k: e[k] for k in ("endpoint", "call", "kind", "after_serving", "status")}
                    for e in snapshot.get("events", [])
                    if e["endpoint"] in LIVE_ENDPOINTS and (e["after_serving"] or e["kind"] == "error_after_live")
                ]
                for name, snapshot in faults.items()
            },
            "service_log": log_errors,
            "problems": list(problems.values()),
            "workdir": str(self.workdir),
        }
        report["ok"] = duplicates_total == 0 and lost_total == 0 and not mismatches
        return report


def scan_log(path: Path) -> dict[str, Any]:
    """ERROR lines in the service's JSON log (the service logs a crashed workflow there)."""
    counts: collections.Counter[str] = collections.Counter()
    samples: list[str] = []
    if not path.exists():
        return {"errors": 0, "by_message": {}, "samples": []}
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line or line.startswith(("Error", "Exception")):
                counts["(non-JSON) " + line[:120]] += 1
            continue
        if isinstance(entry, dict) and str(entry.get("level", "")).upper() in ("ERROR", "CRITICAL"):
            counts[str(entry.get("message") or entry.get("msg"))[:160]] += 1
            if len(samples) < 5:
                samples.append(line[:2000])
    return {"errors": sum(counts.values()), "by_message": dict(counts.most_common(20)), "samples": samples}


# --- output -----------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    p = print
    p()
    p("=== soak report ===")
    p(f"seed {report['seed']}  elapsed {report['elapsed_seconds']}s (load {report['load_seconds']}s)  "
      f"kills {report['kills']}  unexpected exits {len(report['unexpected_service_exits'])}")
    p(f"publishes requested   {report['publishes_requested']}  {report['by_platform']}")
    p(f"records created       {report['records_created']}")
    posts = report["posts"]
    p(f"posts on emulators    instagram {posts['instagram']}, tiktok {posts['tiktok']} "
      f"(of which FAILED on TikTok {posts['tiktok_failed_on_platform']}); not from a request: "
      f"{posts['not_from_a_soak_request']}")
    p(f"published             {report['published']}")
    p(f"delivered to inbox    {report['delivered_to_inbox']}")
    p(f"failed                {report['failed']['count']}  {report['failed']['by_reason']}")
    u = report["unconfirmed"]
    p(f"unconfirmed           {u['count']} (posted on the platform: {u['posted_on_platform']})")
    for rec in u["records"]:
        p(f"    {rec['platform']:9} request {rec['request_id']} publish {rec['publish_id']} "
          f"posted={rec['posted']} {rec['posts']}: {rec['message']}")
    r = report["refused_before_record"]
    p(f"refused (no record)   {r['count']}  {r['by_reason']}")
    d = report["duplicates"]
    p(f"DUPLICATES            {d['total']}  (emulators {d['emulator_duplicate_posts']}, records sharing a post "
      f"{d['records_sharing_a_post']}, requests posted more than once {d['requests_posted_more_than_once']}, "
      f"request ids with several records {d['requests_with_several_records']})")
    lost = report["lost"]
    p(f"LOST                  {lost['total']}  (no record {len(lost['no_record'])}, "
      f"stuck {len(lost['stuck_non_terminal'])})")
    p(f"MISMATCHES            {report['mismatches']['total']}")
    if report["published_without_ig_media_id"]:
        p(f"note: {len(report['published_without_ig_media_id'])} Instagram records PUBLISHED without an "
          "ig_media_id (the container was PUBLISHED but the media id was not identified)")
    p(f"accounting            {report['accounting']['requests_by_final_state']} "
      f"adds up: {report['accounting']['adds_up']}")
    p(f"client                {report['client']['attempts']} attempts; retried/answered errors: "
      f"{report['client']['retried_answers']}")
    p(f"faults injected       {report['faults_injected']}")
    for name, events in report["live_faults"].items():
        kinds = collections.Counter(
            f"{e['endpoint']}:{e['kind']}{'(after serving)' if e['kind'] != 'error_after_live' else ''}" for e in events
        )
        p(f"  {name}: post went live, answer lost or an error: {dict(kinds)}")
    log = report["service_log"]
    p(f"service log errors    {log['errors']}  {log['by_message']}")
    for entry in report["problems"]:
        p()
        p(f"--- {'/'.join(entry['kinds']).upper()}: request {entry['request_id']} ({entry['platform']}) "
          f"publish {entry['publish_ids']}")
        for why in entry["why"]:
            p(f"    {why}")
        p(f"    caller was told: {entry['caller_was_told']}")
        for timeline in entry["timelines"]:
            rec = timeline["publish"]
            p(f"    record {rec.get('id')}: {rec.get('state')} container={rec.get('instagram_container_id', '')} "
              f"ig_media_id={rec.get('ig_media_id', '')} tiktok_publish_id={rec.get('tiktok_publish_id', '')} "
              f"error={rec.get('error', {}).get('reason', '')}")
            for e in timeline["events"]:
                p(f"      {e['seq']:>6} {e['time']} {e['type']:<28} {e['state']:<12} {e['message']}"
                  + (f" {json.dumps(e['details'])}" if e["details"] else ""))
        platform = entry["platform"]
        if platform in report["live_faults"]:
            calls = [f"{e['endpoint']}#{e['call']} {e['kind']}" for e in report["live_faults"][platform]]
            p(f"    {platform} faults that went live this run (endpoint#call): {calls}")
        for post in entry["posts"]:
            p(f"    post on {post['platform']}: " + json.dumps(
                {k: post.get(k) for k in ("id", "publish_id", "creation_id", "children", "status", "timestamp",
                                          "fail_reason") if post.get(k) is not None}))
    p()
    p(f"work dir (service.log, distribution.db): {report['workdir']}")
    p("RESULT: " + ("OK" if report["ok"] else "PROBLEMS FOUND"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishes", type=int, default=500, help="how many publishes (half each platform)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the plan, the faults and the kill schedule")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent callers")
    parser.add_argument("--fault-rate", type=float, default=0.15, help="share of each endpoint's calls faulted")
    parser.add_argument("--stall-seconds", type=float, default=1.0, help="how long a timeout fault stalls")
    parser.add_argument("--processing-delay", type=float, default=0.2, help="emulators' processing delay")
    parser.add_argument("--kills", type=int, default=None, help="at most this many SIGKILLs (default: no limit)")
    parser.add_argument("--kill-min", type=float, default=5.0, help="shortest time between kills (s)")
    parser.add_argument("--kill-max", type=float, default=15.0, help="longest time between kills (s)")
    parser.add_argument("--ig-per-account", type=int, default=10, help="Instagram publishes per account")
    parser.add_argument("--tiktok-per-account", type=int, default=3,
                        help="TikTok publishes per account (the service paces init to 6/min per token)")
    parser.add_argument("--media-pool", type=int, default=12, help="registered images to pick from")
    parser.add_argument("--call-timeout", type=float, default=30.0, help="deadline of one publish call (s)")
    parser.add_argument("--request-timeout", type=float, default=600.0,
                        help="a caller gives up on a request after this long without a definitive answer (s)")
    parser.add_argument("--settle-timeout", type=float, default=180.0,
                        help="how long the last service run gets to finish every record (s)")
    parser.add_argument("--workdir", help="where the database and service.log go (default: a new temp dir)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.publishes < 1 or args.concurrency < 1 or args.media_pool < 2:
        parser.error("--publishes and --concurrency must be at least 1, --media-pool at least 2")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be from 0 to 1")
    if args.kill_min <= 0 or args.kill_max < args.kill_min:
        parser.error("need 0 < --kill-min <= --kill-max")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = asyncio.run(Soak(args).run())
    print_report(report)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"report written to {path}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
