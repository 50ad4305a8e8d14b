"""Builds the running service: store, adapters, domain, gRPC server. Tests use `create_server`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

import aiohttp
import grpc
from distribution.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from server.api.auth import KeyConfigError, load_key_ring
from server.api import reflection
from server.api.interceptors import CallerLimits, RpcInterceptor
from server.api.servicers.accounts import AccountServicer
from server.api.servicers.media import MediaServicer
from server.api.servicers.publishing import PublishingServicer
from server.api.rendered import RenderedPublishes
from server.config import SANDBOX, ConfigError, Settings, check_secure
from server.metrics import Metrics
from server.domain.accounts import Accounts
from server.domain.history import PublishHistory
from server.domain.media import MediaLibrary
from server.domain.models import Platform
from server.domain.publishing import Publisher
from server.domain.quota import InstagramQuota
from server.domain.tokens import AccountTokens
from server.domain.workflow.instagram import InstagramCarouselWorkflow
from server.domain.workflow.log import PublishLog
from server.domain.workflow.reconciler import Reconciler
from server.domain.workflow.retry import Retrier
from server.domain.workflow.runner import PublishRunner
from server.domain.workflow.tiktok import TikTokCarouselWorkflow
from server.platforms.http import new_session
from server.platforms.instagram import InstagramClient
from server.platforms.tiktok import TikTokClient
from server.store.accounts import AccountRepository
from server.store.database import Database
from server.store.media import MediaRepository
from server.store.publishes import PublishRepository
from server.store.secrets import TokenCipher, load_keys

if TYPE_CHECKING:  # imported when a sandbox is started: a service on real APIs never loads aiohttp.web
    from server.sandbox.instagram import InstagramSandbox
    from server.sandbox.tiktok import TikTokSandbox

log = logging.getLogger("distribution")

SERVICE_NAMES = (
    account_service_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name,
    publishing_service_pb2.DESCRIPTOR.services_by_name["PublishingService"].full_name,
)

# Requests here are ids and short texts; nothing legitimate comes near this.
MAX_MESSAGE_BYTES = 1 * 1024 * 1024
MAX_PENDING_REQUESTS = 10_000


@dataclass
class Service:
    """A started service. `stop` shuts it down gracefully and releases everything it opened."""

    server: grpc.aio.Server
    port: int
    settings: Settings
    health: health.aio.HealthServicer
    runner: PublishRunner
    metrics: Metrics
    instagram_sandbox: InstagramSandbox | None = None
    tiktok_sandbox: TikTokSandbox | None = None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.settings.listen_host}:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        grace = self.settings.shutdown_grace if grace is None else grace
        # Probes see NOT_SERVING first, so load balancers drain before the port closes.
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.runner.stop(grace)
        for close in reversed(self._closers):
            await close()
        self._closers.clear()


async def create_server(settings: Settings) -> Service:
    """Starts the service. An API base of "sandbox" starts that platform's emulator in-process
    on a free loopback port (tests start their own and pass its URL instead, to script it)."""
    try:
        key_ring = load_key_ring(
            settings.api_keys, settings.api_keys_file, settings.tls_client_workspaces, bool(settings.tls_client_ca)
        )
    except KeyConfigError as err:
        raise ConfigError(str(err)) from None
    check_secure(settings, key_ring.enabled)
    if not key_ring.enabled:
        log.warning(
            "authentication is off: every caller shares the default workspace (loopback only; "
            "see README, Security)",
            extra={"listen": settings.listen},
        )
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        instagram_base, instagram_sandbox = await _instagram_base(settings, closers)
        tiktok_base, tiktok_sandbox = await _tiktok_base(settings, closers)

        cipher = TokenCipher(load_keys(settings.secret_keys, settings.secret_key_file))
        database = Database(settings.db_path)
        await database.open()
        closers.append(database.close)

        metrics = Metrics()
        if settings.metrics_listen != "off":
            closers.append(await metrics.serve(settings.metrics_listen))
        retrier = Retrier(
            settings.retry, lambda exc: metrics.retries.labels(exc.platform, exc.endpoint).inc()
        )

        sessions: list[aiohttp.ClientSession] = [new_session(), new_session()]
        for session in sessions:
            closers.append(session.close)
        instagram = InstagramClient(sessions[0], instagram_base, metrics.platform_call)
        tiktok = TikTokClient(
            sessions[1], tiktok_base, settings.tiktok_rate_limits, metrics.platform_call, metrics.rate_limit_wait
        )

        accounts = AccountRepository(database, cipher)
        media = MediaRepository(database)
        publish_log = PublishLog(PublishRepository(database), settings.late_facts)
        tokens = AccountTokens(accounts, instagram, tiktok, settings.tiktok_client_key, settings.tiktok_client_secret)
        runner = PublishRunner(
            {
                Platform.INSTAGRAM: InstagramCarouselWorkflow(instagram, publish_log, settings.instagram_poll, retrier),
                Platform.TIKTOK: TikTokCarouselWorkflow(tiktok, publish_log, settings.tiktok_poll, retrier),
            },
            publish_log,
            accounts,
            media,
            tokens,
            metrics,
        )

        server = grpc.aio.server(
            interceptors=[RpcInterceptor(key_ring, CallerLimits(settings.max_concurrent_per_caller), metrics)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                # grpc core cancels calls once more than 1,000 wait to be picked up; a burst of
                # publishes (bench case 2: 2,000 at once) must lose none.
                ("grpc.server.max_pending_requests", MAX_PENDING_REQUESTS),
                ("grpc.server.max_pending_requests_hard_limit", 2 * MAX_PENDING_REQUESTS),
                ("grpc.max_send_message_length", 16 * MAX_MESSAGE_BYTES),
            ],
        )
        account_service_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(Accounts(accounts)), server)
        media_service_pb2_grpc.add_MediaServiceServicer_to_server(MediaServicer(MediaLibrary(media)), server)
        publishing_service_pb2_grpc.add_PublishingServiceServicer_to_server(
            PublishingServicer(
                Publisher(
                    accounts, media, publish_log, runner, tiktok, tokens, InstagramQuota(instagram, retrier), retrier
                ),
                PublishHistory(publish_log, runner.is_running),
                RenderedPublishes(settings.list_cache_entries),
            ),
            server,
        )
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable((*SERVICE_NAMES, health.SERVICE_NAME), server)
        port = _add_port(server, settings)
        if port == 0:
            raise OSError(f"cannot listen on {settings.listen}")
        await server.start()
        for name in ("", *SERVICE_NAMES):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        service = Service(
            server=server,
            port=port,
            settings=settings,
            health=health_servicer,
            runner=runner,
            metrics=metrics,
            instagram_sandbox=instagram_sandbox,
            tiktok_sandbox=tiktok_sandbox,
            _closers=closers,
        )
        reconciler = Reconciler(publish_log, accounts, tokens, instagram, tiktok, settings.late_facts)
        reconciler.start()
        closers.append(reconciler.stop)  # closers run last-first: it stops before what it uses
        resumed = await runner.resume_unfinished()
        if resumed:
            log.info("resumed unfinished publishes", extra={"count": resumed})
        return service
    except BaseException:
        for close in reversed(closers):
            await close()
        raise


def _add_port(server: grpc.aio.Server, settings: Settings) -> int:
    if not settings.tls_cert:
        return server.add_insecure_port(settings.listen)
    with open(settings.tls_key, "rb") as key, open(settings.tls_cert, "rb") as cert:
        pair = (key.read(), cert.read())
    client_ca = None
    if settings.tls_client_ca:
        with open(settings.tls_client_ca, "rb") as ca:
            client_ca = ca.read()
    credentials = grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
    return server.add_secure_port(settings.listen, credentials)


async def _instagram_base(
    settings: Settings, closers: list[Callable[[], Awaitable[None]]]
) -> tuple[str, InstagramSandbox | None]:
    if settings.instagram_api_base != SANDBOX:
        return settings.instagram_api_base, None
    from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig  # noqa: PLC0415

    sandbox = InstagramSandbox(InstagramSandboxConfig(processing_delay=settings.sandbox_processing_delay))
    base = await sandbox.start()
    closers.append(sandbox.stop)
    return base, sandbox


async def _tiktok_base(
    settings: Settings, closers: list[Callable[[], Awaitable[None]]]
) -> tuple[str, TikTokSandbox | None]:
    if settings.tiktok_api_base != SANDBOX:
        return settings.tiktok_api_base, None
    from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig  # noqa: PLC0415

    sandbox = TikTokSandbox(TikTokSandboxConfig(processing_delay=settings.sandbox_processing_delay))
    base = await sandbox.start()
    closers.append(sandbox.stop)
    return base, sandbox
