"""A small aiohttp application server bound to one address, for in-process HTTP endpoints
(the /metrics endpoint and the platform emulators). Imports nothing else of the service."""

from __future__ import annotations

import socket

from aiohttp import web


class AppServer:
    """Serves an aiohttp application on host:port (port 0 picks a free one): the emulators
    and the /metrics endpoint."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> str:
        """Starts serving and returns the origin, e.g. ``http://127.0.0.1:41234``."""
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        return f"http://{self._host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
