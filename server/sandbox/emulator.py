"""What both emulators are: a config, a call log, a fault plan, an aiohttp app on loopback,
and optionally a state file that keeps their world across restarts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from aiohttp import web

from server.http_server import AppServer
from server.sandbox.common import CallLog
from server.sandbox.faults import FaultPlan
from server.sandbox.persist import StateFile, StateFileError, restore_error

ConfigT = TypeVar("ConfigT")

log = logging.getLogger("sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Requests that only read: nothing to save after them.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Emulator(Generic[ConfigT]):
    """Serving, shared by both emulators; a subclass builds its state, then ``self.app``
    (with ``self.persistence`` as its innermost middleware), and says how its state is saved
    (``snapshot``) and restored (``restore``)."""

    app: web.Application
    kind: str = ""

    def __init__(self, config: ConfigT, endpoints: tuple[str, ...], state_file: Path | str | None = None) -> None:
        self.config = config
        self.calls = CallLog()
        # Switchable probabilistic faults (server.sandbox.faults); seed 0 until reseeded.
        self.faults = FaultPlan(endpoints)
        # Set by start(): what the service's DISTRIBUTION_<PLATFORM>_API_BASE points at.
        self.base_url = ""
        self._server: AppServer | None = None
        self.state_file = StateFile(state_file, self.kind) if state_file is not None else None
        self.persistence = self._persistence_middleware()

    # --- the state file ------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The emulator's world as JSON-ready data (what the state file holds)."""
        raise NotImplementedError

    def restore(self, state: dict[str, Any]) -> None:
        """Replaces the emulator's world with a snapshot's."""
        raise NotImplementedError

    def save_state(self) -> bool:
        """Writes the state file now, if there is one and the world changed; True if written."""
        if self.state_file is None:
            return False
        return self.state_file.save(self.snapshot())

    def _save_quietly(self) -> None:
        """Saves the state; a failure (a full disk, say) is logged and the emulator serves on."""
        try:
            self.save_state()
        except OSError as exc:
            path = self.state_file.path if self.state_file is not None else None
            log.warning("sandbox state file not written", extra={"path": str(path), "error": str(exc)})

    def _load_state(self) -> None:
        if self.state_file is None:
            return
        state = self.state_file.load()
        if state is None:
            return
        try:
            self.restore(state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise restore_error(self.state_file.path, exc) from None

    def _persistence_middleware(self) -> Any:
        @web.middleware
        async def persist(request: web.Request, handler: Handler) -> web.StreamResponse:
            # Saved before the answer leaves: a client never holds an id (a container, a
            # publish) that a crash of the emulator right after could lose.
            try:
                return await handler(request)
            finally:
                if request.method not in _READS:
                    self._save_quietly()

        return persist

    # --- serving ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> str:
        """Loads the state file (if given and present), serves on 127.0.0.1 (port 0 picks a
        free one) and returns ``base_url``. Raises StateFileError for an unusable state file."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._load_state()
        server = AppServer(self.app, port=port)
        origin = await server.start()
        self._server = server
        # The host root: where the platforms' consent screens and OAuth endpoints are served.
        self.origin = origin
        self.base_url = self._base_url(origin)
        return self.base_url

    async def stop(self) -> None:
        # Stalled connections (timeout faults) would otherwise hold the shutdown for their
        # whole stall.
        self.faults.release()
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()
        self._save_quietly()

    def _base_url(self, origin: str) -> str:
        """What a client appends the platform's paths to; the origin unless overridden."""
        return origin


__all__ = ["Emulator", "StateFileError"]
