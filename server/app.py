"""The service's lifecycle: start everything in order, stop it in reverse.

`start_service(settings)` is what `python -m server` runs and what the tests start on
port 0; any adapter can be handed in (see server/bootstrap.py). It is `open_core` (the
adapters and the use cases, nothing running yet), then the transports, then `Core.start`
(the reconciler, unfinished publishes resumed, leases kept): a transport that cannot bind
stops the start before any publish runs. Whatever stops a start is a StartError: one line
naming the setting, its value (never a secret) and what would work.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.adapters.prometheus import PrometheusMetrics
from server.adapters.tls import certificates_problem, private_key_problem
from server.bootstrap import Adapters, Sandboxes, Services, build_services, open_adapters
from server.config import (
    OFF,
    ConfigError,
    Settings,
    address_error,
    check_secure,
    join_host_port,
    path_error,
    shown_url,
)
from server.grpc_api.keys import KeyConfigError, KeyRing, load_key_ring
from server.grpc_api.server import (
    SERVICE_NAMES,
    GrpcServer,
    HealthPort,
    ServerOptions,
    TlsFiles,
    UseCases,
    build_grpc_server,
    build_health_server,
)
from server.health import StoreHealth
from server.http_gateway import HttpGateway, HttpTls, serve_http
from server.http_gateway.gateway import Middleware

log = logging.getLogger("distribution")


@dataclass
class Core:
    """The use cases over their adapters, without a transport: what every transport serves
    (and what integration tests drive directly)."""

    settings: Settings
    adapters: Adapters
    services: Services
    metrics: PrometheusMetrics
    sandboxes: Sandboxes
    stack: AsyncExitStack

    async def start(self) -> None:
        """Starts the background work: late-fact checks, the publishes left unfinished
        (resumed from their last saved step), the runner's lease upkeep, the accounts'
        health check."""
        services = self.services
        services.reconciler.start()
        self.stack.push_async_callback(services.reconciler.stop)  # stops before what it uses
        if services.dispatcher is not None:
            services.dispatcher.start()
            self.stack.push_async_callback(services.dispatcher.stop)
        resumed = await services.runner.resume_unfinished()
        services.runner.start()
        # After the runner: publishes due while the service was down start (or are MISSED) now.
        services.scheduler.start()
        self.stack.push_async_callback(services.scheduler.stop)
        services.account_health.start()
        self.stack.push_async_callback(services.account_health.stop)
        if resumed:
            log.info("resumed unfinished publishes", extra={"count": resumed})

    async def stop(self, grace: float | None = None) -> None:
        """Lets runs finish for `grace` seconds (then hands them back), and closes everything."""
        await self.services.scheduler.stop()  # no new run starts while the runs wind down
        await self.services.runner.stop(self.settings.shutdown_grace if grace is None else grace)
        await self.stack.aclose()


async def open_core(settings: Settings, **adapters: Any) -> Core:
    """The adapters (keyword arguments replace them, see bootstrap.open_adapters) and the
    use cases wired over them; nothing runs until `Core.start`."""
    stack = AsyncExitStack()
    try:
        opened, metrics, sandboxes = await open_adapters(settings, stack, **adapters)
        return Core(settings, opened, build_services(settings, opened), metrics, sandboxes, stack)
    except BaseException:
        await stack.aclose()
        raise


@dataclass
class Service:
    """A started service. `stop` shuts it down gracefully and releases everything it opened."""

    core: Core
    grpc: GrpcServer
    key_ring: KeyRing = KeyRing()
    health_port: HealthPort | None = None
    http: HttpGateway | None = None

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def adapters(self) -> Adapters:
        return self.core.adapters

    @property
    def services(self) -> Services:
        return self.core.services

    @property
    def metrics(self) -> PrometheusMetrics:
        return self.core.metrics

    @property
    def sandboxes(self) -> Sandboxes:
        return self.core.sandboxes

    @property
    def port(self) -> int:
        return self.grpc.port

    @property
    def address(self) -> str:
        return join_host_port(self.settings.listen_host, self.port)

    @property
    def health_address(self) -> str | None:
        """Where the plaintext health-only port listens (DISTRIBUTION_HEALTH_LISTEN), if it does."""
        if self.health_port is None:
            return None
        host = self.settings.health_listen.rsplit(":", 1)[0].strip("[]")
        return join_host_port(host, self.health_port.port)

    @property
    def transport_security(self) -> str:
        """"plaintext", "tls" or "mutual_tls"."""
        if not self.settings.tls_cert:
            return "plaintext"
        return "mutual_tls" if self.settings.tls_client_ca else "tls"

    def facts(self) -> dict[str, Any]:
        """What the service runs as, for the start log line and banner. Never a secret:
        keys and tokens are counted, API bases carry no credentials (config.py refuses them)."""
        ring = self.key_ring
        authentication = []
        if ring.hashes:
            authentication.append("api_keys")
        if ring.mtls:
            authentication.append("client_certificates")
        metrics_port = self.metrics.port
        metrics_host = self.settings.metrics_listen.rsplit(":", 1)[0].strip("[]")
        return {
            "address": self.address,
            "transport_security": self.transport_security,
            "authentication": "+".join(authentication) or "open",
            "api_key_workspaces": len({workspace for _, workspace in ring.hashes}),
            "client_certificate_workspaces": len(set(ring.client_workspaces.values())),
            "store": (
                f"postgresql ({shown_url(self.settings.database_url)})"
                if self.settings.uses_postgres
                else f"sqlite ({self.settings.db_path})"
            ),
            "instagram_api": _platform(self.settings.instagram_api_base, self.sandboxes.instagram),
            "tiktok_api": _platform(self.settings.tiktok_api_base, self.sandboxes.tiktok),
            "metrics": OFF if metrics_port is None else f"http://{join_host_port(metrics_host, metrics_port)}/metrics",
            "health_listen": self.health_address or OFF,
            "http": OFF if self.http is None else self.http.origin,
            "console": OFF if self.http is None or not self.http.console_url else self.http.console_url,
        }

    async def stop(self, grace: float | None = None) -> None:
        grace = self.settings.shutdown_grace if grace is None else grace
        # Probes see NOT_SERVING first, so load balancers drain before the port closes.
        await self.grpc.health.enter_graceful_shutdown()
        if self.http is not None:  # calls it has in flight get the same grace as gRPC's
            await asyncio.gather(self.http.stop(grace), self.grpc.server.stop(grace))
        else:
            await self.grpc.server.stop(grace)
        await self.core.stop(grace)


def _platform(base: str, sandbox: Any) -> str:
    return f"sandbox ({sandbox.base_url})" if sandbox is not None else base


async def start_service(settings: Settings, **adapters: Any) -> Service:
    """Starts the service: adapters (an API base of "sandbox" starts that platform's
    emulator in-process), use cases, the gRPC server (and the health-only port, if
    configured); then resumes unfinished publishes. Keyword arguments replace adapters
    (see bootstrap.open_adapters). Raises StartError when something cannot start."""
    key_ring = _key_ring(settings)
    check_secure(settings, key_ring.enabled)
    tls = _tls_files(settings)
    core = await open_core(settings, **adapters)
    stack, services, metrics = core.stack, core.services, core.metrics
    try:
        try:
            grpc_server = build_grpc_server(
                UseCases(
                    services.accounts, services.media, services.publisher, services.history, services.events,
                    services.webhooks, connections=services.connections,
                ),
                ServerOptions(
                    listen=settings.listen,
                    key_ring=key_ring,
                    max_concurrent_per_caller=settings.max_concurrent_per_caller,
                    list_cache_entries=settings.list_cache_entries,
                    tls=tls,
                    observe=metrics.rpc_finished,
                    tracing=core.adapters.tracing.grpc_interceptor if core.adapters.tracing else None,
                ),
            )
        except OSError as err:
            raise address_error("DISTRIBUTION_LISTEN", settings.listen, err) from None
        health_port = None
        if settings.health_listen != OFF:
            try:
                health_port = build_health_server(grpc_server.health, settings.health_listen, metrics.rpc_finished)
            except OSError as err:
                raise address_error(
                    "DISTRIBUTION_HEALTH_LISTEN", settings.health_listen, err, can_be_off=True
                ) from None
        await grpc_server.server.start()
        stack.push_async_callback(grpc_server.server.stop, 0)
        if health_port is not None:
            await health_port.server.start()
            stack.push_async_callback(health_port.server.stop, 0)
        http = await _start_http(
            settings, grpc_server, open_service=not key_ring.enabled,
            middleware=core.adapters.tracing.http_middleware if core.adapters.tracing else None,
        )
        if http is not None:
            stack.push_async_callback(http.stop, 0)
        readiness = StoreHealth(core.adapters.store, grpc_server.health, SERVICE_NAMES)
        await readiness.set_serving(True)
        readiness.start()
        stack.push_async_callback(readiness.stop)
        if not key_ring.enabled:  # said once started: a start that fails says only why
            log.warning(
                "authentication is off: every caller shares the default workspace (loopback only; "
                "see docs/security.md)",
                extra={"listen": settings.listen},
            )
        await core.start()
        return Service(core, grpc_server, key_ring, health_port, http)
    except BaseException:
        await stack.aclose()
        raise


async def _start_http(
    settings: Settings, grpc_server: GrpcServer, open_service: bool, middleware: Middleware | None = None
) -> HttpGateway | None:
    """The HTTP/JSON gateway on DISTRIBUTION_HTTP_LISTEN (unless off), with the gRPC port's
    TLS files, calling its methods in process (same keys, limits and validation); an open
    service answers browsers only on its own hosts and origin (DISTRIBUTION_HTTP_ALLOWED_HOSTS)."""
    if settings.http_listen == OFF:
        return None
    tls = None
    if settings.tls_cert:
        tls = HttpTls(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    try:
        return await serve_http(
            grpc_server.calls, settings.http_listen, tls, console=settings.console, open_service=open_service,
            allowed_hosts=settings.http_allowed_hosts, middleware=middleware,
        )
    except OSError as err:
        raise address_error("DISTRIBUTION_HTTP_LISTEN", settings.http_listen, err, can_be_off=True) from None


def _key_ring(settings: Settings) -> KeyRing:
    try:
        return load_key_ring(
            settings.api_keys, settings.api_keys_file, settings.tls_client_workspaces, bool(settings.tls_client_ca)
        )
    except KeyConfigError as err:
        raise ConfigError(err.variable, err.value, err.problem, err.fix) from None


def _tls_files(settings: Settings) -> TlsFiles | None:
    """The PEM files TLS is configured with, checked: grpc, given a bad one, only says it
    could not bind."""
    if not settings.tls_cert:
        return None
    certificate = _read("DISTRIBUTION_TLS_CERT", settings.tls_cert)
    if problem := certificates_problem(certificate):
        raise ConfigError(
            "DISTRIBUTION_TLS_CERT", settings.tls_cert, problem, "give the server's PEM certificate chain"
        )
    key = _read("DISTRIBUTION_TLS_KEY", settings.tls_key)
    if problem := private_key_problem(key, certificate):
        raise ConfigError(
            "DISTRIBUTION_TLS_KEY", settings.tls_key, problem,
            "give the unencrypted PEM private key of the certificate in DISTRIBUTION_TLS_CERT",
        )
    client_ca = None
    if settings.tls_client_ca:
        client_ca = _read("DISTRIBUTION_TLS_CLIENT_CA", settings.tls_client_ca)
        if problem := certificates_problem(client_ca):
            raise ConfigError(
                "DISTRIBUTION_TLS_CLIENT_CA", settings.tls_client_ca, problem,
                "give the PEM certificate of the CA that signs client certificates",
            )
    return TlsFiles(key, certificate, client_ca)


def _read(variable: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise path_error(variable, path, err, f"make {variable} a readable file") from None
