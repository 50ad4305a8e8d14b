"""The service's lifecycle: start everything in order, stop it in reverse.

`start_service(settings)` is what `python -m server` runs and what the tests start on
port 0; any adapter can be handed in (see server/bootstrap.py).
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.adapters.prometheus import PrometheusMetrics
from server.bootstrap import Adapters, Sandboxes, Services, build_services, open_adapters
from server.config import ConfigError, Settings, check_secure
from server.grpc_api.keys import KeyConfigError, KeyRing, load_key_ring
from server.grpc_api.server import SERVICE_NAMES, GrpcServer, ServerOptions, TlsFiles, UseCases, build_grpc_server
from server.health import StoreHealth

log = logging.getLogger("distribution")


@dataclass
class Service:
    """A started service. `stop` shuts it down gracefully and releases everything it opened."""

    settings: Settings
    grpc: GrpcServer
    adapters: Adapters
    services: Services
    metrics: PrometheusMetrics
    sandboxes: Sandboxes
    _stack: AsyncExitStack

    @property
    def port(self) -> int:
        return self.grpc.port

    @property
    def address(self) -> str:
        return f"{self.settings.listen_host}:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        grace = self.settings.shutdown_grace if grace is None else grace
        # Probes see NOT_SERVING first, so load balancers drain before the port closes.
        await self.grpc.health.enter_graceful_shutdown()
        await self.grpc.server.stop(grace)
        await self.services.runner.stop(grace)
        await self._stack.aclose()


async def start_service(settings: Settings, **adapters: Any) -> Service:
    """Starts the service: adapters (an API base of "sandbox" starts that platform's
    emulator in-process), use cases, the gRPC server; then resumes unfinished publishes.
    Keyword arguments replace adapters (see bootstrap.open_adapters)."""
    key_ring = _key_ring(settings)
    check_secure(settings, key_ring.enabled)
    if not key_ring.enabled:
        log.warning(
            "authentication is off: every caller shares the default workspace (loopback only; "
            "see README, Security)",
            extra={"listen": settings.listen},
        )
    stack = AsyncExitStack()
    try:
        opened, metrics, sandboxes = await open_adapters(settings, stack, **adapters)
        services = build_services(settings, opened)
        grpc_server = build_grpc_server(
            UseCases(services.accounts, services.media, services.publisher, services.history),
            ServerOptions(
                listen=settings.listen,
                key_ring=key_ring,
                max_concurrent_per_caller=settings.max_concurrent_per_caller,
                list_cache_entries=settings.list_cache_entries,
                tls=_tls_files(settings),
                observe=metrics.rpc_finished,
            ),
        )
        await grpc_server.server.start()
        stack.push_async_callback(grpc_server.server.stop, 0)
        readiness = StoreHealth(opened.store, grpc_server.health, SERVICE_NAMES)
        await readiness.set_serving(True)
        readiness.start()
        stack.push_async_callback(readiness.stop)
        services.reconciler.start()
        stack.push_async_callback(services.reconciler.stop)  # stops before what it uses
        resumed = await services.runner.resume_unfinished()
        services.runner.start()
        if resumed:
            log.info("resumed unfinished publishes", extra={"count": resumed})
        return Service(settings, grpc_server, opened, services, metrics, sandboxes, stack)
    except BaseException:
        await stack.aclose()
        raise


def _key_ring(settings: Settings) -> KeyRing:
    try:
        return load_key_ring(
            settings.api_keys, settings.api_keys_file, settings.tls_client_workspaces, bool(settings.tls_client_ca)
        )
    except KeyConfigError as err:
        raise ConfigError(str(err)) from None


def _tls_files(settings: Settings) -> TlsFiles | None:
    if not settings.tls_cert:
        return None
    client_ca = Path(settings.tls_client_ca).read_bytes() if settings.tls_client_ca else None
    return TlsFiles(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes(), client_ca)

