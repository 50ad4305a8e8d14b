"""Business Login for Instagram (Instagram API with Instagram Login): the consent screen,
the code exchange and the account's profile (docs/accounts.md, "Connecting an account").

1. The consent screen: GET {auth base}/oauth/authorize?client_id&redirect_uri&response_type=code&scope&state.
2. POST {oauth base}/oauth/access_token (form: client_id, client_secret, grant_type=
   authorization_code, redirect_uri, code) gives a short-lived token (1 hour) and the user id.
3. GET {graph host}/access_token?grant_type=ig_exchange_token&client_secret&access_token gives
   the long-lived token (60 days), which the service later refreshes with ig_refresh_token.
4. GET {graph base}/me?fields=user_id,username names the professional account publishing uses.

The app secret is sent only in those calls' form or query, as Meta documents them; tokens
travel in the Authorization header, as every Graph call's do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from server.adapters.http import Observer
from server.adapters.instagram.errors import PLATFORM
from server.adapters.oauth_http import oauth_call, seconds, text
from server.domain.connections import (
    AuthorizationRequest,
    ConnectedIdentity,
    ExchangeFailure,
    ExchangeProblem,
    PkceMethod,
)

# Enough to publish: instagram_business_basic is required by the consent screen, and the
# content_publish permission is what publishing needs.
DEFAULT_SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
AUTH_BASE = "https://www.instagram.com"
OAUTH_BASE = "https://api.instagram.com"
FACEBOOK_GRAPH_HOST = "graph.facebook.com"


class InstagramConnector:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        graph_base: str,
        auth_base: str = AUTH_BASE,
        oauth_base: str = OAUTH_BASE,
        app_id: str = "",
        app_secret: str = "",
        observe: Observer | None = None,
    ) -> None:
        self._session = session
        self._graph = graph_base.rstrip("/")
        parts = urlsplit(self._graph)
        self._graph_root = f"{parts.scheme}://{parts.netloc}"
        self._authorize = f"{auth_base.rstrip('/')}/oauth/authorize"
        self._oauth = oauth_base.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._observe = observe

    def __repr__(self) -> str:
        return "InstagramConnector(<app credentials redacted>)"

    @property
    def default_scopes(self) -> tuple[str, ...]:
        return DEFAULT_SCOPES

    @property
    def pkce(self) -> PkceMethod:
        return PkceMethod.NONE

    @property
    def missing_setting(self) -> str:
        if urlsplit(self._graph).hostname == FACEBOOK_GRAPH_HOST:
            # Facebook Login's host has no ig_exchange_token nor Instagram Login's /me: say so
            # at the start rather than after the user consented.
            return "DISTRIBUTION_INSTAGRAM_API_BASE to Instagram Login's host (https://graph.instagram.com/<version>)"
        if not self._app_id:
            return "DISTRIBUTION_INSTAGRAM_APP_ID"
        return "" if self._app_secret else "DISTRIBUTION_INSTAGRAM_APP_SECRET"

    def authorize_url(self, request: AuthorizationRequest) -> str:
        query = {
            "client_id": self._app_id,
            "redirect_uri": request.redirect_uri,
            "response_type": "code",
            "scope": ",".join(request.scopes),
            "state": request.state,
        }
        return f"{self._authorize}?{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> ConnectedIdentity:
        short = await self._short_lived(code, redirect_uri)
        # The short-lived token travels in the Authorization header like every Graph call's;
        # the app secret only where Meta documents it, this GET's query.
        status, payload = await oauth_call(
            self._session, PLATFORM, "token_exchange", "GET", f"{self._graph_root}/access_token", token=short,
            params={"grant_type": "ig_exchange_token", "client_secret": self._app_secret}, observe=self._observe,
        )
        if status >= 400 or not payload.get("access_token"):
            raise _graph_refusal("the long-lived token exchange", status, payload)
        token = str(payload["access_token"])
        expires_in = seconds(payload.get("expires_in"))
        status, profile = await oauth_call(
            self._session, PLATFORM, "profile", "GET", f"{self._graph}/me", token=token,
            params={"fields": "user_id,username"}, observe=self._observe,
        )
        user_id = str(profile.get("user_id") or profile.get("id") or "")
        if status >= 400 or not user_id.isdigit():
            raise _graph_refusal("the profile read (/me)", status, profile)
        return ConnectedIdentity(
            external_account_id=user_id,
            username=text(profile.get("username"), 100),
            access_token=token,
            access_expires_in=expires_in,
            refresh_token="",
            refresh_expires_in=0,
        )

    async def _short_lived(self, code: str, redirect_uri: str) -> str:
        form = {
            "client_id": self._app_id,
            "client_secret": self._app_secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        }
        status, payload = await oauth_call(
            self._session, PLATFORM, "code_exchange", "POST", f"{self._oauth}/oauth/access_token",
            form=form, observe=self._observe,
        )
        # Answered as {"access_token", "user_id", "permissions"} or wrapped in {"data": [...]}.
        data = payload.get("data")
        grant = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else payload
        if status < 400 and grant.get("access_token"):
            return str(grant["access_token"])
        error = payload.get("error")
        message = text(payload.get("error_message") or (error.get("message") if isinstance(error, dict) else error))
        lowered = message.lower()
        if "redirect" in lowered:
            problem = ExchangeProblem.REDIRECT_URI_MISMATCH
        elif "client" in lowered or "app" in lowered.split() or "secret" in lowered:
            problem = ExchangeProblem.APP_REJECTED
        else:
            problem = ExchangeProblem.CODE_REJECTED
        raise ExchangeFailure(problem, message or f"HTTP {status}", str(payload.get("code", status)))


def _graph_refusal(step: str, status: int, payload: dict[str, Any]) -> ExchangeFailure:
    error = payload.get("error")
    error = error if isinstance(error, dict) else {}
    message = text(error.get("message") or payload.get("error_message")) or f"HTTP {status}"
    return ExchangeFailure(ExchangeProblem.CODE_REJECTED, f"{step}: {message}", str(error.get("code", status)))

