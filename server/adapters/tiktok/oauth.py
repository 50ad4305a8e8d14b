"""TikTok Login Kit: the consent screen, the code exchange and the creator's profile
(docs/accounts.md, "Connecting an account").

1. The consent screen: GET {auth base}/v2/auth/authorize/?client_key&response_type=code&scope&redirect_uri&state,
   with code_challenge and code_challenge_method=S256 for a desktop or mobile app (PKCE).
2. POST {api}/v2/oauth/token/ (form: client_key, client_secret, code, grant_type=
   authorization_code, redirect_uri, and code_verifier with PKCE) gives the access token, its
   refresh token, both lifetimes and the creator's open_id. TikTok names the app `client_key`.
3. GET {api}/v2/user/info/?fields=open_id,display_name names the creator.

Token-endpoint errors come as {"error", "error_description", "log_id"}.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from server.adapters.http import Observer
from server.adapters.oauth_http import oauth_call, seconds, text
from server.adapters.tiktok.errors import PLATFORM
from server.domain.connections import (
    AuthorizationRequest,
    ConnectedIdentity,
    ExchangeFailure,
    ExchangeProblem,
    PkceMethod,
)

# user.info.basic reads the display name; video.publish and video.upload post (direct and draft).
DEFAULT_SCOPES = ("user.info.basic", "video.publish", "video.upload")
AUTH_BASE = "https://www.tiktok.com"


class TikTokConnector:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        auth_base: str = AUTH_BASE,
        client_key: str = "",
        client_secret: str = "",
        pkce: PkceMethod = PkceMethod.NONE,
        observe: Observer | None = None,
    ) -> None:
        self._session = session
        self._base = api_base.rstrip("/")
        self._authorize = f"{auth_base.rstrip('/')}/v2/auth/authorize/"
        self._client_key = client_key
        self._client_secret = client_secret
        self._pkce = pkce
        self._observe = observe

    def __repr__(self) -> str:
        return "TikTokConnector(<app credentials redacted>)"

    @property
    def default_scopes(self) -> tuple[str, ...]:
        return DEFAULT_SCOPES

    @property
    def pkce(self) -> PkceMethod:
        return self._pkce

    @property
    def missing_setting(self) -> str:
        if not self._client_key:
            return "DISTRIBUTION_TIKTOK_CLIENT_KEY"
        return "" if self._client_secret else "DISTRIBUTION_TIKTOK_CLIENT_SECRET"

    def authorize_url(self, request: AuthorizationRequest) -> str:
        query = {
            "client_key": self._client_key,
            "response_type": "code",
            "scope": ",".join(request.scopes),
            "redirect_uri": request.redirect_uri,
            "state": request.state,
        }
        if request.code_challenge:
            query.update(code_challenge=request.code_challenge, code_challenge_method="S256")
        return f"{self._authorize}?{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> ConnectedIdentity:
        form = {
            "client_key": self._client_key,
            "client_secret": self._client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        status, grant = await oauth_call(
            self._session, PLATFORM, "token", "POST", f"{self._base}/v2/oauth/token/", form=form,
            observe=self._observe,
        )
        if status >= 400 or not grant.get("access_token") or not grant.get("open_id"):
            raise _token_refusal(status, grant)
        token = str(grant["access_token"])
        status, payload = await oauth_call(
            self._session, PLATFORM, "user_info", "GET", f"{self._base}/v2/user/info/", token=token,
            params={"fields": "open_id,display_name"}, observe=self._observe,
        )
        data = payload.get("data")
        user = data.get("user") if isinstance(data, dict) else None
        raw_error = payload.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        outcome = str(error.get("code", "ok"))
        if outcome == "scope_not_authorized":
            # The consent left out user.info.basic: the creator is known by open_id alone.
            user = {}
        elif status >= 400 or not isinstance(user, dict) or outcome != "ok":
            raise ExchangeFailure(
                ExchangeProblem.CODE_REJECTED, f"user info: {text(error.get('message')) or f'HTTP {status}'}",
                str(error.get("code", status)),
            )
        return ConnectedIdentity(
            external_account_id=str(grant["open_id"]),
            username=text(user.get("display_name"), 100),
            access_token=token,
            access_expires_in=seconds(grant.get("expires_in")),
            refresh_token=str(grant.get("refresh_token") or ""),
            refresh_expires_in=seconds(grant.get("refresh_expires_in")),
            scopes=tuple(s for s in str(grant.get("scope") or "").split(",") if s),
        )


def _token_refusal(status: int, payload: dict[str, Any]) -> ExchangeFailure:
    error = text(payload.get("error"), 60)
    description = text(payload.get("error_description"))
    lowered = description.lower()
    if error == "invalid_client" or "client_key" in lowered or "client_secret" in lowered:
        problem = ExchangeProblem.APP_REJECTED
    elif "redirect" in lowered:
        problem = ExchangeProblem.REDIRECT_URI_MISMATCH
    elif "code verifier" in lowered or "code_verifier" in lowered or "code challenge" in lowered:
        problem = ExchangeProblem.PKCE_REJECTED
    elif error in ("rate_limit_exceeded", "internal_error", "server_error", "temporarily_unavailable"):
        problem = ExchangeProblem.UNAVAILABLE
    else:
        problem = ExchangeProblem.CODE_REJECTED
    detail = f"{error}: {description}" if description else error or f"HTTP {status}"
    return ExchangeFailure(problem, detail, error or str(status))

