"""Access tokens refreshed ahead of expiry, rotated refresh tokens saved, refusals marking the
account (server/services/tokens.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from server.domain.errors import FailedPrecondition, Unavailable
from server.domain.models import Account, AccountState, Credentials
from server.domain.platforms import PlatformFailure, TokenGrant
from tests.fakes import IgFailure, TikTokFailure
from tests.unit.conftest import World

DAY = 86400


async def state_of(world: World, account: Account) -> AccountState:
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    return stored.state


async def test_a_disconnected_account_has_no_token(world: World) -> None:
    account = await world.tiktok_account()
    await world.store.accounts.disconnect(world.workspace, account.id)
    with pytest.raises(FailedPrecondition) as caught:
        await world.services.tokens.access_token(account)
    assert caught.value.reason == "ACCOUNT_NOT_CONNECTED"


@pytest.mark.parametrize(
    ("platform", "expires_in", "refresh_token"),
    [
        ("tiktok", 3600, "tt-refresh"),  # an hour left: outside the 10 minute margin
        ("tiktok", 60, None),  # about to expire, but nothing to refresh it with
        ("tiktok", None, "tt-refresh"),  # no expiry known
        ("instagram", 30 * DAY, None),  # a month left: outside the 7 day margin
        ("instagram", None, None),
    ],
)
async def test_a_token_not_due_is_used_as_it_is(
    world: World, platform: str, expires_in: int | None, refresh_token: str | None
) -> None:
    expires = world.at(expires_in) if expires_in is not None else None
    if platform == "tiktok":
        account = await world.tiktok_account(refresh_token=refresh_token, access_token_expires_at=expires)
    else:
        account = await world.instagram_account(access_token_expires_at=expires)
    assert await world.services.tokens.access_token(account) in ("tt-token", "ig-token")
    assert world.tiktok.calls == world.instagram.calls == []


async def test_a_tiktok_token_about_to_expire_is_refreshed_and_both_tokens_saved(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(300))
    world.clock.advance(1)
    assert await world.services.tokens.access_token(account) == "tt-access-1"
    assert world.tiktok.calls_to("refresh")[0].args == {"refresh_token": "tt-refresh"}
    assert await world.store.accounts.credentials(account.id) == Credentials("tt-access-1", "tt-refresh-1")
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.access_token_expires_at == world.at(DAY)
    assert stored.refresh_token_expires_at == world.at(365 * DAY)


async def test_a_grant_without_lifetimes_saves_no_expiry(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(60))
    world.tiktok.script("refresh", TokenGrant("new", 0, "new-refresh", 0, "oid"))
    assert await world.services.tokens.access_token(account) == "new"
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert (stored.access_token_expires_at, stored.refresh_token_expires_at) == (None, None)


async def test_a_rejected_token_is_refreshed_even_far_from_expiry(world: World) -> None:
    account = await world.tiktok_account()
    assert await world.services.tokens.access_token(account, refresh=True) == "tt-access-1"
    assert world.tiktok.count("refresh") == 1


async def test_concurrent_callers_share_one_refresh(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(60))
    world.clock.advance(1)
    tokens = await asyncio.gather(*(world.services.tokens.access_token(account) for _ in range(5)))
    assert tokens == ["tt-access-1"] * 5
    assert world.tiktok.count("refresh") == 1


async def test_an_account_disconnected_while_a_refresh_runs_keeps_no_token(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(60))
    held = world.tiktok.hold("refresh")
    first = asyncio.create_task(world.services.tokens.access_token(account))
    await held.reached.wait()
    second = asyncio.create_task(world.services.tokens.access_token(account))
    await asyncio.sleep(0)
    await world.store.accounts.disconnect(world.workspace, account.id)
    held.release()
    await first
    assert await world.store.accounts.credentials(account.id) is None
    with pytest.raises(FailedPrecondition) as caught:
        await second
    assert caught.value.reason == "ACCOUNT_NOT_CONNECTED"


@pytest.mark.parametrize(
    ("failure", "expires_in", "outcome"),
    [
        pytest.param(TikTokFailure.server_error("refresh"), 300, "tt-token", id="transient-not-expired"),
        pytest.param(TikTokFailure.timed_out("refresh"), 300, "refused", id="answer-lost-is-final"),
        pytest.param(TikTokFailure.refused("refresh"), -1, "unavailable", id="transient-expired"),
        pytest.param(TikTokFailure.refresh_refused(), 300, "refused", id="invalid-grant"),
    ],
)
async def test_a_tiktok_refresh_that_fails(world: World, failure: object, expires_in: int, outcome: str) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(expires_in))
    world.tiktok.script("refresh", failure)
    if outcome == "tt-token":
        assert await world.services.tokens.access_token(account) == "tt-token"
        assert await state_of(world, account) == AccountState.ACTIVE
    elif outcome == "unavailable":
        with pytest.raises(Unavailable) as unavailable:
            await world.services.tokens.access_token(account)
        assert unavailable.value.reason == "TIKTOK_TOKEN_REFRESH_UNAVAILABLE"
        assert await state_of(world, account) == AccountState.ACTIVE
    else:
        with pytest.raises(FailedPrecondition) as refused:
            await world.services.tokens.access_token(account)
        assert refused.value.reason == "ACCOUNT_REFRESH_FAILED"
        assert "TikTok refused to refresh" in refused.value.message
        assert await state_of(world, account) == AccountState.NEEDS_RECONNECT
    assert world.tiktok.count("refresh") == 1  # never retried: a lost answer may have spent the refresh token


async def test_an_instagram_token_in_its_last_week_is_refreshed(world: World) -> None:
    account = await world.instagram_account(access_token_expires_at=world.at(6 * DAY))
    assert await world.services.tokens.access_token(account) == "ig-token-1"
    assert world.instagram.calls_to("refresh_long_lived_token")[0].args == {"token": "ig-token"}
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.access_token_expires_at == world.at(60 * DAY)
    assert await world.store.accounts.credentials(account.id) == Credentials("ig-token-1", None)


async def test_an_instagram_refresh_without_a_lifetime_saves_no_expiry(world: World) -> None:
    account = await world.instagram_account(access_token_expires_at=world.at(DAY))
    world.instagram.script("refresh_long_lived_token", ("fresh", 0))
    assert await world.services.tokens.access_token(account) == "fresh"
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.access_token_expires_at is None


@pytest.mark.parametrize(
    ("failure", "expires_in", "outcome"),
    [
        pytest.param(IgFailure.server_error("refresh_long_lived_token"), DAY, "ig-token", id="down-not-expired"),
        pytest.param(IgFailure.answered("refresh_long_lived_token", code="10"), DAY, "ig-token",
                     id="not-refreshable-not-expired"),
        pytest.param(IgFailure.server_error("refresh_long_lived_token"), -1, "unavailable", id="down-expired"),
        pytest.param(IgFailure.token_rejected("refresh_long_lived_token"), DAY, "refused", id="token-rejected"),
    ],
)
async def test_an_instagram_refresh_that_fails(world: World, failure: object, expires_in: int, outcome: str) -> None:
    account = await world.instagram_account(access_token_expires_at=world.at(expires_in))
    world.instagram.script("refresh_long_lived_token", failure)
    if outcome == "ig-token":
        assert await world.services.tokens.access_token(account) == "ig-token"
    elif outcome == "unavailable":
        with pytest.raises(Unavailable) as unavailable:
            await world.services.tokens.access_token(account)
        assert unavailable.value.reason == "INSTAGRAM_TOKEN_REFRESH_UNAVAILABLE"
    else:
        with pytest.raises(FailedPrecondition) as refused:
            await world.services.tokens.access_token(account)
        assert refused.value.reason == "ACCOUNT_REFRESH_FAILED"
        assert refused.value.metadata["platform_code"] == "190"
    expected = AccountState.NEEDS_RECONNECT if outcome == "refused" else AccountState.ACTIVE
    assert await state_of(world, account) == expected


async def test_a_refreshed_token_is_the_one_the_next_publish_uses(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(60))
    await world.publish(await world.tiktok_request(2, account))
    world.clock.advance(timedelta(hours=1).total_seconds())
    fresh = await world.store.accounts.get(world.workspace, account.id)
    assert fresh is not None
    await world.publish(await world.tiktok_request(2, fresh))
    assert world.tiktok.count("refresh") == 1
    assert {c.args["token"] for c in world.tiktok.calls if "token" in c.args} == {"tt-access-1"}


async def test_an_account_disconnected_while_waiting_for_the_lock_has_no_token(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(60))
    held = world.tiktok.hold("refresh")
    world.tiktok.script("refresh", TikTokFailure.server_error("refresh"))  # the held call then fails transiently
    first = asyncio.create_task(world.services.tokens.access_token(account))
    await held.reached.wait()
    second = asyncio.create_task(world.services.tokens.access_token(account))
    await asyncio.sleep(0)
    await world.store.accounts.disconnect(world.workspace, account.id)
    held.release()
    assert await first == "tt-token"  # still valid for a minute: used as it is
    with pytest.raises(FailedPrecondition) as caught:
        await second
    assert caught.value.reason == "ACCOUNT_NOT_CONNECTED"


# --- a token the platform rejected before its expiry -------------------------------------------


async def test_a_rejected_token_with_no_expiry_known_is_refreshed_once_for_every_caller_rejected_at_once(
    world: World,
) -> None:
    account = await world.tiktok_account(access_token_expires_at=None)
    replaced = await asyncio.gather(*(world.services.tokens.after_rejection(account, "tt-token") for _ in range(5)))
    assert replaced == ["tt-access-1"] * 5
    assert world.tiktok.count("refresh") == 1


async def test_a_rejected_token_already_replaced_elsewhere_is_not_refreshed_again(world: World) -> None:
    account = await world.tiktok_account()
    assert await world.services.tokens.after_rejection(account, "tt-token") == "tt-access-1"
    # A caller still holding the old token (another replica's run) is given the stored one.
    assert await world.services.tokens.after_rejection(account, "tt-token") == "tt-access-1"
    assert world.tiktok.count("refresh") == 1


@pytest.mark.parametrize("platform", ["tiktok", "instagram", "instagram holding a refresh token"])
async def test_a_rejected_token_with_nothing_to_refresh_it_has_no_replacement(world: World, platform: str) -> None:
    """Only TikTok has a refresh grant: an Instagram token the platform refused cannot renew
    itself, whatever a caller stored beside it (never sent to TikTok's token endpoint)."""
    if platform == "tiktok":
        account = await world.tiktok_account(refresh_token=None)
        rejected = "tt-token"
    elif platform == "instagram":
        account = await world.instagram_account()
        rejected = "ig-token"
    else:
        account = await world.instagram_account(refresh_token="ig-refresh")
        rejected = "ig-token"
    assert await world.services.tokens.after_rejection(account, rejected) is None
    assert world.tiktok.calls == world.instagram.calls == []
    assert await state_of(world, account) == AccountState.ACTIVE  # the caller marks it, if it must


async def test_a_rejected_token_whose_refresh_is_unavailable_is_no_fallback(world: World) -> None:
    account = await world.tiktok_account()  # twelve hours left: the old token would be a fallback
    world.tiktok.script("refresh", TikTokFailure.server_error("refresh"))
    with pytest.raises(Unavailable) as caught:
        await world.services.tokens.after_rejection(account, "tt-token")
    assert caught.value.reason == "TIKTOK_TOKEN_REFRESH_UNAVAILABLE"
    assert await state_of(world, account) == AccountState.ACTIVE


async def test_a_call_rejected_is_sent_once_more_with_the_refreshed_token(world: World) -> None:
    account = await world.tiktok_account()
    sent: list[str] = []

    async def send(token: str) -> str:
        sent.append(token)
        if token == "tt-token":
            raise TikTokFailure.token_rejected("creator_info")
        return "answer"

    assert await world.services.tokens.call(account, "tt-token", send) == "answer"
    assert sent == ["tt-token", "tt-access-1"]


async def test_a_call_whose_outcome_is_unknown_is_never_sent_again(world: World) -> None:
    account = await world.tiktok_account()
    lost = TikTokFailure.timed_out("init_photo_post")
    lost.error = dataclasses.replace(lost.error, token_rejected=True)  # even if it also said so
    sent: list[str] = []

    async def send(token: str) -> str:
        sent.append(token)
        raise lost

    with pytest.raises(PlatformFailure):
        await world.services.tokens.call(account, "tt-token", send)
    assert sent == ["tt-token"]
    assert world.tiktok.count("refresh") == 0
