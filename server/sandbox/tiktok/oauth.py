"""TikTok Login Kit in the emulator: the consent screen, the authorization-code grant of
/v2/oauth/token/ and /v2/user/info/ (README.md, "Connecting accounts").

- GET /v2/auth/authorize/?client_key&response_type=code&scope&redirect_uri[&state]
  [&code_challenge&code_challenge_method=S256]: approves at once (server/sandbox/consent.py)
  and redirects with code, scopes and state; a refusal redirects with error=access_denied.
- The token endpoint's grant_type=authorization_code: the code once, within its lifetime,
  with the same client_key and redirect_uri, and the code_verifier when a challenge was
  given; errors in the OAuth shape {"error", "error_description", "log_id"}.
- GET /v2/user/info/?fields=open_id,display_name: the creator the bearer token names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from server.sandbox import consent
from server.sandbox.persist import token_key
from server.sandbox.tiktok.accounts import Accounts, Creator
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.errors import ApiError, OAuthError

USER_FIELDS = ("open_id", "union_id", "avatar_url", "display_name")


class TikTokLogin:
    def __init__(self, config: TikTokSandboxConfig, accounts: Accounts) -> None:
        self._config = config
        self._accounts = accounts
        self._codes = consent.CodeBook()
        # Scopes granted with each access token a consent gave (by its hash): user/info needs
        # user.info.basic. Tokens from elsewhere (set-up, refreshes) may read it.
        self._scopes: dict[str, set[str]] = {}

    @staticmethod
    def open_id(user: str) -> str:
        """The open_id of a sandbox user, the same on every start."""
        return "sbx-user-" + consent.stable_digits(user, 24)

    def authorize(self, query: Mapping[str, str]) -> web.Response:
        missing = [n for n in ("client_key", "response_type", "scope", "redirect_uri") if not query.get(n)]
        if missing:
            raise OAuthError("invalid_request", f"Missing required parameter(s): {', '.join(missing)}.")
        problem = consent.redirect_problem(query["redirect_uri"])
        if problem or query["response_type"] != "code":
            raise OAuthError("invalid_request", problem or "response_type must be code.")
        challenge = query.get("code_challenge", "")
        if challenge and query.get("code_challenge_method", "S256") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        try:
            user = consent.user_of(query)
        except ValueError as exc:
            raise OAuthError("invalid_request", str(exc)) from None
        back = {"state": query["state"]} if "state" in query else {}
        if consent.denies(query):
            refusal = {"error": "access_denied", "error_description": "The user denied the authorization request."}
            return consent.redirect(query["redirect_uri"], {**refusal, **back})
        code = self._codes.issue("sbx_code.", consent.IssuedCode(
            user=user, client_id=query["client_key"], redirect_uri=query["redirect_uri"], scopes=query["scope"],
            code_challenge=challenge, expires_at=time.time() + self._config.authorization_code_ttl,
        ))
        return consent.redirect(query["redirect_uri"], {"code": code, "scopes": query["scope"], **back})

    def exchange(self, form: Mapping[str, Any]) -> dict[str, Any]:
        """grant_type=authorization_code: a token pair for the code's creator."""
        for name in ("client_key", "client_secret", "code", "redirect_uri"):
            if not isinstance(form.get(name), str) or not form[name]:
                raise OAuthError("invalid_request", f"Missing required parameter: {name}.")
        issued = self._codes.redeem(form["code"])
        if issued is None or issued.client_id != form["client_key"]:
            raise OAuthError("invalid_grant", "Authorization code is invalid or has already been used.")
        if issued.redirect_uri != form["redirect_uri"]:
            raise OAuthError("invalid_request", "redirect_uri does not match the one of the authorization request.")
        if issued.code_challenge:
            verifier = form.get("code_verifier")
            if not isinstance(verifier, str) or not consent.challenge_matches(verifier, issued.code_challenge):
                raise OAuthError("invalid_request", "Code verifier or code challenge is invalid.")
        if time.time() >= issued.expires_at:
            raise OAuthError("invalid_grant", "Authorization code is expired.")
        open_id = self.open_id(issued.user)
        if open_id not in self._accounts.creators:
            self._accounts.creators[open_id] = Creator(open_id=open_id, username=issued.user, nickname=issued.user)
        tokens = self._accounts.issue_tokens(open_id)
        tokens["scope"] = issued.scopes
        self._scopes[token_key(tokens["access_token"])] = set(issued.scopes.split(","))
        return tokens

    def user_info(self, token: str, creator: Creator, fields: str) -> dict[str, Any]:
        if "user.info.basic" not in self._scopes.get(token_key(token), {"user.info.basic"}):
            raise ApiError(401, "scope_not_authorized", "The user did not authorize the scope required for "
                           "completing this request.")
        asked = [f for f in fields.split(",") if f]
        unknown = [f for f in asked if f not in USER_FIELDS]
        if not asked or unknown:
            raise ValueError(f"fields must name some of {', '.join(USER_FIELDS)}")
        values = {"open_id": creator.open_id, "union_id": creator.open_id, "display_name": creator.nickname,
                  "avatar_url": ""}
        return {"user": {f: values[f] for f in asked}}
