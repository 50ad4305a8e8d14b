"""Connecting an account through the platform's consent screen (OAuth 2.0 authorization code).

The rules here are pure: what a connection in progress is, how its `state` is signed and
read, how a PKCE pair is made. The use case (services/connections.py) runs the flow; the
platform adapters build the authorization URL and exchange the code; the store keeps each
connection in progress so its `state` is redeemed once across every replica.

`state` is `v1.<nonce>.<expiry, unix seconds>.<HMAC-SHA256 of the three, base64url>`: the
expiry travels signed, so an expired or forged state is refused before the store is asked,
and the nonce names the stored row that makes it single-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from server.domain.models import Platform

STATE_VERSION = "v1"
# 192 bits of randomness: a nonce cannot be guessed, and the row it names is the only way in.
_NONCE_BYTES = 24


class PkceMethod(Enum):
    """How a code_challenge is written (RFC 7636 S256). `S256` is RFC 7636's base64url of
    the SHA-256 digest; `S256_HEX` is the same digest in hexadecimal, which TikTok's desktop
    guide shows. Both are sent as code_challenge_method=S256."""

    NONE = "off"
    S256 = "s256"
    S256_HEX = "hex"


@dataclass(frozen=True)
class StartConnection:
    """A StartAccountConnection request in domain terms."""

    platform: Platform | None
    redirect_uri: str
    scopes: tuple[str, ...]
    # Reconnect this account (its id, history and stored refresh token are kept); "" for a new one.
    account_id: str = ""


@dataclass(frozen=True)
class CompleteConnection:
    """A CompleteAccountConnection request: what the platform's redirect carried."""

    state: str
    code: str
    error: str = ""
    error_description: str = ""

    def __repr__(self) -> str:  # the code is a credential until redeemed
        return f"CompleteConnection(error={self.error!r})"


@dataclass(frozen=True)
class PendingConnection:
    """A connection started and not yet completed, as the store keeps it."""

    nonce: str
    workspace_id: str
    platform: Platform
    redirect_uri: str
    scopes: tuple[str, ...]
    account_id: str  # "" unless a reconnect
    pkce: PkceMethod
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Claim:
    """What redeeming a nonce found: the connection (now used), or why not."""

    pending: PendingConnection | None
    already_used: bool = False


@dataclass(frozen=True)
class StartedConnection:
    authorization_url: str
    state: str
    expires_at: datetime
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the consent screen is asked: the platform adapter writes it as a URL."""

    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str = ""  # "" without PKCE


@dataclass(frozen=True)
class ConnectedIdentity:
    """What the code exchange and the profile read gave: who consented, and their tokens."""

    external_account_id: str
    username: str
    access_token: str
    access_expires_in: int  # seconds; 0 = not told
    refresh_token: str  # "" when the platform issues none (Instagram refreshes with the access token)
    refresh_expires_in: int
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:  # tokens never reach a log through a repr
        return f"ConnectedIdentity(external_account_id={self.external_account_id!r}, <tokens redacted>)"


class ExchangeProblem(Enum):
    """Why a platform refused to exchange a code, in the terms the caller can act on."""

    CODE_REJECTED = "code"  # expired, already used, or not issued to this app
    REDIRECT_URI_MISMATCH = "redirect_uri"  # not the URI the consent screen was opened with
    PKCE_REJECTED = "code_verifier"  # the verifier does not match the challenge
    APP_REJECTED = "app"  # the app's client id/key or secret is wrong: the operator's to fix
    UNAVAILABLE = "unavailable"  # no usable answer, a 5xx or a rate limit: try again


class ExchangeFailure(Exception):
    """Raised by a platform adapter when the code exchange or the profile read fails.
    `detail` is the platform's own words (never a secret: the adapters never echo a request)."""

    def __init__(self, problem: ExchangeProblem, detail: str, platform_code: str = "") -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.platform_code = platform_code


def new_nonce() -> str:
    return secrets.token_urlsafe(_NONCE_BYTES)


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_state(key: bytes, nonce: str, expires_at: datetime) -> str:
    body = f"{STATE_VERSION}.{nonce}.{int(expires_at.timestamp())}"
    return f"{body}.{_mac(key, body)}"


@dataclass(frozen=True)
class ReadState:
    nonce: str
    expires_at: datetime
    key: bytes  # the key that signed it: the connection's PKCE verifier is derived under it too


def read_state(keys: Sequence[bytes], state: str) -> ReadState | None:
    """What a state signed under any of `keys` says; None if it is not one."""
    parts = state.split(".")
    if len(parts) != 4 or parts[0] != STATE_VERSION or not parts[2].isdigit() or len(parts[2]) > 12:
        return None
    body = ".".join(parts[:3])
    key = next((k for k in keys if hmac.compare_digest(_mac(k, body), parts[3])), None)
    if key is None:
        return None
    return ReadState(parts[1], datetime.fromtimestamp(int(parts[2]), UTC), key)


def pkce_verifier(key: bytes, nonce: str) -> str:
    """The connection's code_verifier: derived from the server's key and the nonce, so it is
    never stored nor sent anywhere but the token endpoint. 43 characters of RFC 7636's
    unreserved alphabet (base64url of 32 bytes)."""
    digest = hmac.new(key, f"pkce.{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce_challenge(verifier: str, method: PkceMethod) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if method is PkceMethod.S256_HEX:
        return digest.hex()
    if method is PkceMethod.S256:
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return ""
