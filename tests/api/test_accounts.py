"""AccountService over a real in-process server: connect, reconnect, get, list, disconnect."""

from __future__ import annotations

import base64
import uuid

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1.account_service_pb2 import (
    ConnectAccountRequest,
    DisconnectAccountRequest,
    GetAccountRequest,
    ListAccountsRequest,
)
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest
from google.protobuf import timestamp_pb2

from tests.support.client import connect, images, register
from tests.support.errors import rich_error

INSTAGRAM = account_pb2.PLATFORM_INSTAGRAM
TIKTOK = account_pb2.PLATFORM_TIKTOK
UNKNOWN_ID = "2f1c7a52-5d1e-4c4f-9d0a-8f6b1b2e3c4d"

ACCESS = "ACCESS-TOKEN-a9f3e1c7d2"
REFRESH = "REFRESH-TOKEN-5b8e0f4c61"


def ig_id(n: int) -> str:
    return f"1784140000000{n:04d}"


async def expect_error(call, request, code: grpc.StatusCode):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(request)
    assert info.value.code() == code, info.value.details()
    return rich_error(info.value)


async def list_all(accounts, page_size: int, **filters) -> tuple[list[str], list[int]]:
    """Walks every page; returns the ids in order and the size of each page."""
    ids: list[str] = []
    sizes: list[int] = []
    token = ""
    for _ in range(50):
        page = await accounts.ListAccounts(ListAccountsRequest(page_size=page_size, page_token=token, **filters))
        ids += [a.id for a in page.accounts]
        sizes.append(len(page.accounts))
        token = page.next_page_token
        if not token:
            return ids, sizes
    raise AssertionError("pagination never ended")


# --- ConnectAccount -------------------------------------------------------------


async def test_connect_returns_the_account_with_every_field(accounts):
    access_expiry = timestamp_pb2.Timestamp(seconds=1_900_000_000, nanos=123_456_000)
    refresh_expiry = timestamp_pb2.Timestamp(seconds=1_950_000_000, nanos=654_321_000)
    response = await accounts.ConnectAccount(
        ConnectAccountRequest(
            platform=TIKTOK,
            external_account_id="open-id-xyz",
            username="creator",
            access_token=ACCESS,
            refresh_token=REFRESH,
            access_token_expire_time=access_expiry,
            refresh_token_expire_time=refresh_expiry,
        )
    )
    account = response.account

    assert str(uuid.UUID(account.id)) == account.id
    assert account.platform == TIKTOK
    assert account.external_account_id == "open-id-xyz"
    assert account.username == "creator"
    assert account.state == account_pb2.ACCOUNT_STATE_ACTIVE
    assert account.has_refresh_token is True
    assert account.access_token_expire_time == access_expiry
    assert account.refresh_token_expire_time == refresh_expiry
    assert account.HasField("create_time") and account.HasField("update_time")
    assert account.create_time.seconds > 0
    assert account.update_time.ToDatetime() >= account.create_time.ToDatetime()


async def test_connect_without_refresh_token_or_expiry(accounts):
    account = await connect(accounts, access_token=ACCESS)
    assert account.has_refresh_token is False
    assert not account.HasField("access_token_expire_time")
    assert not account.HasField("refresh_token_expire_time")


async def test_tokens_never_appear_in_any_response(accounts):
    connected = await accounts.ConnectAccount(
        ConnectAccountRequest(
            platform=TIKTOK, external_account_id="open-id-secret", access_token=ACCESS, refresh_token=REFRESH
        )
    )
    account_id = connected.account.id
    responses = [
        connected,
        await accounts.GetAccount(GetAccountRequest(id=account_id)),
        await accounts.ListAccounts(ListAccountsRequest()),
        await accounts.DisconnectAccount(DisconnectAccountRequest(id=account_id)),
        await accounts.ListAccounts(ListAccountsRequest(show_disconnected=True)),
    ]
    assert connected.account.has_refresh_token
    for response in responses:
        raw = response.SerializeToString()
        assert account_id.encode() in raw  # the check looks at the right bytes
        for secret in (ACCESS, REFRESH, "a9f3e1c7d2", "5b8e0f4c61"):
            assert secret.encode() not in raw, type(response).__name__


async def test_reconnect_keeps_the_id_and_updates(accounts):
    first = await connect(accounts, access_token="first-token")
    second = await accounts.ConnectAccount(
        ConnectAccountRequest(
            platform=INSTAGRAM,
            external_account_id=first.external_account_id,
            username="renamed",
            access_token="second-token",
        )
    )
    second = second.account
    assert second.id == first.id
    assert second.username == "renamed"
    assert second.state == account_pb2.ACCOUNT_STATE_ACTIVE
    assert second.create_time == first.create_time
    assert second.update_time.ToDatetime() > first.update_time.ToDatetime()
    fetched = (await accounts.GetAccount(GetAccountRequest(id=first.id))).account
    assert fetched == second


async def test_reconnect_drops_a_refresh_token_not_given_again(accounts):
    first = await connect(accounts, platform=TIKTOK, external_account_id="open-id-r", refresh_token=REFRESH)
    assert first.has_refresh_token
    again = await connect(accounts, platform=TIKTOK, external_account_id="open-id-r")
    assert again.id == first.id
    assert again.has_refresh_token is False


async def test_reconnect_after_disconnect_makes_it_active_again(accounts):
    first = await connect(accounts)
    disconnected = (await accounts.DisconnectAccount(DisconnectAccountRequest(id=first.id))).account
    assert disconnected.state == account_pb2.ACCOUNT_STATE_DISCONNECTED

    again = await connect(accounts)
    assert again.id == first.id
    assert again.state == account_pb2.ACCOUNT_STATE_ACTIVE
    assert again.update_time.ToDatetime() > disconnected.update_time.ToDatetime()
    assert (await accounts.GetAccount(GetAccountRequest(id=first.id))).account.state == (
        account_pb2.ACCOUNT_STATE_ACTIVE
    )


async def test_same_external_id_on_the_other_platform_is_another_account(accounts):
    instagram = await connect(accounts, platform=INSTAGRAM, external_account_id="17841400000000001")
    tiktok = await connect(accounts, platform=TIKTOK, external_account_id="17841400000000001")
    assert tiktok.id != instagram.id
    assert tiktok.platform == TIKTOK
    assert instagram.platform == INSTAGRAM
    ids, _ = await list_all(accounts, 10)
    assert sorted(ids) == sorted([instagram.id, tiktok.id])


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"platform": account_pb2.PLATFORM_UNSPECIFIED}, "platform"),
        ({"platform": 77}, "platform"),
        ({"external_account_id": ""}, "external_account_id"),
        ({"external_account_id": "   "}, "external_account_id"),
        ({"external_account_id": "ig_user_abc"}, "external_account_id"),
        ({"access_token": ""}, "access_token"),
    ],
)
async def test_connect_validation_names_the_field(accounts, fields, field):
    request = {"platform": INSTAGRAM, "external_account_id": "17841400000000001", "access_token": ACCESS}
    request.update(fields)
    err = await expect_error(
        accounts.ConnectAccount, ConnectAccountRequest(**request), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert field in err.violations, err.violations
    assert ACCESS not in err.message
    assert (await accounts.ListAccounts(ListAccountsRequest(show_disconnected=True))).accounts == []


async def test_connect_reports_every_violation_at_once(accounts):
    err = await expect_error(accounts.ConnectAccount, ConnectAccountRequest(), grpc.StatusCode.INVALID_ARGUMENT)
    assert {"platform", "external_account_id", "access_token"} <= set(err.violations)


async def test_non_numeric_id_is_fine_for_tiktok(accounts):
    account = await connect(accounts, platform=TIKTOK, external_account_id="ig_user_abc")
    assert account.external_account_id == "ig_user_abc"


# --- GetAccount -------------------------------------------------------------------


async def test_get_returns_the_connected_account(accounts):
    account = await connect(accounts, platform=TIKTOK, external_account_id="open-id-g", refresh_token=REFRESH)
    assert (await accounts.GetAccount(GetAccountRequest(id=account.id))).account == account


async def test_get_unknown_account_is_not_found(accounts):
    err = await expect_error(accounts.GetAccount, GetAccountRequest(id=UNKNOWN_ID), grpc.StatusCode.NOT_FOUND)
    assert err.reason == "ACCOUNT_NOT_FOUND"
    assert err.domain == "distribution"
    assert err.metadata["account_id"] == UNKNOWN_ID


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", "2f1c7a525d1e4c4f9d0a8f6b1b2e3c4d", UNKNOWN_ID + "0"])
async def test_get_malformed_id_is_invalid(accounts, bad_id):
    err = await expect_error(accounts.GetAccount, GetAccountRequest(id=bad_id), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(err.violations) == {"id"}


async def test_upper_case_form_of_an_existing_id_finds_it(accounts):
    # Ids are UUIDs, read case-insensitively (tests/api/test_id_case.py): the upper-case form
    # is the same account, never NOT_FOUND and never refused.
    account = await connect(accounts)
    fetched = (await accounts.GetAccount(GetAccountRequest(id=account.id.upper()))).account
    assert fetched.id == account.id


# --- ListAccounts -----------------------------------------------------------------


async def test_list_is_newest_first(accounts):
    connected = [await connect(accounts, external_account_id=ig_id(i)) for i in range(4)]
    listed = (await accounts.ListAccounts(ListAccountsRequest())).accounts
    assert [a.id for a in listed] == [a.id for a in reversed(connected)]
    assert listed[0] == connected[-1]


@pytest.mark.parametrize("count, expected_sizes", [(5, [2, 2, 1]), (4, [2, 2])])
async def test_pagination_visits_every_account_once(accounts, count, expected_sizes):
    connected = [await connect(accounts, external_account_id=ig_id(i)) for i in range(count)]
    ids, sizes = await list_all(accounts, 2)
    assert ids == [a.id for a in reversed(connected)]
    assert sizes == expected_sizes


async def test_pagination_is_stable_while_accounts_are_connected(accounts):
    older = [await connect(accounts, external_account_id=ig_id(i)) for i in range(5)]
    first = await accounts.ListAccounts(ListAccountsRequest(page_size=2))
    assert first.next_page_token

    newcomer = await connect(accounts, external_account_id=ig_id(99))

    seen = [a.id for a in first.accounts]
    token = first.next_page_token
    while token:
        page = await accounts.ListAccounts(ListAccountsRequest(page_size=2, page_token=token))
        seen += [a.id for a in page.accounts]
        token = page.next_page_token
    assert seen == [a.id for a in reversed(older)]
    assert newcomer.id not in seen
    # A fresh walk starts with the newcomer.
    assert (await accounts.ListAccounts(ListAccountsRequest(page_size=1))).accounts[0].id == newcomer.id


async def test_page_size_zero_defaults_and_large_is_capped(accounts):
    for i in range(3):
        await connect(accounts, external_account_id=ig_id(i))
    for size in (0, 5000):
        page = await accounts.ListAccounts(ListAccountsRequest(page_size=size))
        assert len(page.accounts) == 3
        assert page.next_page_token == ""


async def test_platform_filter(accounts):
    ig = [await connect(accounts, external_account_id=ig_id(i)) for i in range(3)]
    tt = [await connect(accounts, platform=TIKTOK, external_account_id=f"open-{i}") for i in range(2)]

    ids, _ = await list_all(accounts, 2, platform=INSTAGRAM)
    assert ids == [a.id for a in reversed(ig)]
    ids, _ = await list_all(accounts, 1, platform=TIKTOK)
    assert ids == [a.id for a in reversed(tt)]
    ids, _ = await list_all(accounts, 2)
    assert len(ids) == 5


async def test_disconnected_accounts_are_hidden_unless_asked_for(accounts):
    kept = await connect(accounts, external_account_id=ig_id(1))
    gone = await connect(accounts, external_account_id=ig_id(2))
    await accounts.DisconnectAccount(DisconnectAccountRequest(id=gone.id))

    ids, _ = await list_all(accounts, 10)
    assert ids == [kept.id]
    page = await accounts.ListAccounts(ListAccountsRequest(show_disconnected=True))
    assert [a.id for a in page.accounts] == [gone.id, kept.id]
    assert page.accounts[0].state == account_pb2.ACCOUNT_STATE_DISCONNECTED


async def test_negative_page_size_is_invalid(accounts):
    err = await expect_error(
        accounts.ListAccounts, ListAccountsRequest(page_size=-1), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert set(err.violations) == {"page_size"}


@pytest.mark.parametrize("token", ["garbage", "!!!", "bm90LWpzb24", "WzEsMiwzXQ"])
async def test_garbage_page_token_is_invalid(accounts, token):
    await connect(accounts)
    err = await expect_error(
        accounts.ListAccounts, ListAccountsRequest(page_token=token), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert set(err.violations) == {"page_token"}


@pytest.mark.parametrize(
    "first_filters, second_filters",
    [
        ({"platform": INSTAGRAM}, {"platform": TIKTOK}),
        ({"platform": INSTAGRAM}, {}),
        ({}, {"show_disconnected": True}),
    ],
)
async def test_page_token_reused_with_other_filters_is_invalid(accounts, first_filters, second_filters):
    for i in range(3):
        await connect(accounts, external_account_id=ig_id(i))
    first = await accounts.ListAccounts(ListAccountsRequest(page_size=1, **first_filters))
    assert first.next_page_token
    err = await expect_error(
        accounts.ListAccounts,
        ListAccountsRequest(page_size=1, page_token=first.next_page_token, **second_filters),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(err.violations) == {"page_token"}
    # The same token with the same filters works.
    again = await accounts.ListAccounts(
        ListAccountsRequest(page_size=1, page_token=first.next_page_token, **first_filters)
    )
    assert len(again.accounts) == 1


# --- DisconnectAccount ------------------------------------------------------------


async def test_disconnect_is_idempotent_and_erases_tokens(accounts):
    account = await connect(
        accounts,
        platform=TIKTOK,
        external_account_id="open-id-d",
        refresh_token=REFRESH,
        access_token_expire_time=timestamp_pb2.Timestamp(seconds=1_900_000_000),
    )
    assert account.has_refresh_token

    first = (await accounts.DisconnectAccount(DisconnectAccountRequest(id=account.id))).account
    assert first.id == account.id
    assert first.state == account_pb2.ACCOUNT_STATE_DISCONNECTED
    assert first.has_refresh_token is False
    assert not first.HasField("access_token_expire_time")
    assert first.create_time == account.create_time

    second = (await accounts.DisconnectAccount(DisconnectAccountRequest(id=account.id))).account
    assert second.state == account_pb2.ACCOUNT_STATE_DISCONNECTED
    assert second == first
    assert (await accounts.GetAccount(GetAccountRequest(id=account.id))).account == first


async def test_disconnect_unknown_account_is_not_found(accounts):
    err = await expect_error(
        accounts.DisconnectAccount, DisconnectAccountRequest(id=UNKNOWN_ID), grpc.StatusCode.NOT_FOUND
    )
    assert err.reason == "ACCOUNT_NOT_FOUND"


async def test_disconnect_malformed_id_is_invalid(accounts):
    err = await expect_error(
        accounts.DisconnectAccount, DisconnectAccountRequest(id="nope"), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert set(err.violations) == {"id"}


# --- token rejection and reconnect ------------------------------------------------


async def publish_carousel(publishing, media, account_id: str):
    return await publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(media_ids=await register(media, *images(2)), instagram_account_id=account_id)
    )


async def test_reconnect_replaces_the_token_used_for_publishing(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts, access_token="token-to-revoke")
    instagram_sandbox.revoke_token("token-to-revoke")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish_carousel(publishing, media, account.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(info.value).reason == "INSTAGRAM_TOKEN_INVALID"

    again = await connect(accounts, access_token="fresh-token")
    assert again.id == account.id
    response = await publish_carousel(publishing, media, account.id)
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED


async def test_rejected_token_marks_the_account_needs_reconnect(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts, access_token="token-to-revoke")
    instagram_sandbox.revoke_token("token-to-revoke")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish_carousel(publishing, media, account.id)
    assert rich_error(info.value).reason == "INSTAGRAM_TOKEN_INVALID"

    fetched = (await accounts.GetAccount(GetAccountRequest(id=account.id))).account
    assert fetched.state == account_pb2.ACCOUNT_STATE_NEEDS_RECONNECT

    calls = instagram_sandbox.calls.total()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish_carousel(publishing, media, account.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert instagram_sandbox.calls.total() == calls  # failed fast, no platform call

    assert (await connect(accounts, access_token="fresh-token")).state == account_pb2.ACCOUNT_STATE_ACTIVE


async def test_expiry_times_before_year_1000_round_trip(accounts):
    """Regression (found by the fuzz test): such a time was stored unpadded and broke every list."""
    early = timestamp_pb2.Timestamp(seconds=-62135596800)  # 0001-01-01T00:00:00Z
    account = await connect(accounts, access_token_expire_time=early)
    assert account.access_token_expire_time == early
    listed = await accounts.ListAccounts(ListAccountsRequest())
    assert [a.id for a in listed.accounts] == [account.id]


@pytest.mark.parametrize(
    "raw",
    [
        b'["\\ud800", "\\udfff", "0000000000000000"]',  # lone surrogates in a forged cursor
        b"[" * 100_000,  # nesting deep enough to exhaust a recursive parser
    ],
)
async def test_forged_page_tokens_are_invalid_not_internal(accounts, raw):
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await accounts.ListAccounts(ListAccountsRequest(page_token=token))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
