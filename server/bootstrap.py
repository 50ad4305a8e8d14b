"""Wiring: the adapters from settings, and the use cases from the adapters.

In the manner of cosmic python's bootstrap, every adapter can be handed in instead of
built (`open_adapters(..., store=..., instagram=...)`), and `build_services` is plain
wiring with no I/O, so unit tests build the very same use cases on in-memory fakes.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from server.adapters.clock import SystemClock
from server.adapters.crypto import SecretKeyError, TokenCipher, load_keys
from server.adapters.egress import EgressPolicy
from server.adapters.http import new_session
from server.adapters.instagram import InstagramClient
from server.adapters.instagram.oauth import AUTH_BASE as INSTAGRAM_AUTH_BASE
from server.adapters.instagram.oauth import OAUTH_BASE as INSTAGRAM_OAUTH_BASE
from server.adapters.instagram.oauth import InstagramConnector
from server.adapters.media_fetch import DirectFetcher, FetchLimits, HttpMediaInspector, SandboxFetcher
from server.adapters.media_fetch.ranges import GuardedMediaBytes, SandboxMediaBytes
from server.adapters.postgres import PostgresStore
from server.adapters.prometheus import PrometheusMetrics
from server.adapters.sqlite import SqliteStore, StoreOpenError
from server.adapters.sqlite.store import DatabaseInUse
from server.adapters.text import GraphemeSegmenter
from server.adapters.tiktok import TikTokClient
from server.adapters.tiktok.client import AppCredentials
from server.adapters.tiktok.oauth import AUTH_BASE as TIKTOK_AUTH_BASE
from server.adapters.tiktok.oauth import TikTokConnector
from server.adapters.tracing_env import otlp_protocol, tracing_wanted
from server.adapters.webhook_sender import HttpWebhookSender
from server.config import (
    NOT_SHOWN,
    OFF,
    SANDBOX,
    ConfigError,
    Settings,
    StartError,
    address_error,
    path_error,
    shown_url,
)
from server.domain.commands import InstagramCarousel, InstagramMedia, TikTokCarousel, TikTokVideo
from server.domain.connections import PkceMethod
from server.domain.models import Platform, PublishKind
from server.domain.ports import (
    NO_TRACER,
    AccountConnector,
    Clock,
    InstagramApi,
    MediaBytes,
    MediaInspector,
    Metrics,
    Store,
    TextSegmenter,
    TikTokApi,
    Tracer,
    WebhookSender,
)
from server.logs import trace_ids_from
from server.services.account_health import AccountHealthCheck, AccountHealthReader
from server.services.accounts import Accounts
from server.services.connections import ConnectionPolicy, Connections
from server.services.event_subjects import EventSubjects
from server.services.events import WorkspaceEvents
from server.services.history import PublishHistory
from server.services.media import MediaLibrary
from server.services.publishing import (
    InstagramMediaPolicy,
    InstagramPolicy,
    PlatformPolicy,
    Publisher,
    ScheduledRecheck,
    TikTokPolicy,
)
from server.services.quota import InstagramQuota
from server.services.tiktok_video import TikTokVideoPolicy
from server.services.tokens import AccountTokens
from server.services.webhooks import WebhookDispatcher, Webhooks
from server.services.workflow.alarm import Alarms
from server.services.workflow.by_kind import WorkflowsByKind
from server.services.workflow.instagram import InstagramCarouselWorkflow
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.reconciler import Reconciler
from server.services.workflow.retry import Retrier
from server.services.workflow.runner import PublishRunner
from server.services.workflow.scheduler import Scheduler
from server.services.workflow.tiktok import TikTokCarouselWorkflow
from server.services.workflow.tiktok_video import TikTokVideoWorkflow

if TYPE_CHECKING:  # imported when a sandbox is started: a service on real APIs never loads them
    import aiohttp

    from server.adapters.tracing import Tracing  # imported only when tracing is on
    from server.sandbox.instagram import InstagramSandbox
    from server.sandbox.media import MediaHost
    from server.sandbox.tiktok import TikTokSandbox

log = logging.getLogger("distribution")


@dataclass
class Adapters:
    """Every outside thing the use cases use."""

    store: Store
    instagram: InstagramApi
    tiktok: TikTokApi
    clock: Clock
    # Where a text may be cut (grapheme clusters): a caption too long for TikTok's title.
    segmenter: TextSegmenter
    metrics: Metrics | None = None
    # None: media fetch is off (nothing is inspected).
    media_inspector: MediaInspector | None = None
    # None: webhooks cannot be registered or sent (unit tests that do not need them).
    webhook_sender: WebhookSender | None = None
    # Each platform's consent screen and code exchange; a platform missing cannot be connected
    # through StartAccountConnection (ConnectAccount still can).
    connectors: dict[Platform, AccountConnector] = field(default_factory=dict)
    # Spans around the use cases' work; NO_TRACER while tracing is off.
    tracer: Tracer = NO_TRACER
    # Tracing's parts for the transports (server spans), when it is on.
    tracing: Tracing | None = None
    # Reads a video's bytes a range at a time for a TikTok FILE_UPLOAD (None: no uploads).
    media_bytes: MediaBytes | None = None


@dataclass
class Sandboxes:
    """The platform emulators started in-process for an API base of "sandbox", and the media
    host for DISTRIBUTION_MEDIA_FETCH=sandbox."""

    instagram: InstagramSandbox | None = None
    tiktok: TikTokSandbox | None = None
    media: MediaHost | None = None


@dataclass
class Services:
    """The use cases, wired."""

    publish_log: PublishLog
    tokens: AccountTokens
    runner: PublishRunner
    reconciler: Reconciler
    scheduler: Scheduler
    accounts: Accounts
    media: MediaLibrary
    publisher: Publisher
    history: PublishHistory
    subjects: EventSubjects
    events: WorkspaceEvents
    connections: Connections
    account_health: AccountHealthCheck
    webhooks: Webhooks | None = None
    dispatcher: WebhookDispatcher | None = None


def build_services(settings: Settings, adapters: Adapters, replica: str | None = None) -> Services:
    """The use cases over the given adapters (no I/O: nothing starts here). `replica` names
    this process in leases (a new random name by default: a restarted replica is a new one)."""
    store, clock, metrics = adapters.store, adapters.clock, adapters.metrics
    retrier = Retrier(
        settings.retry, clock, (lambda f: metrics.platform_retry(f.platform, f.endpoint)) if metrics else None
    )
    # The publish log is the only writer of publishes; every other use case reads them
    # through the roles it needs. The loops it makes work for (the scheduler, the
    # reconciler) are woken through the alarms both sides are given.
    publishes = store.publishes
    publish_log = PublishLog(
        publishes, clock, settings.late_facts, owner=replica or new_replica_name(), alarms=Alarms(),
        tracer=adapters.tracer,
    )
    store.changes.subscribe(publish_log.changed_elsewhere)
    tokens = AccountTokens(store.accounts, adapters.instagram, adapters.tiktok, store.locks, clock)
    quota = InstagramQuota(adapters.instagram, store.quotas, retrier, clock)
    library = MediaLibrary(
        store.media, clock, adapters.media_inspector, timedelta(seconds=settings.media_inspection_max_age),
        tracer=adapters.tracer,
    )
    policies: dict[type, PlatformPolicy] = {
        InstagramCarousel: InstagramPolicy(quota),
        # One image or one Reel: the same quota (a Reel is a post of the 24-hour limit).
        InstagramMedia: InstagramMediaPolicy(quota, library),
        TikTokCarousel: TikTokPolicy(
            adapters.tiktok, store.accounts, tokens, retrier, adapters.segmenter,
            require_creator_consent=settings.tiktok_require_creator_consent,
            require_caption_fits_title=settings.tiktok_require_caption_fits_title,
            require_disable_comment=settings.tiktok_require_disable_comment,
        ),
        TikTokVideo: TikTokVideoPolicy(
            adapters.tiktok, store.accounts, tokens, retrier, adapters.segmenter,
            require_creator_consent=settings.tiktok_require_creator_consent,
            require_disable_comment=settings.tiktok_require_disable_comment,
        ),
    }
    runner = PublishRunner(
        {
            Platform.INSTAGRAM: InstagramCarouselWorkflow(
                adapters.instagram, publish_log, publishes, settings.instagram_poll, retrier, clock,
                reel_poll=settings.instagram_reel_poll,
            ),
            Platform.TIKTOK: WorkflowsByKind({
                PublishKind.CAROUSEL: TikTokCarouselWorkflow(
                    adapters.tiktok, publish_log, settings.tiktok_poll, retrier, clock
                ),
                PublishKind.VIDEO: TikTokVideoWorkflow(
                    adapters.tiktok, adapters.media_bytes, publish_log, settings.tiktok_poll, retrier, clock,
                    chunk_bytes=settings.tiktok_upload_chunk_bytes,
                ),
            }),
        },
        publish_log,
        store.accounts,
        store.media,
        tokens,
        clock,
        settings.leases,
        metrics,
        recheck=ScheduledRecheck(policies, publish_log),
        health=store.account_health,
    )
    publisher = Publisher(
        store.accounts, store.media, publishes, publish_log, runner, tokens, policies, clock, library=library,
        schedule=settings.schedule,
    )
    scheduler = Scheduler(runner, clock, settings.schedule, sweep_every=settings.schedule_sweep_every, metrics=metrics)
    # Every account a call returns carries its health as of the call.
    health_reader = AccountHealthReader(store.account_health, store.quotas, clock, settings.account_health)
    # What the stream's and the webhooks' events are about, read as they are sent.
    subjects = EventSubjects(publishes, store.accounts, health_reader)
    return Services(
        publish_log=publish_log,
        tokens=tokens,
        runner=runner,
        scheduler=scheduler,
        reconciler=Reconciler(
            publish_log, store.accounts, tokens, adapters.instagram, adapters.tiktok, settings.late_facts, clock
        ),
        accounts=Accounts(store.accounts, health_reader),
        connections=Connections(
            store.connections, store.accounts, adapters.connectors, clock,
            ConnectionPolicy(
                state_ttl=timedelta(seconds=settings.connect_state_ttl),
                allowed_redirect_prefixes=tuple(
                    p.strip() for p in settings.connect_redirect_uris.split(",") if p.strip()
                ),
            ),
            health=health_reader,
        ),
        media=library,
        publisher=publisher,
        history=PublishHistory(publishes, publishes, publish_log),
        subjects=subjects,
        events=WorkspaceEvents(publishes, subjects, publish_log, store.event_ids, clock, settings.stream),
        account_health=AccountHealthCheck(
            store.accounts, store.account_health, tokens, quota, adapters.tiktok, retrier, clock,
            settings.account_health, health_reader,
        ),
        webhooks=(
            Webhooks(
                store.webhooks, publishes, subjects, adapters.webhook_sender, store.event_ids, clock, settings.webhooks
            )
            if adapters.webhook_sender is not None else None
        ),
        dispatcher=(
            WebhookDispatcher(
                store.webhooks, publishes, subjects, publish_log, adapters.webhook_sender, store.event_ids, clock,
                settings.webhooks,
            )
            if adapters.webhook_sender is not None else None
        ),
    )


def new_replica_name() -> str:
    """A name for this process in leases: host and process id (for people reading the
    database) and a random part (a restarted process is a new replica)."""
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"


_DB_FIX = "give DISTRIBUTION_DB a file path in a directory this user can write"


async def open_store(settings: Settings) -> Store:
    """The store DISTRIBUTION_DB names: SQLite for a file path, PostgreSQL for a URL. What
    cannot be opened raises StartError naming DISTRIBUTION_DB (or the sealing keys)."""
    if settings.uses_postgres:
        cipher = _token_cipher(settings)
        try:
            return await PostgresStore.open(settings.database_url, cipher, settings.db_pool_size)
        except Exception as err:  # whatever the driver raises: the start cannot go on
            raise StartError(
                "DISTRIBUTION_DB", shown_url(settings.database_url), f"cannot be used ({err or type(err).__name__})",
                "check that the server is up and reachable and the URL's user, password and database",
            ) from None
    # The database's directory first: the default key file lives there too.
    try:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise path_error("DISTRIBUTION_DB", settings.db_path, err, _DB_FIX) from None
    cipher = _token_cipher(settings)
    try:
        return await SqliteStore.open(settings.db_path, cipher)
    except DatabaseInUse:
        raise StartError(
            "DISTRIBUTION_DB", str(settings.db_path), "is in use by another Distribution process",
            "stop that process, or give this one a DISTRIBUTION_DB of its own",
        ) from None
    except StoreOpenError as err:
        raise path_error("DISTRIBUTION_DB", settings.db_path, err.reason, _DB_FIX) from None


def _token_cipher(settings: Settings) -> TokenCipher:
    """The sealing keys: DISTRIBUTION_SECRET_KEYS (never shown), else the key file."""
    from_env = bool(settings.secret_keys.strip())
    key_file = settings.key_file
    try:
        return TokenCipher(load_keys(settings.secret_keys, key_file))
    except SecretKeyError as err:
        if from_env:
            raise ConfigError("DISTRIBUTION_SECRET_KEYS", NOT_SHOWN, err.problem, err.fix) from None
        raise StartError("DISTRIBUTION_SECRET_KEY_FILE", str(key_file), err.problem, err.fix) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err if isinstance(err, OSError) else "not UTF-8 text"
        raise path_error(
            "DISTRIBUTION_SECRET_KEY_FILE", key_file, reason,
            "give a readable key file, or a path in a writable directory to create one in, "
            "or set DISTRIBUTION_SECRET_KEYS",
        ) from None


async def open_adapters(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    store: Store | None = None,
    instagram: InstagramApi | None = None,
    tiktok: TikTokApi | None = None,
    clock: Clock | None = None,
    segmenter: TextSegmenter | None = None,
    metrics: PrometheusMetrics | None = None,
    media_inspector: MediaInspector | None = None,
    webhook_sender: WebhookSender | None = None,
    connectors: dict[Platform, AccountConnector] | None = None,
    tracing: Tracing | None = None,
) -> tuple[Adapters, PrometheusMetrics, Sandboxes]:
    """Opens what is not handed in: the store, the media inspector (starting the sandbox
    media host for DISTRIBUTION_MEDIA_FETCH=sandbox), the platform clients (starting an
    emulator for an API base of "sandbox", given the media host when there is one), the
    metrics endpoint. Everything opened is closed by `stack`, last opened first. What cannot
    be opened raises StartError naming its setting. Tracing is handed in, or made from the
    standard OTEL_* variables when they name an endpoint (docs/tracing.md)."""
    tracing = tracing or _open_tracing(stack)
    if tracing is not None:
        _log_trace_ids(stack)
    if store is None:
        opened = await open_store(settings)
        stack.push_async_callback(opened.close)
        store = opened
    metrics = metrics or PrometheusMetrics()
    if settings.metrics_listen != OFF:
        try:
            stop_metrics = await metrics.serve(settings.metrics_listen)
        except OSError as err:
            raise address_error("DISTRIBUTION_METRICS_LISTEN", settings.metrics_listen, err, can_be_off=True) from None
        stack.push_async_callback(stop_metrics)
    sandboxes = Sandboxes()
    if media_inspector is None and settings.media_fetch_mode != "off":
        media_inspector = await _open_media_inspector(settings, stack, sandboxes)
    media_host = sandboxes.media.base_url if sandboxes.media is not None else ""
    built_connectors: dict[Platform, AccountConnector] = {}
    media_bytes = _open_media_bytes(settings, stack, media_host)
    if instagram is None:
        base = settings.instagram_api_base
        if base == SANDBOX:
            sandboxes.instagram = await _start_instagram_sandbox(settings, stack, media_host)
            base = sandboxes.instagram.base_url
        session = new_session()
        stack.push_async_callback(session.close)
        instagram = InstagramClient(session, base, metrics.platform_call)
        built_connectors[Platform.INSTAGRAM] = _instagram_connector(settings, session, base, sandboxes, metrics)
    if tiktok is None:
        base = settings.tiktok_api_base
        if base == SANDBOX:
            sandboxes.tiktok = await _start_tiktok_sandbox(settings, stack, media_host)
            base = sandboxes.tiktok.base_url
        session = new_session()
        stack.push_async_callback(session.close)
        credentials = _tiktok_app(settings, sandboxes)
        tiktok = TikTokClient(
            session, base, store.rate_windows, settings.tiktok_rate_limits, credentials,
            metrics.platform_call, metrics.rate_limit_wait, metrics.rate_limit_answer,
        )
        built_connectors[Platform.TIKTOK] = TikTokConnector(
            session, api_base=base,
            auth_base=settings.tiktok_auth_base or (sandboxes.tiktok.origin if sandboxes.tiktok else TIKTOK_AUTH_BASE),
            client_key=credentials.client_key, client_secret=credentials.client_secret,
            pkce=PkceMethod(settings.tiktok_pkce), observe=metrics.platform_call,
        )
    if webhook_sender is None:
        sender = HttpWebhookSender(
            EgressPolicy.parse(settings.webhook_allow), time_limit=settings.webhook_timeout,
            allow_http=settings.webhook_allow_http, concurrency=settings.webhooks.concurrency,
        )
        stack.push_async_callback(sender.close)
        webhook_sender = sender
    adapters = Adapters(
        store=store, instagram=instagram, tiktok=tiktok, clock=clock or SystemClock(),
        segmenter=segmenter or GraphemeSegmenter(), metrics=metrics, media_inspector=media_inspector,
        webhook_sender=webhook_sender, media_bytes=media_bytes,
        connectors=connectors if connectors is not None else built_connectors,
        tracer=tracing.tracer if tracing else NO_TRACER, tracing=tracing,
    )
    return adapters, metrics, sandboxes


# The app the built-in emulators stand for, when no real app is configured: they accept any
# credentials, and `make run` then connects accounts with no set-up.
SANDBOX_APP_ID = "sandbox-app"
SANDBOX_APP_SECRET = "sandbox-app-secret"


def _tiktok_app(settings: Settings, sandboxes: Sandboxes) -> AppCredentials:
    if sandboxes.tiktok is not None and not settings.tiktok_client_key:
        return AppCredentials(SANDBOX_APP_ID, settings.tiktok_client_secret or SANDBOX_APP_SECRET)
    return AppCredentials(settings.tiktok_client_key, settings.tiktok_client_secret)


def _instagram_connector(
    settings: Settings, session: aiohttp.ClientSession, base: str, sandboxes: Sandboxes, metrics: PrometheusMetrics
) -> InstagramConnector:
    """Business Login for Instagram, on the emulator's host while the API base is `sandbox`."""
    sandbox = sandboxes.instagram
    app_id, app_secret = settings.instagram_app_id, settings.instagram_app_secret
    if sandbox is not None and not app_id:
        app_id, app_secret = SANDBOX_APP_ID, app_secret or SANDBOX_APP_SECRET
    return InstagramConnector(
        session, graph_base=base,
        auth_base=settings.instagram_auth_base or (sandbox.origin if sandbox else INSTAGRAM_AUTH_BASE),
        oauth_base=settings.instagram_oauth_base or (sandbox.origin if sandbox else INSTAGRAM_OAUTH_BASE),
        app_id=app_id, app_secret=app_secret, observe=metrics.platform_call,
    )


def _open_tracing(stack: AsyncExitStack) -> Tracing | None:
    """The OpenTelemetry SDK as the OTEL_* variables configure it, when they name an endpoint;
    else None, and the SDK is not even imported."""
    if not tracing_wanted(os.environ):
        return None
    from server.adapters import tracing  # noqa: PLC0415

    try:
        opened = tracing.from_environment(os.environ)
    except tracing.ProtocolError as err:
        raise ConfigError(
            otlp_protocol(os.environ)[1], str(err), "is not an OTLP protocol this service exports with",
            "use http/protobuf or grpc",
        ) from None
    stack.push_async_callback(opened.shutdown)
    log.info("tracing on", extra={"protocol": otlp_protocol(os.environ)[0]})
    return opened


def _log_trace_ids(stack: AsyncExitStack) -> None:
    """Log lines written inside a span carry its trace and span ids while the service runs."""
    from server.adapters.tracing import current_ids  # noqa: PLC0415

    trace_ids_from(current_ids)
    stack.callback(trace_ids_from, None)
def _open_media_bytes(settings: Settings, stack: AsyncExitStack, media_host: str) -> MediaBytes:
    """What reads a video's bytes for a TikTok upload: the sandbox media host when media are
    read there, else their own hosts through the egress guard."""
    policy = EgressPolicy.parse(settings.media_fetch_allow)
    reader: SandboxMediaBytes | GuardedMediaBytes = (
        SandboxMediaBytes(media_host, policy) if media_host else GuardedMediaBytes(policy)
    )
    stack.push_async_callback(reader.close)
    return reader


async def _open_media_inspector(settings: Settings, stack: AsyncExitStack, sandboxes: Sandboxes) -> MediaInspector:
    """The inspector DISTRIBUTION_MEDIA_FETCH names: direct (through the egress guard) or
    sandbox (the URL-level checks, then the sandbox media host, started here)."""
    policy = EgressPolicy.parse(settings.media_fetch_allow)
    limits = FetchLimits(
        time_limit=settings.media_fetch_timeout,
        max_bytes=settings.media_fetch_max_bytes,
        concurrency=settings.media_fetch_concurrency,
    )
    if settings.media_fetch_mode == "sandbox":
        sandboxes.media = await _start_media_host(stack)
        inspector = HttpMediaInspector(SandboxFetcher(sandboxes.media.base_url, policy), limits)
    else:
        inspector = HttpMediaInspector(DirectFetcher(policy, limit=limits.concurrency), limits)
    stack.push_async_callback(inspector.close)
    return inspector


async def _start_media_host(stack: AsyncExitStack) -> MediaHost:
    from server.sandbox.media import MediaHost  # noqa: PLC0415

    host = MediaHost()
    await host.start()
    stack.push_async_callback(host.stop)
    return host


# How many times an image container's processing a Reel's takes in the built-in sandbox.
REEL_PROCESSING_FACTOR = 5.0


async def _start_instagram_sandbox(settings: Settings, stack: AsyncExitStack, media_host: str) -> InstagramSandbox:
    from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig  # noqa: PLC0415

    sandbox = InstagramSandbox(
        # A Reel's video processes for longer than an image, as on Instagram.
        InstagramSandboxConfig(
            processing_delay=settings.sandbox_processing_delay,
            reel_processing_delay=REEL_PROCESSING_FACTOR * settings.sandbox_processing_delay,
        ),
        state_file=settings.sandbox_state_file("instagram"),
        media_host=media_host,
    )
    await _start_sandbox(sandbox, "Instagram", settings)
    stack.push_async_callback(sandbox.stop)
    return sandbox


async def _start_tiktok_sandbox(settings: Settings, stack: AsyncExitStack, media_host: str) -> TikTokSandbox:
    from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig  # noqa: PLC0415

    sandbox = TikTokSandbox(
        TikTokSandboxConfig(processing_delay=settings.sandbox_processing_delay),
        state_file=settings.sandbox_state_file("tiktok"),
        media_host=media_host,
    )
    await _start_sandbox(sandbox, "TikTok", settings)
    stack.push_async_callback(sandbox.stop)
    return sandbox


async def _start_sandbox(sandbox: InstagramSandbox | TikTokSandbox, platform: str, settings: Settings) -> None:
    """Starts an in-process emulator on its state file beside the database, so a restart
    of the service finds the containers and publishes it left in flight."""
    from server.sandbox.persist import StateFileError  # noqa: PLC0415

    try:
        await sandbox.start()
    except StateFileError as err:
        raise StartError(
            "DISTRIBUTION_DB", str(settings.db_path),
            f"has a {platform} sandbox state file beside it that cannot be used ({err.path} {err.reason})",
            f"delete {err.path} to start the {platform} sandbox afresh",
        ) from None
