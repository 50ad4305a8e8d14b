"""Platform access tokens for the workflows, refreshed ahead of expiry.

Instagram long-lived tokens live 60 days and are refreshed (Instagram Login's
ig_refresh_token grant) once fewer than 7 days remain. TikTok access tokens live hours;
the refresh grant returns a new access token AND a new refresh token (the old one stops
working), so both are saved in one write before use. Refreshes of one account are
serialised across replicas (a lock held in the store), and a refresh in the middle of a
publish only swaps the token the next call uses: the publish itself is never restarted.
When the platform refuses the refresh, the account is marked NEEDS_RECONNECT and
publishes to it fail fast with FAILED_PRECONDITION.

A token the platform rejects before its known expiry (or with no expiry known) is
replaced on rejection (`after_rejection`): the stored token, when another task or replica
has already replaced it (compared under the refresh lock, so of any number of replicas
rejected at once exactly one refreshes), else a refresh with the stored refresh token.
`call` sends a platform call once, and once more with the replacement when the platform
rejected the token and did nothing; the caller marks the account only when that fails too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from server.domain.errors import FailedPrecondition, Unavailable
from server.domain.models import Account, Platform
from server.domain.platforms import PlatformFailure
from server.domain.ports import AccountStore, Clock, InstagramApi, Locks, TikTokApi

log = logging.getLogger("distribution.tokens")

T = TypeVar("T")

# Refresh this long before the access token expires.
REFRESH_MARGIN = timedelta(minutes=10)
INSTAGRAM_REFRESH_MARGIN = timedelta(days=7)


class AccountTokens:
    def __init__(
        self,
        accounts: AccountStore,
        instagram: InstagramApi,
        tiktok: TikTokApi,
        locks: Locks,
        clock: Clock,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self._accounts = accounts
        self._locks = locks
        self._instagram = instagram
        self._tiktok = tiktok
        self._clock = clock
        self._margin = margin

    async def access_token(self, account: Account, refresh: bool = False, ahead: timedelta = timedelta(0)) -> str:
        """The account's current access token; refreshed first when it is about to expire
        (or when `refresh` says the platform just rejected it). `ahead`: refresh a token that
        expires within it too (the health check, which comes back only that much later)."""
        credentials = await self._accounts.credentials(account.id)
        if credentials is None:
            raise _disconnected(account)
        refreshable = account.platform == Platform.INSTAGRAM or bool(credentials.refresh_token)
        if not refreshable or (not refresh and not self._expiring(account, ahead)):
            return credentials.access_token
        # One refresh per account at a time, across replicas: a rotated refresh token must
        # never be spent twice.
        async with self._locks.hold(f"token-refresh:{account.id}"):
            current = await self._accounts.get(account.workspace_id, account.id)
            credentials = await self._accounts.credentials(account.id)
            if current is None or credentials is None:
                raise _disconnected(account)
            # Another task may have refreshed while this one waited for the lock.
            if current.updated_at > account.updated_at and not self._expiring(current, ahead):
                return credentials.access_token
            if not refresh and not self._expiring(current, ahead):
                return credentials.access_token
            if current.platform == Platform.INSTAGRAM:
                return await self._refresh_instagram(current, credentials.access_token)
            assert credentials.refresh_token
            return await self._refresh_tiktok(current, credentials.refresh_token, credentials.access_token)

    async def after_rejection(self, account: Account, rejected: str) -> str | None:
        """A token to use instead of `rejected`, which the platform just refused: the one
        stored now when it differs (another task or replica replaced it), else a new one from
        the refresh grant; None when there is nothing to try (an Instagram account, or no refresh token).
        Raises FailedPrecondition (and marks the account) when the platform refuses the
        refresh, Unavailable when it cannot refresh just now."""
        credentials = await self._accounts.credentials(account.id)
        if credentials is None:
            raise _disconnected(account)
        if credentials.access_token != rejected:
            return credentials.access_token
        # Only TikTok has a refresh grant; a refused Instagram token cannot renew itself.
        if account.platform != Platform.TIKTOK or not credentials.refresh_token:
            return None
        async with self._locks.hold(f"token-refresh:{account.id}"):
            current = await self._accounts.get(account.workspace_id, account.id)
            credentials = await self._accounts.credentials(account.id)
            if current is None or credentials is None:
                raise _disconnected(account)
            # Compare and set on the token itself: whoever held the lock before this task
            # has replaced the rejected token, and its refresh token with it.
            if credentials.access_token != rejected:
                return credentials.access_token
            if not credentials.refresh_token:
                return None
            log.info("token rejected before its expiry; refreshing", extra={"account_id": account.id})
            return await self._refresh_tiktok(current, credentials.refresh_token, rejected, rejected=True)

    async def call(self, account: Account, token: str, send: Callable[[str], Awaitable[T]]) -> T:
        """`send(token)`, and once more with `after_rejection`'s token when the platform
        rejected this one (resend_on_rejection)."""
        return await resend_on_rejection(token, send, lambda rejected: self.after_rejection(account, rejected))

    async def stored_token(self, account: Account) -> str:
        """The account's access token as stored, never refreshed: for checks that must make
        no platform write (validate_only), a refresh grant being one."""
        credentials = await self._accounts.credentials(account.id)
        if credentials is None:
            raise _disconnected(account)
        return credentials.access_token

    def _expiring(self, account: Account, ahead: timedelta = timedelta(0)) -> bool:
        expires = account.access_token_expires_at
        margin = INSTAGRAM_REFRESH_MARGIN if account.platform == Platform.INSTAGRAM else self._margin
        return expires is not None and expires - self._clock.now() < max(margin, ahead)

    def _expired(self, account: Account) -> bool:
        expires = account.access_token_expires_at
        return expires is not None and expires <= self._clock.now()

    async def _refresh_instagram(self, account: Account, token: str) -> str:
        try:
            new_token, expires_in = await self._instagram.refresh_long_lived_token(token)
        except PlatformFailure as failure:
            if failure.error.token_rejected:
                await self._needs_reconnect(account, "Instagram refused to refresh the token", failure)
                raise _refresh_refused(account, "Instagram", failure) from None
            # Not refreshable now (e.g. a Facebook Login token, or the platform is down): the
            # current token still works until it expires.
            log.warning("instagram token refresh failed; using the current token",
                        extra={"account_id": account.id, "error": failure.error.message})
            if self._expired(account):
                raise Unavailable(
                    reason="INSTAGRAM_TOKEN_REFRESH_UNAVAILABLE",
                    message=f"The Instagram token of account {account.id} expired and Instagram could not "
                    "refresh it just now; try again later",
                    metadata={"account_id": account.id},
                ) from None
            return token
        await self._accounts.save_tokens(
            account.id, access_token=new_token, refresh_token=None,
            access_token_expires_at=self._clock.now() + timedelta(seconds=expires_in) if expires_in else None,
            refresh_token_expires_at=None,
        )
        log.info("instagram token refreshed", extra={"account_id": account.id, "expires_in": expires_in})
        return new_token

    async def _refresh_tiktok(
        self, account: Account, refresh_token: str, old_access_token: str, *, rejected: bool = False
    ) -> str:
        """The refresh grant; `rejected`: the platform already refused the old access token,
        so it is no fallback while the refresh is unavailable."""
        try:
            grant = await self._tiktok.refresh(refresh_token)
        except PlatformFailure as failure:
            if failure.retryable:
                if not rejected and not self._expired(account):
                    log.warning("token refresh failed transiently; using the current token",
                                extra={"account_id": account.id})
                    return old_access_token
                raise Unavailable(
                    reason="TIKTOK_TOKEN_REFRESH_UNAVAILABLE",
                    message=f"The TikTok token of account {account.id} expired or was rejected and TikTok "
                    "could not refresh it just now; try again later",
                    metadata={"account_id": account.id},
                ) from None
            await self._needs_reconnect(account, "TikTok refused to refresh the token", failure)
            raise _refresh_refused(account, "TikTok", failure) from None
        now = self._clock.now()
        await self._accounts.save_tokens(
            account.id,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            access_token_expires_at=now + timedelta(seconds=grant.expires_in) if grant.expires_in else None,
            refresh_token_expires_at=now + timedelta(seconds=grant.refresh_expires_in)
            if grant.refresh_expires_in
            else None,
        )
        log.info("token refreshed", extra={"account_id": account.id, "expires_in": grant.expires_in})
        return grant.access_token

    async def _needs_reconnect(self, account: Account, reason: str, failure: PlatformFailure) -> None:
        await self._accounts.mark_needs_reconnect(account.id, reason, failure.error.platform_code)
        log.warning("token refresh refused; account needs a reconnect", extra={"account_id": account.id})


async def resend_on_rejection(
    token: str,
    send: Callable[[str], Awaitable[T]],
    replace: Callable[[str], Awaitable[str | None]],
    replaced: Callable[[PlatformFailure], Awaitable[None]] | None = None,
) -> T:
    """`send(token)`; when the platform rejected the token and surely did nothing, `send`
    once more with `replace(token)` (after `replaced(failure)`, e.g. a timeline entry). A
    call whose outcome is unknown (maybe_applied: an init whose answer was lost) is never
    sent again; a second rejection, or a first with no replacement, is raised as it came,
    for the caller to mark the account."""
    try:
        return await send(token)
    except PlatformFailure as failure:
        if not failure.error.token_rejected or failure.maybe_applied:
            raise
        fresh = await replace(token)
        if fresh is None or fresh == token:
            raise
        rejection = failure
    if replaced is not None:
        await replaced(rejection)
    return await send(fresh)


def _refresh_refused(account: Account, platform: str, failure: PlatformFailure) -> FailedPrecondition:
    return FailedPrecondition(
        reason="ACCOUNT_REFRESH_FAILED",
        message=f"{platform} refused to refresh the token of account {account.id}; "
        "reconnect the account with ConnectAccount",
        metadata={"account_id": account.id, "platform_code": failure.error.platform_code},
    )


def _disconnected(account: Account) -> FailedPrecondition:
    return FailedPrecondition(
        reason="ACCOUNT_NOT_CONNECTED",
        message=f"Account {account.id} has no usable token; reconnect it with ConnectAccount",
        metadata={"account_id": account.id},
    )
