"""What both emulators' consent screens share (README.md, "Connecting accounts").

On loopback nobody clicks: the authorize step approves at once and redirects to the
redirect_uri with a code and the caller's state, as the platform does after the user's
consent. Two query parameters of the sandbox's own choose what the user does:
`sandbox_user=<name>` signs in as that user (each name is its own platform user, the same
on every start), and `sandbox_decision=deny` refuses consent. Codes are single-use and
expire; only their SHA-256 is kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from server.sandbox.persist import token_key

DEFAULT_USER = "sandbox_creator"
_USER_RE = re.compile(r"[A-Za-z0-9._]{1,30}")


@dataclass(frozen=True)
class IssuedCode:
    user: str
    client_id: str
    redirect_uri: str
    scopes: str
    code_challenge: str
    expires_at: float  # wall clock


class CodeBook:
    """Authorization codes issued and not yet redeemed, by their hash."""

    def __init__(self) -> None:
        self._codes: dict[str, IssuedCode] = {}

    def issue(self, prefix: str, issued: IssuedCode) -> str:
        now = time.time()
        self._codes = {k: c for k, c in self._codes.items() if c.expires_at > now - 3600}
        code = prefix + secrets.token_urlsafe(32)
        self._codes[token_key(code)] = issued
        return code

    def redeem(self, code: str) -> IssuedCode | None:
        """The code's grant, spent by this call; None if unknown or already spent."""
        return self._codes.pop(token_key(code), None)


def user_of(query: Mapping[str, str]) -> str:
    """Who signs in on the consent screen (sandbox_user), checked like a handle."""
    name = query.get("sandbox_user", "") or DEFAULT_USER
    if not _USER_RE.fullmatch(name):
        raise ValueError("sandbox_user must be 1 to 30 letters, digits, dots or underscores")
    return name


def denies(query: Mapping[str, str]) -> bool:
    return query.get("sandbox_decision", "").lower() == "deny"


def redirect_problem(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "redirect_uri must be an absolute http(s) URL"
    if parts.fragment:
        return "redirect_uri must not have a fragment"
    return ""


def redirect(redirect_uri: str, params: Mapping[str, str], fragment: str = "") -> web.Response:
    """302 to redirect_uri with `params` added to its query."""
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    location = f"{redirect_uri}{joiner}{urlencode(params)}{fragment}"
    return web.Response(status=302, headers={"Location": location}, text=f"Redirecting to {location}\n")


def stable_digits(user: str, count: int) -> str:
    """Digits naming a sandbox user, the same on every start."""
    number = int(hashlib.sha256(f"user:{user}".encode()).hexdigest(), 16)
    return str(number)[:count].rjust(count, "0")


def challenge_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256 (base64url of the SHA-256 digest) or the same digest in hexadecimal,
    which TikTok's desktop guide shows; the emulator takes either."""
    digest = hashlib.sha256(verifier.encode()).digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(encoded, challenge) or hmac.compare_digest(digest.hex(), challenge.lower())
