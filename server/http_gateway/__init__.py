"""The HTTP/JSON form of the gRPC API: routes from the contract's
`google.api.http` annotations, served in process on DISTRIBUTION_HTTP_LISTEN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import distribution

from server.grpc_api.inprocess import InProcessCalls
from server.http_gateway.browsers import BrowserGuard
from server.http_gateway.console import PREFIX, Console
from server.http_gateway.gateway import Gateway, Middleware, load_openapi, tls_context
from server.http_server import AppServer

# Written by `make generate` (scripts/openapi.py) from the contract; served as is.
OPENAPI_FILE = Path(distribution.__file__).resolve().parent.parent / "openapi" / "distribution.json"


@dataclass(frozen=True)
class HttpTls:
    certificate: str
    key: str
    client_ca: str = ""


@dataclass
class HttpGateway:
    gateway: Gateway
    server: AppServer
    origin: str

    @property
    def console_url(self) -> str:
        """Where the console is served; empty when it is off."""
        return self.origin + PREFIX if self.gateway.console else ""

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    async def stop(self, grace: float = 0) -> None:
        """Stops listening; calls in flight (a publish, a watch) get `grace` seconds."""
        await self.server.stop(grace)


async def serve_http(
    calls: InProcessCalls, listen: str, tls: HttpTls | None = None, console: bool = True, *,
    open_service: bool = False, allowed_hosts: Sequence[str] = (), middleware: Middleware | None = None,
) -> HttpGateway:
    """Starts the gateway on `listen` (HOST:PORT, port 0 picks one), with the console at
    /console/ unless `console` is false. `open_service` (no API keys, no mutual TLS) turns on
    the Host and Origin rules for browsers (browsers.py; mutual TLS turns on the Origin rule),
    `allowed_hosts` being the operator's extra hosts. Raises OSError when the address cannot
    be bound. `middleware` wraps every request (tracing: its server span)."""
    host, _, port = listen.rpartition(":")
    guard = BrowserGuard.for_port(
        open_service=open_service, mutual_tls=tls is not None and bool(tls.client_ca), tls=tls is not None,
        listen_host=host, allowed=allowed_hosts,
    )
    gateway = Gateway(
        calls, load_openapi(OPENAPI_FILE), Console() if console else None, guard if guard.active else None,
        middleware=middleware,
    )
    context = None if tls is None else tls_context(tls.certificate, tls.key, tls.client_ca)
    server = AppServer(gateway.server(), host=host.strip("[]"), port=int(port), ssl_context=context)
    origin = await server.start()
    return HttpGateway(gateway, server, origin)
