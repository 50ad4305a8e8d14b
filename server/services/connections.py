"""Connecting an account through the platform's consent screen: StartAccountConnection and
CompleteAccountConnection (docs/accounts.md, "Connecting an account").

Start answers the consent screen's URL with a signed `state` that expires and is kept in the
store; complete verifies the state, claims it (once, across replicas), exchanges the code
through the platform's adapter and creates or reconnects the account. A reconnect keeps the
account's id and history (the store's upsert keys on the platform's user id) and its stored
refresh token when the new grant carries none. App credentials live in the adapters; no
error here quotes a token, a code or a secret.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from server.domain.connections import (
    AuthorizationRequest,
    CompleteConnection,
    ConnectedIdentity,
    ExchangeFailure,
    ExchangeProblem,
    PendingConnection,
    PkceMethod,
    StartConnection,
    StartedConnection,
    new_nonce,
    pkce_challenge,
    pkce_verifier,
    read_state,
    sign_state,
)
from server.domain.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    Unavailable,
    invalid,
)
from server.domain.limits import MAX_ID_LENGTH, MAX_TOKEN_LENGTH
from server.domain.models import Account, NewAccount, Platform
from server.domain.ports import AccountConnector, AccountStore, Clock, ConnectionStore
from server.domain.validation import canonical_id, id_violation
from server.services.account_health import AccountHealthReader
from server.services.accounts import account_not_found

log = logging.getLogger("distribution.connections")

MAX_REDIRECT_URI_LENGTH = 2048
MAX_SCOPES = 20
MAX_SCOPE_LENGTH = 100
MAX_STATE_LENGTH = 200
MAX_ERROR_DESCRIPTION = 300
_LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ConnectionPolicy:
    """How long a started connection may be completed, and which redirect URIs callers may
    use (prefixes; empty = any https URI, or http on a loopback host)."""

    state_ttl: timedelta = timedelta(minutes=10)
    allowed_redirect_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletedConnection:
    account: Account
    reconnected: bool


class Connections:
    def __init__(
        self,
        store: ConnectionStore,
        accounts: AccountStore,
        connectors: Mapping[Platform, AccountConnector],
        clock: Clock,
        policy: ConnectionPolicy = ConnectionPolicy(),
        health: AccountHealthReader | None = None,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._connectors = dict(connectors)
        self._clock = clock
        self._policy = policy
        # States the connected account's health, as every account a call returns carries it.
        self._health = health

    async def start(self, workspace_id: str, req: StartConnection) -> StartedConnection:
        violations = self._start_violations(req)
        if violations:
            raise invalid(violations)
        assert req.platform is not None
        connector = self._connector(req.platform)
        account_id = ""
        if req.account_id:
            account_id = await self._reconnected_account(workspace_id, req.platform, req.account_id)
        scopes = req.scopes or connector.default_scopes
        now = self._clock.now()
        expires_at = now + self._policy.state_ttl
        nonce = new_nonce()
        key = self._store.signing_keys[0]
        state = sign_state(key, nonce, expires_at)
        challenge = pkce_challenge(pkce_verifier(key, nonce), connector.pkce)
        await self._store.add(
            PendingConnection(
                nonce=nonce, workspace_id=workspace_id, platform=req.platform, redirect_uri=req.redirect_uri,
                scopes=scopes, account_id=account_id, pkce=connector.pkce, created_at=now, expires_at=expires_at,
            )
        )
        url = connector.authorize_url(AuthorizationRequest(req.redirect_uri, scopes, state, challenge))
        log.info("account connection started", extra={"platform": req.platform.value, "reconnect": bool(account_id)})
        return StartedConnection(authorization_url=url, state=state, expires_at=expires_at, scopes=scopes)

    async def complete(self, workspace_id: str, req: CompleteConnection) -> CompletedConnection:
        violations = _complete_violations(req)
        if violations:
            raise invalid(violations)
        pending, key = await self._redeem(workspace_id, req.state)
        if req.error:
            log.info("account connection refused at the consent screen",
                     extra={"platform": pending.platform.value, "error": req.error[:40]})
            raise _consent_refused(req)
        connector = self._connector(pending.platform)
        uses_pkce = pending.pkce is not PkceMethod.NONE
        verifier = pkce_verifier(key, pending.nonce) if uses_pkce else ""
        try:
            identity = await connector.exchange(req.code, pending.redirect_uri, verifier)
        except ExchangeFailure as failure:
            log.warning("account connection: the platform refused the code exchange",
                        extra={"platform": pending.platform.value, "problem": failure.problem.value,
                               "platform_code": failure.platform_code})
            raise _exchange_error(pending.platform, failure) from None
        previous = await self._previous(workspace_id, pending, identity)
        now = self._clock.now()
        account = await self._accounts.upsert(
            NewAccount(
                workspace_id=workspace_id,
                platform=pending.platform,
                external_account_id=identity.external_account_id,
                username=identity.username,
                access_token=identity.access_token,
                refresh_token=identity.refresh_token or None,
                access_token_expires_at=now + timedelta(seconds=identity.access_expires_in)
                if identity.access_expires_in > 0 else None,
                refresh_token_expires_at=now + timedelta(seconds=identity.refresh_expires_in)
                if identity.refresh_token and identity.refresh_expires_in > 0 else None,
                keep_refresh_token=True,
            )
        )
        # The store's upsert keeps an existing account's creation time: a later one means an
        # account of this platform user was there already (named or not), now reconnected.
        reconnected = previous is not None or account.created_at != account.updated_at
        log.info("account connected", extra={"platform": pending.platform.value, "account_id": account.id,
                                              "reconnected": reconnected})
        if self._health is not None:
            account = await self._health.attach_one(account)
        return CompletedConnection(account, reconnected=reconnected)

    # --- start ------------------------------------------------------------------------------

    def _start_violations(self, req: StartConnection) -> list[FieldViolation]:
        violations: list[FieldViolation] = []
        if req.platform is None:
            violations.append(FieldViolation("platform", "is required (PLATFORM_INSTAGRAM or PLATFORM_TIKTOK)"))
        problem = self._redirect_problem(req.redirect_uri)
        if problem:
            violations.append(FieldViolation("redirect_uri", problem))
        if len(req.scopes) > MAX_SCOPES:
            violations.append(FieldViolation("scopes", f"takes at most {MAX_SCOPES} scopes; got {len(req.scopes)}"))
        for i, scope in enumerate(req.scopes[:MAX_SCOPES]):
            if not scope or len(scope) > MAX_SCOPE_LENGTH or not scope.isascii() or not scope.isprintable() \
                    or any(c in scope for c in " ,&#?="):
                violations.append(FieldViolation(
                    f"scopes[{i}]", f"must be a platform scope name (e.g. video.publish): 1 to {MAX_SCOPE_LENGTH} "
                    "printable ASCII characters without spaces or commas",
                ))
        if req.account_id:
            violation = id_violation("account_id", canonical_id(req.account_id), "an account id")
            if violation is not None:
                violations.append(violation)
        return violations

    def _redirect_problem(self, uri: str) -> str:
        if not uri:
            return "is required: the URL the platform sends the user back to (registered with the platform's app)"
        if len(uri) > MAX_REDIRECT_URI_LENGTH or not uri.isascii() or not uri.isprintable() or " " in uri:
            return f"must be an absolute URL of at most {MAX_REDIRECT_URI_LENGTH} printable ASCII characters"
        try:
            parts = urlsplit(uri)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            return "is not a valid URL"
        if parts.scheme not in ("https", "http") or not host:
            return "must be an absolute https URL (http only on a loopback host)"
        if parts.fragment or "#" in uri:
            return "must not carry a fragment (#...): the platform appends the code and state as query parameters"
        if parts.scheme == "http" and not _loopback(host):
            return "must use https (http is taken only for a loopback host such as 127.0.0.1 or localhost)"
        allowed = self._policy.allowed_redirect_prefixes
        if allowed and not any(uri.startswith(prefix) for prefix in allowed):
            return "is not one of the redirect URIs this service allows (DISTRIBUTION_CONNECT_REDIRECT_URIS)"
        return ""

    def _connector(self, platform: Platform) -> AccountConnector:
        connector = self._connectors.get(platform)
        if connector is None or connector.missing_setting:
            setting = connector.missing_setting if connector is not None else "its app credentials"
            raise FailedPrecondition(
                reason="CONNECTION_NOT_CONFIGURED",
                message=f"This service cannot connect {platform.value.title()} accounts until its operator sets "
                f"{setting}; until then connect accounts with ConnectAccount",
                metadata={"platform": platform.value, "setting": setting},
            )
        return connector

    async def _reconnected_account(self, workspace_id: str, platform: Platform, account_id: str) -> str:
        account_id = canonical_id(account_id)
        account = await self._accounts.get(workspace_id, account_id)
        if account is None:
            raise account_not_found(account_id, "account_id")
        if account.platform != platform:
            raise invalid([FieldViolation(
                "account_id", f"names a {account.platform.value.title()} account, not a "
                f"{platform.value.title()} one: give the platform it lives on",
            )])
        return account.id

    # --- complete ---------------------------------------------------------------------------

    async def _redeem(self, workspace_id: str, state: str) -> tuple[PendingConnection, bytes]:
        """The connection `state` names, spent, and the key that signed it."""
        read = read_state(self._store.signing_keys, state)
        if read is None:
            raise _bad_state("is not a state this service issued (it must be passed back exactly as issued)")
        nonce, expires_at = read.nonce, read.expires_at
        if expires_at <= self._clock.now():
            raise FailedPrecondition(
                reason="CONNECTION_STATE_EXPIRED",
                message=f"The state expired at {expires_at.isoformat()}: the connection took longer than "
                f"{int(self._policy.state_ttl.total_seconds())} seconds; start it again with StartAccountConnection",
                metadata={"field": "state", "expire_time": expires_at.isoformat()},
                field_violations=[FieldViolation("state", "has expired")],
            )
        claim = await self._store.claim(workspace_id, nonce, self._clock.now())
        if claim.already_used:
            raise FailedPrecondition(
                reason="CONNECTION_STATE_USED",
                message="This state was already used to complete a connection (each is good for one "
                "CompleteAccountConnection); start a new connection with StartAccountConnection",
                metadata={"field": "state"},
                field_violations=[FieldViolation("state", "was already used")],
            )
        if claim.pending is None:
            raise _bad_state("was not issued to this workspace (or its connection is long gone)")
        return claim.pending, read.key

    async def _previous(
        self, workspace_id: str, pending: PendingConnection, identity: ConnectedIdentity
    ) -> Account | None:
        """The account a reconnect names, if any. A reconnect of a named account must
        come back with the same platform user: else another person's account would be
        written over it."""
        if pending.account_id:
            named = await self._accounts.get(workspace_id, pending.account_id)
            if named is None:
                raise account_not_found(pending.account_id, "account_id")
            if named.external_account_id != identity.external_account_id:
                raise FailedPrecondition(
                    reason="CONNECTION_ACCOUNT_MISMATCH",
                    message=f"The {pending.platform.value.title()} user who gave consent is not the one of account "
                    f"{named.id} ({named.username or named.external_account_id}); nothing was changed. Sign in "
                    "as that user on the consent screen, or start a connection without account_id to add "
                    "the other account",
                    metadata={"account_id": named.id, "field": "account_id"},
                )
            return named
        return None


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _complete_violations(req: CompleteConnection) -> list[FieldViolation]:
    violations = []
    if not req.state:
        violations.append(FieldViolation("state", "is required: the state the platform's redirect carried"))
    elif len(req.state) > MAX_STATE_LENGTH:
        violations.append(FieldViolation("state", f"must be at most {MAX_STATE_LENGTH} characters, as issued"))
    if not req.error and not req.code:
        violations.append(FieldViolation(
            "code", "is required: the code the platform's redirect carried (or pass its error when consent was refused)"
        ))
    elif len(req.code) > MAX_TOKEN_LENGTH or (req.code and not (req.code.isascii() and req.code.isprintable())):
        violations.append(FieldViolation("code", f"must be at most {MAX_TOKEN_LENGTH} printable ASCII characters, "
                                                 "as the platform issued it"))
    if len(req.error) > MAX_ID_LENGTH or not req.error.isprintable():
        violations.append(FieldViolation("error", f"must be at most {MAX_ID_LENGTH} printable characters"))
    return violations


def _bad_state(why: str) -> InvalidArgument:
    return InvalidArgument(
        reason="CONNECTION_STATE_INVALID",
        message=f"Invalid request: state: {why}",
        field_violations=[FieldViolation("state", why)],
    )


def _consent_refused(req: CompleteConnection) -> FailedPrecondition:
    description = "".join(c for c in req.error_description[:MAX_ERROR_DESCRIPTION] if c.isprintable())
    said = f" ({description})" if description else ""
    return FailedPrecondition(
        reason="CONNECTION_CONSENT_DENIED",
        message=f"The user did not give consent on the platform's screen: {req.error}{said}. Nothing was "
        "connected; start again with StartAccountConnection if they change their mind",
        metadata={"field": "error", "error": req.error},
        field_violations=[FieldViolation("error", "the user refused consent")],
    )


def _exchange_error(platform: Platform, failure: ExchangeFailure) -> DomainError:
    name = platform.value.title()
    said = f" ({name} said: {failure.detail[:MAX_ERROR_DESCRIPTION]})" if failure.detail else ""
    metadata = {"platform": platform.value, "platform_code": failure.platform_code}
    match failure.problem:
        case ExchangeProblem.CODE_REJECTED:
            return FailedPrecondition(
                reason="AUTHORIZATION_CODE_REJECTED",
                message=f"{name} refused the authorization code: it expired, was already used, or was not issued "
                f"for this connection{said}; start again with StartAccountConnection",
                metadata={**metadata, "field": "code"}, field_violations=[FieldViolation("code", "was refused")],
            )
        case ExchangeProblem.REDIRECT_URI_MISMATCH:
            return FailedPrecondition(
                reason="REDIRECT_URI_MISMATCH",
                message=f"{name} refused the redirect_uri: it must be registered with the app and be exactly the "
                f"one the consent screen was opened with{said}",
                metadata={**metadata, "field": "redirect_uri"},
                field_violations=[FieldViolation("redirect_uri", "was refused by the platform")],
            )
        case ExchangeProblem.PKCE_REJECTED:
            return FailedPrecondition(
                reason="PKCE_REJECTED",
                message=f"{name} refused the PKCE code_verifier{said}; check DISTRIBUTION_TIKTOK_PKCE against the "
                "app's type, then start again",
                metadata={**metadata, "field": "code"},
            )
        case ExchangeProblem.APP_REJECTED:
            return FailedPrecondition(
                reason="CONNECTION_APP_REJECTED",
                message=f"{name} refused this service's app credentials{said}; the operator must check them",
                metadata=metadata,
            )
        case _:
            return Unavailable(
                reason="CONNECTION_PLATFORM_UNAVAILABLE",
                message=f"{name} could not exchange the code just now{said}; start the connection again shortly",
                metadata=metadata,
            )
