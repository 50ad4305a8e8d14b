"""Who posts in the TikTok emulator: creators, the access tokens naming them, refresh grants.

The sandbox needs no credentials: an unknown access token gets a default creator derived
from it (README.md, "Access tokens"). Tokens are kept only as SHA-256 hashes (so a state
file holds none), and expiry times are wall-clock, so they hold across a restart.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from server.sandbox.persist import token_key
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.errors import ApiError, OAuthError

PUBLIC_PRIVACY_OPTIONS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
PRIVATE_PRIVACY_OPTIONS = ("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
SCOPE = "video.publish,video.upload"
TOKEN_INVALID = "The access token is invalid or not found in the request."


@dataclass
class Creator:
    open_id: str
    username: str
    nickname: str
    private: bool = False
    can_post: bool = True
    comment_disabled: bool = False

    @property
    def privacy_level_options(self) -> tuple[str, ...]:
        return PRIVATE_PRIVACY_OPTIONS if self.private else PUBLIC_PRIVACY_OPTIONS


@dataclass
class _RefreshGrant:
    open_id: str
    expires_at: float  # wall clock


class Accounts:
    """Creators by open_id, and the tokens that name them (by their hashes)."""

    def __init__(self, config: TikTokSandboxConfig) -> None:
        self.config = config
        self.creators: dict[str, Creator] = {}  # by open_id
        self._token_owner: dict[str, str] = {}  # access token hash -> open_id
        self._token_expiry: dict[str, float] = {}  # only tokens issued by /oauth/token/
        self._revoked: set[str] = set()
        self._refresh: dict[str, _RefreshGrant] = {}  # by refresh token hash

    def add_creator(self, access_token: str, creator: Creator) -> None:
        """Binds access_token to `creator` (replacing one with its open_id) and un-revokes it."""
        key = token_key(access_token)
        self.creators[creator.open_id] = creator
        self._token_owner[key] = creator.open_id
        self._token_expiry.pop(key, None)
        self._revoked.discard(key)

    def add_refresh_token(self, refresh_token: str, access_token: str) -> None:
        creator = self.creator(access_token, register=True)
        expires_at = time.time() + self.config.refresh_token_ttl
        self._refresh[token_key(refresh_token)] = _RefreshGrant(creator.open_id, expires_at)

    def revoke(self, access_token: str) -> None:
        self._revoked.add(token_key(access_token))

    def open_id(self, access_token: str) -> str:
        """The open_id a token names, registered or not."""
        return self._token_owner.get(token_key(access_token)) or default_open_id(access_token)

    def creator(self, access_token: str, *, register: bool) -> Creator:
        """The creator behind a token; an unknown token gets a default creator."""
        open_id = self._token_owner.get(token_key(access_token))
        if open_id is not None:
            return self.creators[open_id]
        private = "private" in access_token
        creator = Creator(
            open_id=default_open_id(access_token),
            username="sandbox_private_creator" if private else "sandbox_creator",
            nickname="Sandbox Private Creator" if private else "Sandbox Creator",
            private=private,
        )
        if register:
            creator = self.creators.setdefault(creator.open_id, creator)
            self._token_owner[token_key(access_token)] = creator.open_id
        return creator

    def authenticate(self, access_token: str) -> Creator:
        """The creator a bearer token names; 401 ``access_token_invalid`` if revoked or expired."""
        key = token_key(access_token)
        expiry = self._token_expiry.get(key)
        if key in self._revoked or (expiry is not None and time.time() >= expiry):
            raise ApiError(401, "access_token_invalid", TOKEN_INVALID)
        return self.creator(access_token, register=True)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Redeems a refresh token (it rotates: this one stops working) for a new token pair."""
        grant = self._refresh.pop(token_key(refresh_token), None)
        if grant is None or time.time() >= grant.expires_at:
            raise OAuthError("invalid_grant", "Refresh token is invalid or expired.")
        return self.issue_tokens(grant.open_id)

    def issue_tokens(self, open_id: str) -> dict[str, Any]:
        """A new access and refresh token pair for the creator (a grant's answer)."""
        now = time.time()
        access_token = "act." + secrets.token_urlsafe(36)
        refresh_token = "rft." + secrets.token_urlsafe(36)
        self._token_owner[token_key(access_token)] = open_id
        self._token_expiry[token_key(access_token)] = now + self.config.access_token_ttl
        self._refresh[token_key(refresh_token)] = _RefreshGrant(open_id, now + self.config.refresh_token_ttl)
        return {
            "access_token": access_token,
            "expires_in": self.config.access_token_ttl,
            "open_id": open_id,
            "refresh_expires_in": self.config.refresh_token_ttl,
            "refresh_token": refresh_token,
            "scope": SCOPE,
            "token_type": "Bearer",
        }


    # --- the state file -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "creators": [asdict(c) for c in self.creators.values()],
            "token_owners": dict(self._token_owner),
            "token_expiry": dict(self._token_expiry),
            "revoked": sorted(self._revoked),
            "refresh_grants": {key: asdict(grant) for key, grant in self._refresh.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        creators = [Creator(**c) for c in state["creators"]]
        self.creators = {c.open_id: c for c in creators}
        self._token_owner = {str(k): str(v) for k, v in state["token_owners"].items()}
        self._token_expiry = {str(k): float(v) for k, v in state["token_expiry"].items()}
        self._revoked = {str(k) for k in state["revoked"]}
        self._refresh = {str(k): _RefreshGrant(**g) for k, g in state["refresh_grants"].items()}


def default_open_id(access_token: str) -> str:
    """The same token always names the same default creator."""
    return "sbx-" + hashlib.sha256(access_token.encode()).hexdigest()[:32]
