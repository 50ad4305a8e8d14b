"""The ConnectionStore contract (server/domain/ports.py) on every store: a connection in
progress is claimed once, whatever the number of concurrent claimants, only by its own
workspace; expired ones are forgotten; the signing keys are the store's own and stable."""

from __future__ import annotations

import asyncio
import uuid

from server.domain.connections import PendingConnection, PkceMethod, new_nonce
from server.domain.models import NewAccount, Platform
from server.domain.ports import Store
from tests.contracts.records import at


def pending(created: int = 0, workspace: str = "ws", ttl: int = 600, account_id: str = "") -> PendingConnection:
    return PendingConnection(
        nonce=new_nonce(), workspace_id=workspace, platform=Platform.TIKTOK,
        redirect_uri="https://app.example.com/cb?x=1", scopes=("user.info.basic", "video.publish"),
        account_id=account_id, pkce=PkceMethod.S256, created_at=at(created), expires_at=at(created + ttl),
    )


async def test_a_connection_comes_back_whole_once(store: Store) -> None:
    account_id = str(uuid.uuid4())
    kept = pending(account_id=account_id)
    await store.connections.add(kept)
    claim = await store.connections.claim("ws", kept.nonce, at(5))
    assert claim.pending == kept and not claim.already_used
    again = await store.connections.claim("ws", kept.nonce, at(6))
    assert again.pending is None and again.already_used


async def test_concurrent_claims_give_it_to_one(store: Store) -> None:
    kept = pending()
    await store.connections.add(kept)
    claims = await asyncio.gather(*(store.connections.claim("ws", kept.nonce, at(1)) for _ in range(6)))
    assert [c.pending for c in claims].count(kept) == 1
    assert sum(c.already_used for c in claims) == 5


async def test_another_workspace_or_an_unknown_nonce_gets_nothing_and_spends_nothing(store: Store) -> None:
    kept = pending()
    await store.connections.add(kept)
    stranger = await store.connections.claim("other", kept.nonce, at(1))
    assert stranger.pending is None and not stranger.already_used
    unknown = await store.connections.claim("ws", new_nonce(), at(1))
    assert unknown.pending is None and not unknown.already_used
    assert (await store.connections.claim("ws", kept.nonce, at(2))).pending == kept


async def test_connections_expired_before_a_new_one_are_forgotten(store: Store) -> None:
    old, live = pending(created=0, ttl=60), pending(created=30, ttl=600)
    await store.connections.add(old)
    await store.connections.add(live)
    await store.connections.add(pending(created=120))
    assert (await store.connections.claim("ws", old.nonce, at(121))).pending is None
    assert (await store.connections.claim("ws", live.nonce, at(121))).pending == live


async def test_the_signing_keys_are_32_bytes_and_stable(store: Store) -> None:
    keys = list(store.connections.signing_keys)
    assert keys and all(len(k) >= 32 for k in keys)
    assert list(store.connections.signing_keys) == keys


async def test_a_reconnect_may_keep_the_stored_refresh_token(store: Store) -> None:
    def new(refresh: str | None, keep: bool, expires: int | None) -> NewAccount:
        return NewAccount(
            workspace_id="ws", platform=Platform.TIKTOK, external_account_id="open-1", username="maple",
            access_token="access", refresh_token=refresh, access_token_expires_at=None,
            refresh_token_expires_at=at(expires) if expires is not None else None, keep_refresh_token=keep,
        )

    first = await store.accounts.upsert(new("refresh-1", False, 1000))
    kept = await store.accounts.upsert(new(None, True, None))
    assert kept.id == first.id and kept.has_refresh_token
    assert kept.refresh_token_expires_at == at(1000)
    credentials = await store.accounts.credentials(first.id)
    assert credentials is not None and credentials.refresh_token == "refresh-1"
    replaced = await store.accounts.upsert(new("refresh-2", True, 2000))
    assert replaced.refresh_token_expires_at == at(2000)
    credentials = await store.accounts.credentials(first.id)
    assert credentials is not None and credentials.refresh_token == "refresh-2"
    erased = await store.accounts.upsert(new(None, False, None))
    assert not erased.has_refresh_token and erased.refresh_token_expires_at is None
