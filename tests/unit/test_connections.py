"""The connect flows' rules on fakes and a virtual clock (server/domain/connections.py,
server/services/connections.py): the signed state, its expiry and single use, PKCE, what a
refused exchange becomes, and a reconnect that keeps the stored refresh token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from server.domain.connections import (
    AuthorizationRequest,
    CompleteConnection,
    ConnectedIdentity,
    ExchangeFailure,
    ExchangeProblem,
    PkceMethod,
    StartConnection,
    pkce_challenge,
    pkce_verifier,
    read_state,
    sign_state,
)
from server.domain.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable
from server.domain.models import Platform
from server.services.connections import ConnectionPolicy, Connections
from tests.fakes import FakeClock, FakeStore

WORKSPACE = "ws"
REDIRECT = "https://app.example.com/cb"


class FakeConnector:
    """A platform's consent screen and code exchange, scripted: `grants` are handed out in
    order, `failure` is raised instead when set; every exchange is recorded."""

    def __init__(self, pkce: PkceMethod = PkceMethod.NONE) -> None:
        self.pkce = pkce
        self.default_scopes = ("video.publish",)
        self.missing_setting = ""
        self.grants: list[ConnectedIdentity] = []
        self.failure: ExchangeFailure | None = None
        self.exchanges: list[tuple[str, str, str]] = []

    def authorize_url(self, request: AuthorizationRequest) -> str:
        challenge = f"&code_challenge={request.code_challenge}" if request.code_challenge else ""
        return f"https://consent.example/?state={request.state}{challenge}"

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> ConnectedIdentity:
        self.exchanges.append((code, redirect_uri, code_verifier))
        await asyncio.sleep(0)
        if self.failure is not None:
            raise self.failure
        return self.grants.pop(0)


def grant(refresh: str = "refresh-1", open_id: str = "open-1") -> ConnectedIdentity:
    return ConnectedIdentity(
        external_account_id=open_id, username="maple", access_token="access", access_expires_in=7200,
        refresh_token=refresh, refresh_expires_in=86400 * 180,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> FakeStore:
    return FakeStore(clock=clock.now)


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector()


@pytest.fixture
def flows(store: FakeStore, connector: FakeConnector, clock: FakeClock) -> Connections:
    return Connections(
        store.connections, store.accounts, {Platform.TIKTOK: connector}, clock,
        ConnectionPolicy(state_ttl=timedelta(minutes=10)),
    )


async def started_state(flows: Connections, account_id: str = "") -> str:
    started = await flows.start(WORKSPACE, StartConnection(Platform.TIKTOK, REDIRECT, (), account_id))
    return started.state


# --- the state -------------------------------------------------------------------------------


def test_a_state_reads_back_under_its_key_and_any_listed_one(clock: FakeClock) -> None:
    old, new = b"o" * 32, b"n" * 32
    expires = clock.now() + timedelta(minutes=10)
    state = sign_state(old, "nonce-1", expires)
    read = read_state([old], state)
    assert read is not None and (read.nonce, read.expires_at) == ("nonce-1", expires.replace(microsecond=0))
    rotated = read_state([new, old], state)  # a rotation keeps states in flight good
    assert rotated is not None and rotated.key == old  # and their PKCE verifiers: derived under `old`
    assert read_state([new], state) is None


@pytest.mark.parametrize("change", [
    lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # the signature
    lambda s: s.replace(".", ".x", 1),  # the nonce
    lambda s: ".".join([*s.split(".")[:2], str(int(s.split(".")[2]) + 3600), s.split(".")[3]]),  # the expiry
    lambda s: "v2" + s[2:],
    lambda s: s + ".more",
    lambda s: "",
])
def test_an_altered_state_reads_as_none(clock: FakeClock, change) -> None:
    key = b"k" * 32
    state = sign_state(key, "nonce-1", clock.now())
    assert read_state([key], change(state)) is None


async def test_a_state_expires_after_the_policy_ttl(flows, connector, clock) -> None:
    state = await started_state(flows)
    clock.advance(600)
    with pytest.raises(FailedPrecondition) as caught:
        await flows.complete(WORKSPACE, CompleteConnection(state, "code"))
    assert caught.value.reason == "CONNECTION_STATE_EXPIRED"
    assert caught.value.metadata["field"] == "state"
    assert connector.exchanges == []


async def test_a_state_just_before_expiry_completes(flows, connector, clock) -> None:
    connector.grants.append(grant())
    state = await started_state(flows)
    clock.advance(599)
    done = await flows.complete(WORKSPACE, CompleteConnection(state, "code"))
    assert done.account.external_account_id == "open-1" and not done.reconnected


async def test_concurrent_completions_of_one_state_exchange_once(flows, connector) -> None:
    connector.grants.extend([grant(), grant()])
    state = await started_state(flows)
    outcomes = await asyncio.gather(
        *(flows.complete(WORKSPACE, CompleteConnection(state, "code")) for _ in range(5)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 4 and {e.reason for e in refused} == {"CONNECTION_STATE_USED"}
    assert len(connector.exchanges) == 1


async def test_a_state_of_another_workspace_is_invalid(flows, connector) -> None:
    state = await started_state(flows)
    with pytest.raises(InvalidArgument) as caught:
        await flows.complete("other-ws", CompleteConnection(state, "code"))
    assert caught.value.reason == "CONNECTION_STATE_INVALID"


# --- PKCE --------------------------------------------------------------------------------------


def test_pkce_challenge_is_rfc_7636_s256_or_its_hex_digest() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    assert pkce_challenge(verifier, PkceMethod.S256) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce_challenge(verifier, PkceMethod.S256_HEX) == hashlib.sha256(verifier.encode()).hexdigest()
    assert pkce_challenge(verifier, PkceMethod.NONE) == ""


def test_pkce_verifier_is_43_unreserved_characters_per_connection() -> None:
    first, second = pkce_verifier(b"k" * 32, "nonce-1"), pkce_verifier(b"k" * 32, "nonce-2")
    assert len(first) == 43 and first != second
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert pkce_verifier(b"k" * 32, "nonce-1") == first


async def test_the_exchange_sends_the_verifier_of_the_challenge_it_showed(store, clock) -> None:
    connector = FakeConnector(PkceMethod.S256)
    connector.grants.append(grant())
    flows = Connections(store.connections, store.accounts, {Platform.TIKTOK: connector}, clock)
    started = await flows.start(WORKSPACE, StartConnection(Platform.TIKTOK, REDIRECT, ()))
    challenge = parse_qs(urlsplit(started.authorization_url).query)["code_challenge"][0]
    await flows.complete(WORKSPACE, CompleteConnection(started.state, "code"))
    (_, redirect_uri, verifier), = connector.exchanges
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    assert redirect_uri == REDIRECT


async def test_a_key_rotation_mid_connection_keeps_its_verifier(store, clock) -> None:
    connector = FakeConnector(PkceMethod.S256)
    connector.grants.append(grant())
    flows = Connections(store.connections, store.accounts, {Platform.TIKTOK: connector}, clock)
    started = await flows.start(WORKSPACE, StartConnection(Platform.TIKTOK, REDIRECT, ()))
    challenge = parse_qs(urlsplit(started.authorization_url).query)["code_challenge"][0]
    store.connections.rotate(b"n" * 32)  # a new sealing key goes first; the old one still opens
    await flows.complete(WORKSPACE, CompleteConnection(started.state, "code"))
    (_, _, verifier), = connector.exchanges
    assert pkce_challenge(verifier, PkceMethod.S256) == challenge


# --- reconnects --------------------------------------------------------------------------------


async def test_a_reconnect_keeps_the_stored_refresh_token_when_the_grant_has_none(
    flows, connector, store, clock
) -> None:
    connector.grants.extend([grant("refresh-1"), grant(""), grant("refresh-2")])
    first = await flows.complete(WORKSPACE, CompleteConnection(await started_state(flows), "c1"))
    clock.advance(60)
    again = await flows.complete(WORKSPACE, CompleteConnection(await started_state(flows), "c2"))
    assert again.account.id == first.account.id and again.reconnected
    assert again.account.has_refresh_token
    assert again.account.refresh_token_expires_at == first.account.refresh_token_expires_at
    credentials = await store.accounts.credentials(first.account.id)
    assert credentials is not None and credentials.refresh_token == "refresh-1"
    third = await flows.complete(WORKSPACE, CompleteConnection(await started_state(flows), "c3"))
    credentials = await store.accounts.credentials(third.account.id)
    assert credentials is not None and credentials.refresh_token == "refresh-2"


async def test_a_named_reconnect_by_another_user_writes_nothing(flows, connector, store) -> None:
    connector.grants.extend([grant(open_id="alice"), grant(open_id="bob")])
    alice = await flows.complete(WORKSPACE, CompleteConnection(await started_state(flows), "c1"))
    state = await started_state(flows, account_id=alice.account.id)
    with pytest.raises(FailedPrecondition) as caught:
        await flows.complete(WORKSPACE, CompleteConnection(state, "c2"))
    assert caught.value.reason == "CONNECTION_ACCOUNT_MISMATCH"
    assert len(store.accounts.rows) == 1


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("problem", "error", "reason", "field"), [
    (ExchangeProblem.CODE_REJECTED, FailedPrecondition, "AUTHORIZATION_CODE_REJECTED", "code"),
    (ExchangeProblem.REDIRECT_URI_MISMATCH, FailedPrecondition, "REDIRECT_URI_MISMATCH", "redirect_uri"),
    (ExchangeProblem.PKCE_REJECTED, FailedPrecondition, "PKCE_REJECTED", "code"),
    (ExchangeProblem.APP_REJECTED, FailedPrecondition, "CONNECTION_APP_REJECTED", None),
    (ExchangeProblem.UNAVAILABLE, Unavailable, "CONNECTION_PLATFORM_UNAVAILABLE", None),
])
async def test_a_refused_exchange_says_what_to_fix(flows, connector, problem, error, reason, field) -> None:
    connector.failure = ExchangeFailure(problem, "invalid_grant: Authorization code is expired.", "invalid_grant")
    with pytest.raises(error) as caught:
        await flows.complete(WORKSPACE, CompleteConnection(await started_state(flows), "the-secret-code"))
    assert caught.value.reason == reason
    assert caught.value.metadata.get("field") == field
    assert "the-secret-code" not in str(caught.value)


async def test_every_bad_field_of_a_completion_is_named(flows) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await flows.complete(WORKSPACE, CompleteConnection("", "", error="x" * 200))
    assert {v.field for v in caught.value.field_violations} == {"state", "error"}
    with pytest.raises(InvalidArgument) as caught:
        await flows.complete(WORKSPACE, CompleteConnection("s", ""))
    assert {v.field for v in caught.value.field_violations} == {"code"}


async def test_an_unconfigured_platform_names_its_setting(store, clock) -> None:
    connector = FakeConnector()
    connector.missing_setting = "DISTRIBUTION_TIKTOK_CLIENT_KEY"
    flows = Connections(store.connections, store.accounts, {Platform.TIKTOK: connector}, clock)
    with pytest.raises(FailedPrecondition) as caught:
        await flows.start(WORKSPACE, StartConnection(Platform.TIKTOK, REDIRECT, ()))
    assert caught.value.reason == "CONNECTION_NOT_CONFIGURED"
    assert "DISTRIBUTION_TIKTOK_CLIENT_KEY" in caught.value.message
    with pytest.raises(FailedPrecondition):
        await flows.start(WORKSPACE, StartConnection(Platform.INSTAGRAM, REDIRECT, ()))
