"""``InstagramSandbox``: the emulator's Python face, for tests, ``make run`` and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from server.sandbox.common import ScriptedAnswers, check_http_status
from server.sandbox.emulator import Emulator
from server.sandbox.instagram.api import ENDPOINTS, GraphApi, fault_response
from server.sandbox.instagram.config import InstagramSandboxConfig
from server.sandbox.instagram.control import add_control_routes
from server.sandbox.instagram.errors import ScriptedError
from server.sandbox.instagram.oauth import ENDPOINTS as LOGIN_ENDPOINTS
from server.sandbox.instagram.oauth import InstagramLogin
from server.sandbox.instagram.state import InstagramState
from server.sandbox.media import ImageProbe


class InstagramSandbox(Emulator[InstagramSandboxConfig]):
    """In-memory Instagram Graph API (content publishing), served by an aiohttp app.

    ``start()`` returns the base URL with the version, e.g. ``http://127.0.0.1:41234/v23.0``.
    With a ``state_file``, containers, media and revoked tokens outlive a restart (README.md,
    "State file").
    """

    kind = "instagram"

    def __init__(
        self,
        config: InstagramSandboxConfig | None = None,
        *,
        state_file: Path | str | None = None,
        media_host: str = "",
    ) -> None:
        """`media_host`: the sandbox media host's origin, whose real bytes decide an image's
        format, size and aspect ratio; without one, the URL convention it serves decides."""
        super().__init__(
            config if config is not None else InstagramSandboxConfig(), ENDPOINTS + LOGIN_ENDPOINTS, state_file
        )
        self.state = InstagramState(self.config)
        self._scripted: ScriptedAnswers[ScriptedError] = ScriptedAnswers(ENDPOINTS)
        self.probe = ImageProbe(media_host)
        self.app = web.Application(middlewares=[self.faults.middleware(fault_response), self.persistence])
        add_control_routes(self.app.router, self)
        InstagramLogin(self.config, self.calls).add_routes(self.app.router)
        # Last: the Graph routes catch every path the control routes do not claim.
        GraphApi(self.state, self.calls, self.faults, self._scripted, self.probe).add_routes(self.app.router)

    async def stop(self) -> None:
        await super().stop()
        await self.probe.close()

    def _base_url(self, origin: str) -> str:
        return f"{origin}/{self.config.api_version}"

    # --- the state file ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.state.restore(state)

    # --- inspection ------------------------------------------------------------------------

    def posts(self, ig_user_id: str | None = None) -> list[dict[str, Any]]:
        """Published media (carousels and single images), in publish order."""
        return self.state.post_records(ig_user_id)

    def stats(self) -> dict[str, Any]:
        """``{"posts": N, "duplicate_posts": M, "duplicate_groups": [[media ids]]}``.

        A post duplicates an earlier one if both come from the same container (impossible
        by construction) or if the IG user, the caption and the ordered image URLs are all
        equal. M counts every post but the first of each group.
        """
        return self.state.stats()

    def container(self, container_id: str) -> dict[str, Any] | None:
        """A container's stored state with its current status, or None if unknown."""
        return self.state.container_record(container_id)

    # --- scripted behaviour ----------------------------------------------------------------

    def revoke_token(self, token: str) -> None:
        """Calls with this token answer code 190 subcode 463 (session expired)."""
        self.state.revoke(token)

    def fail_media_reads(self, count: int) -> None:
        """The next `count` GET /{ig-media-id} calls answer 100/33 "Unsupported get request"."""
        error = ScriptedError(400, 100, 33, None, is_transient=False)
        self._scripted.add("media_read", error, count)

    def fail_next(
        self,
        endpoint: str,
        *,
        status: int,
        code: int,
        subcode: int | None = None,
        message: str = "An unexpected error has occurred. Please retry your request later.",
        is_transient: bool = False,
        count: int = 1,
        after_serving: bool = False,
    ) -> None:
        """The next `count` calls to `endpoint` (a CallLog name) answer this Graph error.

        The error comes after the token check. With ``after_serving`` the call takes effect
        first (a publish goes live, a container is created) and the client still gets the error.
        """
        self._scripted.check_endpoint(endpoint)
        check_http_status("status", status)
        error = ScriptedError(status, code, subcode, message, is_transient, after_serving)
        self._scripted.add(endpoint, error, count)
