"""Account health: stated on every account a caller reads, and kept fresh by a background
check.

`AccountHealthReader.attach` states each account's health from what is stored (its tokens'
expiry, the last Instagram quota reading, what TikTok's creator_info last said, the last
failed platform call) at the moment of the read, by the rules of server/domain/health.py.

`AccountHealthCheck` is a background loop of every replica. Each pass claims the accounts
whose check is due (the store hands each to one replica), and for each: refreshes a token
that would expire before the next pass (a TikTok access token, an Instagram long-lived
token in its last week), then reads Instagram's content_publishing_limit or TikTok's
creator_info, and records what it found or the failure. A token the platform rejects is
refreshed once (AccountTokens.call); rejected again, the account is marked for reconnect
(account.reauth_required). Then it notes the conditions the account is in, and the store
writes account.token_expiring and account.quota_low once per condition.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable
from datetime import timedelta

from server.domain.account_events import conditions
from server.domain.errors import DomainError
from server.domain.health import (
    CANNOT_POST_CODES,
    AccountHealth,
    CreatorStatus,
    HealthFacts,
    HealthPolicy,
    PlatformFailureNote,
)
from server.domain.health_rules import health_state
from server.domain.models import Account, AccountState, Platform
from server.domain.platforms import CreatorInfo, PlatformFailure
from server.domain.ports import AccountHealthStore, AccountStore, Clock, QuotaStore, TikTokApi
from server.services.background import BackgroundLoop
from server.services.quota import InstagramQuota
from server.services.tokens import AccountTokens
from server.services.workflow.retry import Retrier

log = logging.getLogger("distribution.account_health")

# Accounts one pass claims at most; a full batch is followed at once by the next.
BATCH = 20
# How long a claimed check is held for its replica before another may take it over.
CLAIM_SECONDS = 120.0


class AccountHealthReader:
    """States each account's health as a read returns it."""

    def __init__(self, health: AccountHealthStore, quotas: QuotaStore, clock: Clock, policy: HealthPolicy) -> None:
        self._health = health
        self._quotas = quotas
        self._clock = clock
        self._policy = policy

    async def attach(self, accounts: list[Account]) -> list[Account]:
        if not accounts:
            return accounts
        ids = [a.id for a in accounts]
        facts, quotas = await asyncio.gather(
            self._health.facts(ids),
            self._quotas.latest([a.id for a in accounts if a.platform == Platform.INSTAGRAM]),
        )
        now = self._clock.now()
        stated = []
        for account in accounts:
            if account.state == AccountState.DISCONNECTED:  # nothing to do but connect it again
                stated.append(account)
                continue
            known = facts.get(account.id, HealthFacts())
            quota = quotas.get(account.id)
            state = health_state(account, known, quota, now, self._policy)
            stated.append(dataclasses.replace(account, health=AccountHealth(state, known, quota)))
        return stated

    async def attach_one(self, account: Account) -> Account:
        return (await self.attach([account]))[0]


class AccountHealthCheck:
    def __init__(
        self,
        accounts: AccountStore,
        health: AccountHealthStore,
        tokens: AccountTokens,
        quota: InstagramQuota,
        tiktok: TikTokApi,
        retrier: Retrier,
        clock: Clock,
        policy: HealthPolicy,
        reader: AccountHealthReader,
    ) -> None:
        self._accounts = accounts
        self._health = health
        self._reader = reader
        self._tokens = tokens
        self._quota = quota
        self._tiktok = tiktok
        self._retrier = retrier
        self._clock = clock
        self._policy = policy
        self._background = BackgroundLoop("account-health", self._run)

    def start(self) -> None:
        if self._policy.check_every > 0:
            self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        # The first pass waits as the later ones do: a replica starting (or restarting) makes
        # no platform call before its publishes have resumed and it is serving.
        pause = min(self._policy.check_every, CLAIM_SECONDS)
        while True:
            await self._clock.sleep(pause)
            while True:
                try:
                    checked = await self.run_once()
                except Exception:  # the next pass tries again whatever this one met
                    log.exception("account health pass failed")
                    break
                if checked < BATCH:
                    break

    async def run_once(self) -> int:
        """Checks the accounts due now (claimed, so across replicas each is checked once);
        returns how many."""
        now = self._clock.now()
        due = await self._health.claim_due(now, now + timedelta(seconds=CLAIM_SECONDS), BATCH)
        for workspace_id, account_id in due:
            await self.check(workspace_id, account_id)
        return len(due)

    async def check(self, workspace_id: str, account_id: str) -> None:
        account = await self._accounts.get(workspace_id, account_id)
        if account is None or account.state != AccountState.ACTIVE:
            return
        every = timedelta(seconds=self._policy.check_every)
        creator: CreatorStatus | None = None
        try:
            # A token that would expire before the next pass is refreshed now.
            token = await self._tokens.access_token(account, ahead=every)
            if account.platform == Platform.INSTAGRAM:
                await self._tokens.call(
                    account, token, lambda t: self._quota.read(account.id, account.external_account_id, t)
                )
            else:
                creator = await self._creator(account, token)
        except PlatformFailure as failure:
            if failure.error.token_rejected:
                await self._accounts.mark_needs_reconnect(
                    account.id, "the health check's token was rejected", failure.error.platform_code
                )
            await self._failed(account, failure.error.platform_code, failure.error.message)
        except DomainError as err:
            # A refresh refused (the account is marked) or not possible just now.
            await self._failed(account, err.metadata.get("platform_code", ""), err.message)
        now = self._clock.now()
        await self._health.record_check(account.id, now, now + every, creator)
        await self._note_conditions(workspace_id, account_id)

    async def _note_conditions(self, workspace_id: str, account_id: str) -> None:
        """Notes what the account's health shows now (tokens as refreshed by this check, the
        quota and creator_info just read): each condition's event is written once per
        condition, by the store (server/domain/account_events.py)."""
        account = await self._accounts.get(workspace_id, account_id)
        if account is None or account.state != AccountState.ACTIVE:
            return  # a reconnect is needed: account.reauth_required said so
        stated = await self._reader.attach_one(account)
        assert stated.health is not None
        for condition in conditions(stated, stated.health, self._clock.now(), self._policy):
            await self._health.note_condition(account.id, condition)

    async def _creator(self, account: Account, token: str) -> CreatorStatus:
        def ask(t: str) -> Awaitable[CreatorInfo]:
            return self._retrier.run(lambda: self._tiktok.creator_info(t))

        try:
            info = await self._tokens.call(account, token, ask)
        except PlatformFailure as failure:
            code = failure.error.platform_code
            if code not in CANNOT_POST_CODES:
                raise
            return CreatorStatus(read_at=self._clock.now(), can_post=False, cannot_post_reason=code)
        return CreatorStatus(
            read_at=self._clock.now(), can_post=True, privacy_level_options=info.privacy_level_options,
            comment_disabled=info.comment_disabled, max_video_post_duration_sec=info.max_video_post_duration_sec,
        )

    async def _failed(self, account: Account, code: str, message: str) -> None:
        log.warning("account health check failed", extra={"account_id": account.id, "error": message})
        await self._health.record_failure(account.id, PlatformFailureNote(code, message, self._clock.now()))
