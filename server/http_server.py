"""A small aiohttp application server bound to one address, for in-process HTTP endpoints
(the /metrics endpoint and the platform emulators). Imports nothing else of the service."""

from __future__ import annotations

import socket
import ssl

from aiohttp import web

# Where the HTTP gateway leaves the matched route's template (e.g. /api/v1/publishes/{id}) on
# a request, for what wraps the request (tracing names its server span by it).
ROUTE_KEY = web.RequestKey("distribution.route", str)


class AppServer:
    """Serves an aiohttp application (the emulators, the /metrics endpoint) or a low-level
    aiohttp server (the HTTP gateway) on host:port (port 0 picks a free one)."""

    def __init__(
        self, app: web.Application | web.Server, host: str = "127.0.0.1", port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._app = app
        self._ssl_context = ssl_context
        self._host = host
        self._port = port
        self._runner: web.BaseRunner | None = None
        self.port: int | None = None

    async def start(self) -> str:
        """Starts serving and returns the origin, e.g. ``http://127.0.0.1:41234``. Raises
        OSError when the address cannot be bound (in use, not of this host)."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
        except BaseException:
            sock.close()
            raise
        if isinstance(self._app, web.Server):
            self._runner = web.ServerRunner(self._app, access_log=None)
        else:
            self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, ssl_context=self._ssl_context)
        await site.start()
        self.port = sock.getsockname()[1]
        scheme = "https" if self._ssl_context is not None else "http"
        host = f"[{self._host}]" if family == socket.AF_INET6 else self._host
        return f"{scheme}://{host}:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        """Stops listening; with `grace`, requests in flight get that many seconds first."""
        if self._runner is not None:
            if grace is not None:
                self._runner._shutdown_timeout = grace  # aiohttp reads it at cleanup; no public setter
            await self._runner.cleanup()
            self._runner = None
