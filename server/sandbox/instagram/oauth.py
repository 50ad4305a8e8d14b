"""Business Login for Instagram in the emulator: the consent screen, the code exchange, the
long-lived token exchange and /me (README.md, "Connecting accounts").

- GET /oauth/authorize?client_id&redirect_uri&response_type=code&scope[&state]: approves at
  once (see server/sandbox/consent.py) and redirects with code and state, `#_` appended as
  Instagram does; a refusal redirects with error=access_denied.
- POST /oauth/access_token (form): a code, once and within its hour, for a 1-hour token;
  errors in Instagram Login's own shape {"error_type", "code", "error_message"}.
- GET /access_token?grant_type=ig_exchange_token&client_secret&access_token: a 60-day token.
- GET /{version}/me?fields=user_id,username: who the token belongs to.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.sandbox import consent
from server.sandbox.common import CallLog
from server.sandbox.instagram.config import InstagramSandboxConfig
from server.sandbox.instagram.endpoints import LONG_LIVED_TOKEN_SECONDS
from server.sandbox.persist import token_key

ENDPOINTS = ("oauth_authorize", "oauth_code_exchange", "oauth_token_exchange", "oauth_me")
CODE_NOT_FOUND = "Matching code was not found or was already used"


@dataclass(frozen=True)
class _Holder:
    user_id: str
    username: str
    expires_at: float | None  # wall clock; None for a long-lived token (60 days, not tracked)


class InstagramLogin:
    def __init__(self, config: InstagramSandboxConfig, calls: CallLog) -> None:
        self._config = config
        self._calls = calls
        self._codes = consent.CodeBook()
        self._tokens: dict[str, _Holder] = {}

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/oauth/authorize", self._authorize)
        router.add_get("/oauth/authorize/", self._authorize)
        router.add_post("/oauth/access_token", self._code_exchange)
        router.add_get("/access_token", self._token_exchange)
        router.add_get(r"/{version:v\d+\.\d+}/me", self._me)

    @staticmethod
    def user_id(user: str) -> str:
        """The IG professional account id of a sandbox user (17 digits, like 17841400000000001)."""
        return "17841" + consent.stable_digits(user, 12)

    async def _authorize(self, request: web.Request) -> web.Response:
        self._calls.record("oauth_authorize")
        query = request.query
        missing = [name for name in ("client_id", "redirect_uri", "response_type", "scope") if not query.get(name)]
        if missing:
            return _oauth_error(f"Missing required parameter(s): {', '.join(missing)}")
        problem = consent.redirect_problem(query["redirect_uri"])
        if problem or query["response_type"] != "code":
            return _oauth_error(problem or "response_type must be code")
        try:
            user = consent.user_of(query)
        except ValueError as exc:
            return _oauth_error(str(exc))
        back = {"state": query["state"]} if "state" in query else {}
        if consent.denies(query):
            refusal = {"error": "access_denied", "error_reason": "user_denied",
                       "error_description": "The user denied your request."}
            return consent.redirect(query["redirect_uri"], {**refusal, **back}, "#_")
        code = self._codes.issue("AQ", consent.IssuedCode(
            user=user, client_id=query["client_id"], redirect_uri=query["redirect_uri"], scopes=query["scope"],
            code_challenge="", expires_at=time.time() + self._config.authorization_code_ttl,
        ))
        return consent.redirect(query["redirect_uri"], {"code": code, **back}, "#_")

    async def _code_exchange(self, request: web.Request) -> web.Response:
        self._calls.record("oauth_code_exchange")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
            if not form.get(name):
                return _oauth_error(f"You must provide a {name}")
        if form["grant_type"] != "authorization_code":
            return _oauth_error("Invalid grant_type: only authorization_code is supported")
        issued = self._codes.redeem(form["code"])
        if issued is None or issued.client_id != form["client_id"]:
            return _oauth_error(CODE_NOT_FOUND)
        if issued.redirect_uri != form["redirect_uri"]:
            return _oauth_error("Error validating verification code. Please make sure your redirect_uri is "
                                "identical to the one you used in the OAuth dialog request")
        if time.time() >= issued.expires_at:
            return _oauth_error("This authorization code has expired.")
        token = self._new_token(issued.user, time.time() + self._config.short_lived_token_ttl)
        grant = {"access_token": token, "user_id": self.user_id(issued.user), "permissions": issued.scopes}
        return web.json_response({"data": [grant]})

    async def _token_exchange(self, request: web.Request) -> web.Response:
        self._calls.record("oauth_token_exchange")
        query = request.query
        if query.get("grant_type") != "ig_exchange_token" or not query.get("client_secret"):
            return _graph_error(100, "(#100) grant_type must be ig_exchange_token, with client_secret")
        holder = self._tokens.get(token_key(_token_of(request)))
        if holder is None or holder.expires_at is None or time.time() >= holder.expires_at:
            return _graph_error(190, "Error validating access token: the token is not a valid short-lived token",
                                subcode=463)
        token = self._new_token_for(holder.user_id, holder.username, None)
        return web.json_response({"access_token": token, "token_type": "bearer",
                                  "expires_in": LONG_LIVED_TOKEN_SECONDS})

    async def _me(self, request: web.Request) -> web.Response:
        self._calls.record("oauth_me")
        token = _token_of(request)
        holder = self._tokens.get(token_key(token)) if token else None
        if holder is None:
            return _graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        fields = set((request.query.get("fields") or "id").split(","))
        body: dict[str, Any] = {"id": holder.user_id}
        if "user_id" in fields:
            body["user_id"] = holder.user_id
        if "username" in fields:
            body["username"] = holder.username
        return web.json_response(body)

    def _new_token(self, user: str, expires_at: float | None) -> str:
        return self._new_token_for(self.user_id(user), user, expires_at)

    def _new_token_for(self, user_id: str, username: str, expires_at: float | None) -> str:
        token = "IGAA" + secrets.token_urlsafe(40)
        self._tokens[token_key(token)] = _Holder(user_id, username, expires_at)
        return token


def _token_of(request: web.Request) -> str:
    """The token of a Graph call: the Authorization header's, else the access_token parameter."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return request.query.get("access_token", "")


def _oauth_error(message: str) -> web.Response:
    return web.json_response({"error_type": "OAuthException", "code": 400, "error_message": message}, status=400)


def _graph_error(code: int, message: str, subcode: int | None = None) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": secrets.token_urlsafe(8)}
    if subcode is not None:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=400)
