"""The run: the emulators and the service in their own processes, the callers retrying each
request until a definitive answer, the SIGKILLs, then the read-back the analysis needs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from cryptography.fernet import Fernet
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)
from google.protobuf import json_format

from scripts.soak.analyse import STATE_NAMES, TERMINAL, Evidence, analyse
from scripts.soak.plan import INSTAGRAM_ENDPOINTS, TIKTOK_ENDPOINTS, Outcome, Planned, fault_rules, plan
from tests.support.errors import read_status
from tests.support.postgres import fresh_database
from tests.support.processes import EmulatorProcess, ServiceProcess, service_env

CHANNEL_OPTIONS = [
    # Reconnect quickly after a kill instead of backing off for up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


async def with_retries(call: Callable[[], Awaitable[Any]], what: str, attempts: int = 30) -> Any:
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



class Replicas:
    """The service's replicas and one channel to each. Calls go round-robin: a caller whose
    replica is gone retries on the next one, as behind a load balancer."""

    def __init__(self, services: list[ServiceProcess]) -> None:
        self.services = services
        self.channels: list[grpc.aio.Channel] = []
        self._turn = 0

    def open(self) -> None:
        self.channels = [grpc.aio.insecure_channel(s.address, options=CHANNEL_OPTIONS) for s in self.services]

    def _next(self) -> grpc.aio.Channel:
        self._turn = (self._turn + 1) % len(self.channels)
        return self.channels[self._turn]

    def accounts(self) -> Any:
        return account_service_pb2_grpc.AccountServiceStub(self._next())

    def media(self) -> Any:
        return media_service_pb2_grpc.MediaServiceStub(self._next())

    def publishing(self) -> Any:
        return publishing_service_pb2_grpc.PublishingServiceStub(self._next())

    def call(self, service: str, method: str, request: Any, timeout: float = 10) -> Awaitable[Any]:
        """`service.method(request)` on the next replica."""
        stub = {"accounts": self.accounts, "media": self.media, "publishing": self.publishing}[service]()
        return getattr(stub, method)(request, timeout=timeout)

    async def close(self) -> None:
        for channel in self.channels:
            with contextlib.suppress(Exception):  # a channel that will not close must not hide the report
                await channel.close()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.kill_rng = random.Random(f"{args.seed}:kills")
        self.client_rng = random.Random(f"{args.seed}:clients")
        self.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="distribution-soak-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.plan = plan(args, self.rng)
        self.requests = self.plan.requests
        self.outcomes: dict[str, Outcome] = {}
        self.kills: list[float] = []
        self.unexpected_exits: list[dict[str, Any]] = []
        self.restarts_failed = 0
        self.done = asyncio.Event()
        self.stack = contextlib.AsyncExitStack()  # what outlives one step: the PostgreSQL database
        self.answered = 0
        self.started = 0.0

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
        extra = {"DISTRIBUTION_LOG_LEVEL": "WARNING"}
        if self.args.store == "postgres":
            self.database = await self.stack.enter_async_context(fresh_database())
            extra.update(
                DISTRIBUTION_DB=self.database,
                DISTRIBUTION_SECRET_KEYS=Fernet.generate_key().decode(),
                DISTRIBUTION_LEASE_SECONDS=str(self.args.lease_seconds),
            )
        services = []
        for i in range(self.args.replicas):
            settings = service_env(self.workdir, self.instagram.base_url, self.tiktok.base_url, **extra)
            log = self.workdir / ("service.log" if self.args.replicas == 1 else f"service-{i}.log")
            services.append(ServiceProcess(settings, log))
        await asyncio.gather(*(s.astart() for s in services))
        self.replicas = Replicas(services)
        self.replicas.open()

    async def stop(self) -> None:
        await self.replicas.close()
        for service in self.replicas.services:
            service.stop()
        self.instagram.stop()
        self.tiktok.stop()

    async def restart(self, service: ServiceProcess) -> None:
        for attempt in range(5):
            try:
                await service.astart()
                return
            except (RuntimeError, TimeoutError) as exc:
                self.restarts_failed += 1
                self.say(f"  restart attempt {attempt + 1} failed: {exc}")
                service.kill()
                await asyncio.sleep(1)
        raise RuntimeError(f"the service would not restart; see its log in {self.workdir}")

    # --- set-up -------------------------------------------------------------------------

    async def prepare(self) -> None:
        seed = self.args.seed
        self.ig_account_ids = []
        for k in range(self.plan.instagram_accounts):
            request = account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM,
                external_account_id=str(17841400000000000 + k),
                username=f"soak_ig_{k}", access_token=f"soak-ig-token-{seed}-{k}",
            )
            connect = partial(self.replicas.call, "accounts", "ConnectAccount", request)
            reply = await with_retries(connect, "ConnectAccount")
            self.ig_account_ids.append(reply.account.id)
        self.tt_account_ids = []
        for k in range(self.plan.tiktok_accounts):
            request = account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_TIKTOK,
                external_account_id=f"soak-open-id-{k}",
                username=f"soak_tt_{k}", access_token=f"soak-tiktok-token-{seed}-{k}",
            )
            connect = partial(self.replicas.call, "accounts", "ConnectAccount", request)
            reply = await with_retries(connect, "ConnectAccount")
            self.tt_account_ids.append(reply.account.id)
        self.media_ids = []
        for k in range(self.args.media_pool):
            request = media_service_pb2.RegisterMediaRequest(url=f"gs://soak-bucket/photo-{k}.jpg")
            reply = await with_retries(partial(self.replicas.call, "media", "RegisterMedia", request), "RegisterMedia")
            self.media_ids.append(reply.media.id)

    def message(self, item: Planned) -> Any:
        media_ids = [self.media_ids[m] for m in item.media]
        if item.platform == "instagram":
            return publishing_service_pb2.PublishInstagramCarouselRequest(
                media_ids=media_ids, instagram_account_id=self.ig_account_ids[item.account],
                caption=item.caption, request_id=item.request_id,
            )
        request = publishing_service_pb2.PublishTikTokCarouselRequest(
            media_ids=media_ids, creator_consent_obtained=True, tiktok_account_id=self.tt_account_ids[item.account],
            caption=item.caption, request_id=item.request_id, cover_index=item.cover_index,
            post_mode=publish_pb2.PostMode.Value(f"POST_MODE_{item.post_mode}"),
        )
        if item.privacy_level:
            request.privacy_level = publish_pb2.PrivacyLevel.Value(f"PRIVACY_LEVEL_{item.privacy_level}")
        return request

    async def set_faults(self) -> None:
        rate, stall = self.args.fault_rate, self.args.stall_seconds
        for emulator, endpoints in ((self.instagram, INSTAGRAM_ENDPOINTS), (self.tiktok, TIKTOK_ENDPOINTS)):
            rules = fault_rules(endpoints, rate, stall)
            await emulator.acontrol("POST", "faults", {"seed": f"{self.args.seed}:{emulator.platform}", "rules": rules})

    # --- callers ------------------------------------------------------------------------

    async def publish_once(self, item: Planned) -> Outcome:
        """One logical publish: the same request until a definitive answer."""
        request = self.message(item)
        outcome = Outcome()
        started = time.monotonic()
        backoff = 0.2
        while True:
            outcome.attempts += 1
            publishing = self.replicas.publishing()  # each attempt to the next replica
            call = publishing.PublishInstagramCarousel if item.platform == "instagram" else (
                publishing.PublishTikTokCarousel
            )
            try:
                reply = await call(request, timeout=self.args.call_timeout)
            except grpc.aio.AioRpcError as err:
                code = err.code()
                status = read_status(err)
                reason, metadata, delay = status.reason, status.metadata, status.retry_delay_seconds
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
                for service in self.replicas.services:
                    if service.popen is not None and not service.alive():
                        # Not ours: a replica died on its own. Note it and bring it back.
                        code = service.returncode
                        at = round(time.monotonic() - self.started, 1)
                        self.unexpected_exits.append({"at_s": at, "returncode": code})
                        self.say(f"  !! a service exited on its own (code {code}); restarting")
                        await self.restart(service)
                await asyncio.sleep(0.05)
            if self.done.is_set():
                return
            victim = self.kill_rng.choice(self.replicas.services)
            victim.kill()
            self.kills.append(round(time.monotonic() - self.started, 2))
            await self.restart(victim)

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
            page = await with_retries(
                partial(self.replicas.call, "publishing", "ListPublishes", request, 30), "ListPublishes"
            )
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
        reply = await with_retries(partial(self.replicas.call, "publishing", "GetPublish", request), "GetPublish")
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
        try:
            await self.start()
            await self.prepare()
            self.say(
                f"  {self.plan.instagram_accounts} Instagram and {self.plan.tiktok_accounts} TikTok accounts, "
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
            report = analyse(await self.evidence(records, faults))
            for entry in report["problems"]:
                entry["timelines"] = [await self.timeline(pid) for pid in entry["publish_ids"]]
            report["load_seconds"] = round(load_seconds, 1)
            report["elapsed_seconds"] = round(time.monotonic() - t0, 1)
            return report
        finally:
            await self.stop()
            await self.stack.aclose()

    async def evidence(self, records: list[Any], faults: dict[str, Any]) -> Evidence:
        return Evidence(
            args=self.args,
            plan=self.plan,
            outcomes=self.outcomes,
            records=records,
            posts={"instagram": await self.instagram.aposts(), "tiktok": await self.tiktok.aposts()},
            stats={
                "instagram": await self.instagram.acontrol("GET", "stats"),
                "tiktok": await self.tiktok.acontrol("GET", "stats"),
            },
            faults=faults,
            kills=self.kills,
            unexpected_exits=self.unexpected_exits,
            restarts_failed=self.restarts_failed,
            service_log=self.replicas.services[0].log_path,
            workdir=self.workdir,
        )
