"""The AccountStore contract: what every account store does (server/domain/ports.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

from server.domain.models import AccountState, Credentials, Platform
from server.domain.ports import Store
from tests.contracts.records import OTHER_WORKSPACE, WORKSPACE, account_in, new_account

EXPIRES = datetime(2030, 5, 6, 7, 8, 9, 654321, tzinfo=UTC)


async def test_upsert_connects_an_active_account(store: Store) -> None:
    account = await store.accounts.upsert(
        new_account(username="demo", access_token="a1", refresh_token="r1", access_token_expires_at=EXPIRES,
                    refresh_token_expires_at=EXPIRES + timedelta(days=300))
    )
    assert uuid.UUID(account.id)
    assert (account.workspace_id, account.platform, account.external_account_id, account.username) == (
        WORKSPACE, Platform.INSTAGRAM, "17841400000000001", "demo"
    )
    assert account.state == AccountState.ACTIVE
    assert account.has_refresh_token
    assert account.access_token_expires_at == EXPIRES
    assert account.refresh_token_expires_at == EXPIRES + timedelta(days=300)
    assert account.created_at == account.updated_at
    assert account.created_at.tzinfo is not None
    assert await store.accounts.get(WORKSPACE, account.id) == account


async def test_get_sees_only_its_own_workspace(store: Store) -> None:
    account = await account_in(store)
    assert await store.accounts.get(OTHER_WORKSPACE, account.id) is None
    assert await store.accounts.get(WORKSPACE, str(uuid.uuid4())) is None


async def test_reconnect_keeps_the_id_and_takes_the_new_tokens(store: Store) -> None:
    first = await account_in(store, username="old", access_token="a1", refresh_token="r1")
    await store.accounts.mark_needs_reconnect(first.id)
    again = await account_in(store, username="new", access_token="a2", refresh_token="r2",
                             access_token_expires_at=EXPIRES)
    assert again.id == first.id
    assert again.username == "new"
    assert again.state == AccountState.ACTIVE
    assert again.created_at == first.created_at
    assert again.updated_at >= first.updated_at
    assert again.access_token_expires_at == EXPIRES
    credentials = await store.accounts.credentials(first.id)
    assert credentials is not None
    assert (credentials.access_token, credentials.refresh_token) == ("a2", "r2")


async def test_reconnect_without_a_refresh_token_drops_the_old_one(store: Store) -> None:
    first = await account_in(store, refresh_token="r1")
    again = await account_in(store, refresh_token=None)
    assert again.id == first.id
    assert not again.has_refresh_token
    credentials = await store.accounts.credentials(first.id)
    assert credentials is not None
    assert credentials.refresh_token is None


async def test_the_same_external_id_elsewhere_is_another_account(store: Store) -> None:
    instagram = await account_in(store, external_account_id="123")
    tiktok = await account_in(store, external_account_id="123", platform=Platform.TIKTOK)
    other_workspace = await account_in(store, external_account_id="123", workspace_id=OTHER_WORKSPACE)
    assert len({instagram.id, tiktok.id, other_workspace.id}) == 3


async def test_credentials_are_the_tokens_as_given(store: Store) -> None:
    with_refresh = await account_in(store, external_account_id="1", access_token="a-1", refresh_token="r-1")
    without_refresh = await account_in(store, external_account_id="2", access_token="a-2", refresh_token=None)
    empty_refresh = await account_in(store, external_account_id="3", access_token="a-3", refresh_token="")
    assert await store.accounts.credentials(with_refresh.id) == Credentials("a-1", "r-1")
    assert await store.accounts.credentials(without_refresh.id) == Credentials("a-2", None)
    assert await store.accounts.credentials(empty_refresh.id) == Credentials("a-3", None)
    assert not empty_refresh.has_refresh_token
    assert await store.accounts.credentials(str(uuid.uuid4())) is None


async def test_save_tokens_stores_the_pair_and_expiries_in_one_write(store: Store) -> None:
    account = await account_in(store, platform=Platform.TIKTOK, external_account_id="oid",
                               access_token="a1", refresh_token="r1")
    await store.accounts.save_tokens(
        account.id, access_token="a2", refresh_token="r2", access_token_expires_at=EXPIRES,
        refresh_token_expires_at=EXPIRES + timedelta(days=1),
    )
    assert await store.accounts.credentials(account.id) == Credentials("a2", "r2")
    saved = await store.accounts.get(WORKSPACE, account.id)
    assert saved is not None
    assert saved.access_token_expires_at == EXPIRES
    assert saved.refresh_token_expires_at == EXPIRES + timedelta(days=1)
    assert saved.updated_at >= account.updated_at
    assert (saved.id, saved.created_at, saved.state) == (account.id, account.created_at, AccountState.ACTIVE)


async def test_save_tokens_without_a_refresh_token_clears_it(store: Store) -> None:
    account = await account_in(store, refresh_token="r1", access_token_expires_at=EXPIRES)
    await store.accounts.save_tokens(
        account.id, access_token="a2", refresh_token=None, access_token_expires_at=None, refresh_token_expires_at=None
    )
    saved = await store.accounts.get(WORKSPACE, account.id)
    assert saved is not None
    assert not saved.has_refresh_token
    assert saved.access_token_expires_at is None
    assert await store.accounts.credentials(account.id) == Credentials("a2", None)


async def test_save_tokens_of_an_unknown_account_changes_nothing(store: Store) -> None:
    account = await account_in(store)
    await store.accounts.save_tokens(
        str(uuid.uuid4()), access_token="x", refresh_token=None, access_token_expires_at=None,
        refresh_token_expires_at=None,
    )
    assert await store.accounts.get(WORKSPACE, account.id) == account


async def test_mark_needs_reconnect_changes_only_an_active_account(store: Store) -> None:
    active = await account_in(store, external_account_id="1")
    gone = await account_in(store, external_account_id="2")
    await store.accounts.disconnect(WORKSPACE, gone.id)
    disconnected = await store.accounts.get(WORKSPACE, gone.id)

    await store.accounts.mark_needs_reconnect(active.id)
    marked = await store.accounts.get(WORKSPACE, active.id)
    assert marked is not None
    assert marked.state == AccountState.NEEDS_RECONNECT
    assert marked.updated_at >= active.updated_at
    # Its tokens stay: a reconnect replaces them.
    assert await store.accounts.credentials(active.id) is not None

    await store.accounts.mark_needs_reconnect(active.id)
    assert await store.accounts.get(WORKSPACE, active.id) == marked
    await store.accounts.mark_needs_reconnect(gone.id)
    assert await store.accounts.get(WORKSPACE, gone.id) == disconnected
    await store.accounts.mark_needs_reconnect(str(uuid.uuid4()))  # unknown: nothing happens


async def test_disconnect_erases_the_tokens_and_is_idempotent(store: Store) -> None:
    account = await account_in(store, refresh_token="r1", access_token_expires_at=EXPIRES,
                               refresh_token_expires_at=EXPIRES)
    first = await store.accounts.disconnect(WORKSPACE, account.id)
    assert first is not None
    assert first.id == account.id
    assert first.state == AccountState.DISCONNECTED
    assert not first.has_refresh_token
    assert first.access_token_expires_at is None
    assert first.refresh_token_expires_at is None
    assert await store.accounts.credentials(account.id) is None
    assert await store.accounts.disconnect(WORKSPACE, account.id) == first
    assert await store.accounts.get(WORKSPACE, account.id) == first


async def test_disconnect_of_an_unknown_or_foreign_account_is_none(store: Store) -> None:
    account = await account_in(store)
    assert await store.accounts.disconnect(OTHER_WORKSPACE, account.id) is None
    assert await store.accounts.disconnect(WORKSPACE, str(uuid.uuid4())) is None
    assert (await store.accounts.get(WORKSPACE, account.id)) == account


async def test_reconnect_after_disconnect_is_active_again_with_new_tokens(store: Store) -> None:
    account = await account_in(store)
    await store.accounts.disconnect(WORKSPACE, account.id)
    again = await account_in(store, access_token="fresh")
    assert (again.id, again.state) == (account.id, AccountState.ACTIVE)
    assert await store.accounts.credentials(account.id) == Credentials("fresh", None)


async def test_a_refresh_saved_after_disconnect_does_not_bring_the_tokens_back(store: Store) -> None:
    account = await account_in(store, platform=Platform.TIKTOK, external_account_id="oid", refresh_token="r1")
    await store.accounts.disconnect(WORKSPACE, account.id)
    await store.accounts.save_tokens(
        account.id, access_token="a2", refresh_token="r2", access_token_expires_at=EXPIRES,
        refresh_token_expires_at=None,
    )
    assert await store.accounts.credentials(account.id) is None


async def test_times_keep_microseconds_and_come_back_in_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2030, 1, 1, 14, 0, 0, 1, tzinfo=plus_two)
    ancient = datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    account = await account_in(store, access_token_expires_at=local, refresh_token_expires_at=ancient)
    stored = await store.accounts.get(WORKSPACE, account.id)
    assert stored is not None
    assert stored.access_token_expires_at == datetime(2030, 1, 1, 12, 0, 0, 1, tzinfo=UTC)
    assert stored.access_token_expires_at.utcoffset() == timedelta(0)
    assert stored.refresh_token_expires_at == ancient


async def test_list_pages_newest_first_with_cursors(store: Store) -> None:
    accounts = [await account_in(store, external_account_id=str(i)) for i in range(5)]
    expected = sorted(accounts, key=lambda a: (a.created_at, a.id), reverse=True)
    seen = []
    cursor = None
    while True:
        page = await store.accounts.list_page(WORKSPACE, 2, cursor, None, False)
        seen += [a.id for a, _ in page]
        if len(page) < 2:
            break
        cursor = page[-1][1]
    assert seen == [a.id for a in expected]
    first = await store.accounts.list_page(WORKSPACE, 10, None, None, False)
    assert [c.id for _, c in first] == [a.id for a in expected]
    assert all(c.created_at.endswith("Z") for _, c in first)


async def test_list_filters_by_platform_workspace_and_disconnection(store: Store) -> None:
    instagram = await account_in(store, external_account_id="1")
    tiktok = await account_in(store, external_account_id="oid", platform=Platform.TIKTOK)
    gone = await account_in(store, external_account_id="2")
    await account_in(store, external_account_id="3", workspace_id=OTHER_WORKSPACE)
    await store.accounts.disconnect(WORKSPACE, gone.id)

    async def ids(platform: Platform | None, show_disconnected: bool) -> set[str]:
        return {a.id for a, _ in await store.accounts.list_page(WORKSPACE, 10, None, platform, show_disconnected)}

    assert await ids(None, False) == {instagram.id, tiktok.id}
    assert await ids(None, True) == {instagram.id, tiktok.id, gone.id}
    assert await ids(Platform.INSTAGRAM, False) == {instagram.id}
    assert await ids(Platform.INSTAGRAM, True) == {instagram.id, gone.id}
    assert await ids(Platform.TIKTOK, True) == {tiktok.id}


async def test_concurrent_connects_of_one_account_keep_one_id(store: Store) -> None:
    accounts = await asyncio.gather(*(account_in(store, access_token=f"a{i}") for i in range(5)))
    assert len({a.id for a in accounts}) == 1
    assert len(await store.accounts.list_page(WORKSPACE, 10, None, None, True)) == 1
