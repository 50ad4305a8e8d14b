"""What both emulators are: a config, a call log, a fault plan and an aiohttp app on loopback."""

from __future__ import annotations

from typing import Generic, TypeVar

from aiohttp import web

from server.http_server import AppServer
from server.sandbox.common import CallLog
from server.sandbox.faults import FaultPlan

ConfigT = TypeVar("ConfigT")


class Emulator(Generic[ConfigT]):
    """Serving, shared by both emulators; a subclass builds its state, then ``self.app``."""

    app: web.Application

    def __init__(self, config: ConfigT, endpoints: tuple[str, ...]) -> None:
        self.config = config
        self.calls = CallLog()
        # Switchable probabilistic faults (server.sandbox.faults); seed 0 until reseeded.
        self.faults = FaultPlan(endpoints)
        # Set by start(): what the service's DISTRIBUTION_<PLATFORM>_API_BASE points at.
        self.base_url = ""
        self._server: AppServer | None = None

    async def start(self, port: int = 0) -> str:
        """Serves on 127.0.0.1 (port 0 picks a free one) and returns ``base_url``."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        server = AppServer(self.app, port=port)
        origin = await server.start()
        self._server = server
        self.base_url = self._base_url(origin)
        return self.base_url

    async def stop(self) -> None:
        # Stalled connections (timeout faults) would otherwise hold the shutdown for their
        # whole stall.
        self.faults.release()
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()

    def _base_url(self, origin: str) -> str:
        """What a client appends the platform's paths to; the origin unless overridden."""
        return origin
