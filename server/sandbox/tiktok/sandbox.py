"""``TikTokSandbox``: the emulator's Python face, for tests, ``make run`` and the CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from server.sandbox.common import ScriptedAnswers, check_http_status
from server.sandbox.emulator import Emulator
from server.sandbox.media import ImageProbe
from server.sandbox.tiktok.accounts import Accounts, Creator, default_open_id
from server.sandbox.tiktok.api import ENDPOINTS, TikTokApi, error_middleware, fault_response
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.control import add_control_routes
from server.sandbox.tiktok.errors import ScriptedError
from server.sandbox.tiktok.publishes import Publishes, describe


class TikTokSandbox(Emulator[TikTokSandboxConfig]):
    """In-process TikTok Content Posting API (photo posts) with test set-up and inspection.

    ``start()`` returns the origin (``http://127.0.0.1:<port>``); clients append ``/v2/...``.
    With a ``state_file``, creators, tokens (hashed) and publishes outlive a restart
    (README.md, "State file").
    """

    kind = "tiktok"

    def __init__(
        self,
        config: TikTokSandboxConfig | None = None,
        *,
        state_file: Path | str | None = None,
        media_host: str = "",
    ) -> None:
        """`media_host`: the sandbox media host's origin, whose real bytes decide a photo's
        format and size; without one, the URL convention it serves decides."""
        super().__init__(config if config is not None else TikTokSandboxConfig(), ENDPOINTS, state_file)
        self.probe = ImageProbe(media_host)
        self.accounts = Accounts(self.config)
        self.publishes = Publishes(self.config, self.accounts)
        self._scripted: ScriptedAnswers[ScriptedError] = ScriptedAnswers(ENDPOINTS)
        # The fault middleware must be the outermost one; the state is saved innermost, as soon
        # as a call has taken effect.
        middlewares = [self.faults.middleware(fault_response), error_middleware, self.persistence]
        self.app = web.Application(middlewares=middlewares)
        self._api = api = TikTokApi(
            self.config,
            accounts=self.accounts,
            publishes=self.publishes,
            calls=self.calls,
            faults=self.faults,
            scripted=self._scripted,
            probe=self.probe,
        )
        api.add_routes(self.app.router)
        add_control_routes(self.app.router, self)

    async def stop(self) -> None:
        await super().stop()
        await self.probe.close()

    # --- set-up ----------------------------------------------------------------------------

    def add_creator(
        self,
        access_token: str,
        *,
        private: bool = False,
        username: str = "sandbox_creator",
        nickname: str = "Sandbox Creator",
        open_id: str | None = None,
        can_post: bool = True,
        comment_disabled: bool = False,
    ) -> None:
        """Binds access_token to a creator (created, or replaced if open_id exists)."""
        if not access_token:
            raise ValueError("access_token must not be empty")
        creator = Creator(
            open_id=open_id or default_open_id(access_token),
            username=username,
            nickname=nickname,
            private=private,
            can_post=can_post,
            comment_disabled=comment_disabled,
        )
        self.accounts.add_creator(access_token, creator)

    def add_refresh_token(self, refresh_token: str, access_token: str) -> None:
        """Registers a refresh token that /v2/oauth/token/ accepts, for access_token's creator."""
        if not refresh_token:
            raise ValueError("refresh_token must not be empty")
        self.accounts.add_refresh_token(refresh_token, access_token)

    def revoke_token(self, access_token: str) -> None:
        """Calls with this access token now get HTTP 401 access_token_invalid."""
        self.accounts.revoke(access_token)

    def complete_inbox(self, publish_id: str, *, privacy_level: str | None = None) -> None:
        """The creator posts a MEDIA_UPLOAD draft in the app: inbox -> PUBLISH_COMPLETE.

        privacy_level is what the creator picks in the app (default: their first option,
        PUBLIC_TO_EVERYONE for a public creator). Raises KeyError for an unknown id and
        ValueError if the publish is not a draft waiting in the inbox.
        """
        self.publishes.complete_inbox(publish_id, privacy_level)

    def script_fail_reason(self, reason: str, count: int = 1) -> None:
        """The next `count` accepted inits end FAILED with this fail_reason."""
        self.publishes.script_fail_reason(reason, count)

    def fail_next(
        self, endpoint: str, *, http_status: int, code: str, message: str = "", count: int = 1
    ) -> None:
        """The next `count` calls to endpoint (a CallLog name) get this error before any check."""
        self._scripted.check_endpoint(endpoint)
        check_http_status("http_status", http_status)
        self._scripted.add(endpoint, ScriptedError(http_status, code, message), count)

    # --- inspection ------------------------------------------------------------------------

    def posts(self, access_token: str | None = None) -> list[dict[str, Any]]:
        """Every accepted init, in init order; only access_token's creator's if given."""
        open_id = None if access_token is None else self.accounts.open_id(access_token)
        return self.publishes.records(open_id)

    def stats(self) -> dict[str, Any]:
        """``{"posts": N, "duplicate_posts": M, "failed": F, "duplicate_groups": [[ids]]}``.

        N counts every accepted init (what ``posts()`` lists). A duplicate is an accepted
        init with the same creator ``open_id``, ordered photo URLs and title as an earlier
        one; publishes that end ``FAILED`` (F of them; their fail_reason is fixed at init)
        never went live and are left out, so re-posting after a failure is no duplicate.
        M counts every publish but the first of each group.
        """
        return self.publishes.stats()

    def rate_limited(self) -> dict[str, int]:
        """Calls answered 429 ``rate_limit_exceeded`` by the per-token limits, per endpoint
        (counted at arrival; injected faults and scripted errors are not in it)."""
        return self._api.rate_limited

    def publish(self, publish_id: str) -> dict[str, Any] | None:
        """One publish as ``posts()`` reports it, or None if unknown."""
        pub = self.publishes.by_id.get(publish_id)
        return None if pub is None else describe(pub, time.time())

    # --- the state file ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"accounts": self.accounts.snapshot(), **self.publishes.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.accounts.restore(state["accounts"])
        self.publishes.restore(state)
