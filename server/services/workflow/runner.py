"""The runner owns the publishes this replica drives.

An RPC submits a publish and awaits its run through `asyncio.shield`, so a caller that goes
away (deadline, cancel) never cancels the publish: it runs on, and its record tells the
outcome. A run drives a publish only while this replica holds the publish's lease (owner
and expiry in the record, renewed while it runs); every write of the run is made as that
owner, so a replica that lost the lease (it stalled past the expiry and another took over)
can write nothing more and stops.

Unfinished publishes that no run holds (their replica died, or handed them back at
shutdown) are taken over by any replica's sweep once their lease has ended, and resumed
from their last saved step. At shutdown, runs still going after the grace period are
cancelled between steps and their leases handed back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from server.domain.ending import ending
from server.domain.errors import DomainError, LeaseLost
from server.domain.health import PlatformFailureNote
from server.domain.models import (
    Account,
    AccountState,
    LapsedLease,
    Media,
    Platform,
    Publish,
    PublishError,
    PublishEvent,
    PublishState,
)
from server.domain.ports import AccountHealthStore, AccountStore, Clock, MediaStore, Metrics
from server.services.tokens import AccountTokens
from server.services.workflow.checkpoint import PublishTarget, Workflow
from server.services.workflow.publish_log import PublishLog

log = logging.getLogger("distribution.runner")


@dataclass(frozen=True)
class LeasePolicy:
    """How long a run's hold on a publish lasts unless renewed, how often it is renewed,
    and how often orphaned publishes are looked for. A publish whose replica died is taken
    over within `ttl + sweep_every` seconds."""

    ttl: float = 15.0
    renew_every: float = 5.0
    sweep_every: float = 1.0
    batch: int = 50


# What a scheduled publish is checked against at its time: the publish, its account and the
# account's token; returns the record to run (its options changed where the platform now
# needs it), or raises the DomainError its run ends with.
Recheck = Callable[[Publish, Account, str], Awaitable[Publish]]


@dataclass(frozen=True)
class Ready:
    """What the Publisher loaded while checking a new publish: its account, its media in
    order and, when it needed one, the account's access token. Handing it over spares the
    run reading them again a moment later."""

    account: Account
    media: list[Media]
    token: str | None = None


class PublishRunner:
    def __init__(
        self,
        workflows: dict[Platform, Workflow],
        publish_log: PublishLog,
        accounts: AccountStore,
        media: MediaStore,
        tokens: AccountTokens,
        clock: Clock,
        leases: LeasePolicy = LeasePolicy(),
        metrics: Metrics | None = None,
        recheck: Recheck | None = None,
        health: AccountHealthStore | None = None,
    ) -> None:
        self._workflows = workflows
        self._log = publish_log
        self._accounts = accounts
        self._media = media
        self._tokens = tokens
        self._clock = clock
        self.leases = leases
        self._tasks: dict[str, asyncio.Task[Publish]] = {}
        self._upkeep: asyncio.Task[None] | None = None
        self._stopping = False
        self._metrics = metrics
        # Checked again at a scheduled publish's time, before its first platform call (the
        # account, its token, the platform's preconditions); a DomainError ends it FAILED.
        self._recheck = recheck
        # Where a publish's platform failure is noted as its account's last (its health).
        self._health = health
        if metrics is not None:
            metrics.track_in_flight(lambda: self.in_flight)

    @property
    def owner(self) -> str:
        return self._log.owner

    @property
    def publish_log(self) -> PublishLog:
        return self._log

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def lease_until(self) -> timedelta:
        return timedelta(seconds=self.leases.ttl)

    def started_message(self, platform: Platform) -> str:
        """The timeline message of a run's start on `platform`."""
        return self._workflows[platform].started_message

    def submit(self, publish: Publish, ready: Ready | None = None) -> asyncio.Task[Publish]:
        """Starts driving `publish`, which this replica must hold the lease of (or returns the
        task already driving it). `ready` is what the caller already loaded for it."""
        task = self._tasks.get(publish.id)
        if task is None:
            self._log.track(publish)
            task = asyncio.get_running_loop().create_task(self._drive(publish, ready), name=f"publish-{publish.id}")
            self._tasks[publish.id] = task
            task.add_done_callback(self._finished)
        return task

    async def wait(self, publish: Publish, ready: Ready | None = None) -> Publish:
        """The publish's record once it is done. A publish this replica holds is driven here
        (submitted if not yet); one driven elsewhere is waited for; cancelling the waiter
        leaves the run going."""
        task = self._tasks.get(publish.id)
        if task is None and publish.owner == self.owner:
            task = self.submit(publish, ready)
        if task is not None:
            try:
                final = await asyncio.shield(task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if self._stopping or not task.cancelled() or (current is not None and current.cancelling()):
                    raise  # the waiter itself was cancelled, or this replica is stopping
                # The run was cancelled here (its lease was lost): whoever drives it now finishes it.
            else:
                if final.done:
                    return final  # else the lease was lost mid-run: another replica finishes it
        return await self._log.wait_until_done(publish.id)

    def _finished(self, task: asyncio.Task[Publish]) -> None:
        publish_id = task.get_name().removeprefix("publish-")
        self._tasks.pop(publish_id, None)
        if task.cancelled() or task.exception() is not None:
            self._log.forget(publish_id)

    # --- leases ---------------------------------------------------------------------------

    def start(self) -> None:
        """Starts renewing this replica's leases and sweeping up orphaned publishes."""
        self._upkeep = asyncio.get_running_loop().create_task(self._keep_up(), name="leases")

    async def resume_unfinished(self) -> int:
        """Takes over every orphaned unfinished publish now (at start: those of a previous
        run of this replica, or of a dead one) and resumes each; returns how many."""
        resumed = 0
        while True:
            claimed = await self._claim()
            resumed += len(claimed)
            if len(claimed) < self.leases.batch:
                return resumed

    async def _claim(self) -> list[Publish]:
        now = self._clock.now()
        claimed = await self._log.claim_orphans(now + self.lease_until(), now, self.leases.batch)
        for publish in claimed:
            log.info("resuming publish", extra={"publish_id": publish.id, "state": publish.state.value})
            self.submit(publish)
        return claimed

    async def _keep_up(self) -> None:
        renewed_at = self._clock.monotonic()
        while True:
            await self._clock.sleep(self.leases.sweep_every)
            try:
                if self._clock.monotonic() - renewed_at >= self.leases.renew_every:
                    renewed_at = self._clock.monotonic()
                    await self._renew()
                await self._claim()
            except Exception:  # whatever failed (the database away for a moment), try again next time
                log.exception("lease upkeep failed; trying again at the next sweep")

    async def _renew(self) -> None:
        running = list(self._tasks)
        if not running:
            return
        held = await self._log.renew_leases(running, self._clock.now() + self.lease_until())
        for publish_id in set(running) - held:
            task = self._tasks.get(publish_id)
            if task is not None:
                log.warning("lease lost; another replica drives the publish now", extra={"publish_id": publish_id})
                task.cancel()

    async def stop(self, grace: float) -> None:
        """Lets runs finish for `grace` seconds, then cancels the rest between steps and
        hands their leases back, so another replica (or the next start) resumes them at once."""
        self._stopping = True
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
            self._upkeep = None
        tasks = list(self._tasks.items())
        if not tasks:
            return
        _, pending = await asyncio.wait([task for _, task in tasks], timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            handed_back = PublishEvent(
                type="RUN_HANDED_BACK",
                message="The service stopped before this publish ended; it resumes from its last saved step",
            )
            for publish_id, task in tasks:
                if task in pending:
                    with contextlib.suppress(DomainError):
                        await self._log.release(publish_id, handed_back)
            log.info("publishes handed back to resume", extra={"count": len(pending)})

    # --- a run ----------------------------------------------------------------------------

    async def _drive(self, publish: Publish, ready: Ready | None) -> Publish:
        # One span per run: a child of the request's span when a request started it, else (a
        # scheduled publish at its time, a run resumed or taken over) the root of a trace of its
        # own, linked to the span that created the publish.
        with self._log.tracer.span(
            "publish.run",
            {"distribution.publish_id": publish.id, "distribution.platform": publish.platform.value,
             "distribution.publish_state": publish.state.value},
            links=[publish.traceparent] if publish.traceparent else [],
        ) as span:
            final = await self._drive_traced(publish, ready)
            span.set("distribution.publish_final_state", final.state.value)
            return final

    async def _drive_traced(self, publish: Publish, ready: Ready | None) -> Publish:
        try:
            if publish.lapsed is not None:
                await self._record_takeover(publish, publish.lapsed)
            final = await self._run(publish, ready)
        except LeaseLost:
            log.warning("lease lost; this run stops", extra={"publish_id": publish.id})
            self._log.forget(publish.id)
            latest = await self._log.get(publish.id)
            assert latest is not None
            return latest
        released = final if final.owner is None else (await self._log.release(publish.id) or final)
        if self._metrics is not None and released.state.terminal:
            self._metrics.publish_finished(released.platform, released.state)
        return released

    async def _record_takeover(self, publish: Publish, lapsed: LapsedLease) -> None:
        """The timeline says who let the publish's lease lapse, when, and who took it over."""
        if self._metrics is not None:
            self._metrics.publish_taken_over(publish.platform)
        log.warning(
            "took over a publish whose lease lapsed",
            extra={"publish_id": publish.id, "lapsed_owner": lapsed.owner, "lapsed_at": lapsed.until.isoformat()},
        )
        await self._log.record(
            publish.id, "TAKEN_OVER",
            f"Replica {self.owner} took over this publish: replica {lapsed.owner} let its lease lapse at "
            f"{lapsed.until.isoformat()}; it resumes from its last saved step",
            details={"lapsed_owner": lapsed.owner, "lapsed_at": lapsed.until.isoformat(), "owner": self.owner},
        )

    async def _run(self, publish: Publish, ready: Ready | None) -> Publish:
        try:
            target = await self._target(publish) if ready is None else self._from_ready(ready)
            if target is None:
                return await self._end_interrupted(
                    publish.id,
                    PublishError(
                        code="FAILED_PRECONDITION",
                        reason="ACCOUNT_DISCONNECTED",
                        message="The account was disconnected before the publish could start; "
                        "reconnect it with ConnectAccount",
                    ),
                )
            if ready is None and publish.schedule_time is not None and publish.untouched and self._recheck:
                publish = await self._recheck(publish, target.account, await target.token())
            final = await self._workflows[publish.platform].run(publish, target)
            if final.error is not None and final.error.token_rejected:
                await self._accounts.mark_needs_reconnect(
                    publish.account_id, f"a publish's token was rejected ({final.error.message})",
                    final.error.platform_code,
                )
            if final.error is not None and final.error.platform_code and self._health is not None:
                failure = PlatformFailureNote(final.error.platform_code, final.error.message, self._clock.now())
                await self._health.record_failure(publish.account_id, failure)
            return final
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            raise
        except DomainError as err:
            # E.g. the account was disconnected or its token refresh refused mid-publish.
            return await self._end_interrupted(
                publish.id,
                PublishError(code=err.code, reason=err.reason, message=err.message, retry_after=err.retry_after),
            )
        except Exception:
            # A bug, not a platform answer. Record it so the publish does not hang in PROCESSING.
            log.exception("publish workflow crashed", extra={"publish_id": publish.id})
            return await self._end_interrupted(
                publish.id,
                PublishError(
                    code="INTERNAL",
                    reason="INTERNAL_ERROR",
                    message="Internal error while publishing; see the service log",
                ),
            )

    async def _end_interrupted(self, publish_id: str, error: PublishError) -> Publish:
        """Ends a publish whose workflow stopped on an error it did not record itself:
        UNCONFIRMED if a platform-changing call may have gone through, else FAILED."""
        latest = await self._log.get(publish_id)
        assert latest is not None, f"publish {publish_id} vanished"
        if latest.state.terminal:
            return latest
        state = PublishState.UNCONFIRMED if latest.may_have_posted else PublishState.FAILED
        return await self._log.record(publish_id, state.value, error.message, ending(latest, state, error), last=True)

    async def _target(self, publish: Publish) -> PublishTarget | None:
        account = await self._accounts.get(publish.workspace_id, publish.account_id)
        if account is None or account.state == AccountState.DISCONNECTED:
            return None
        by_id = await self._media.get_many(publish.workspace_id, publish.media_ids)
        return PublishTarget(account, [by_id[mid] for mid in publish.media_ids], _TokenForRun(self._tokens, account))

    def _from_ready(self, ready: Ready) -> PublishTarget:
        return PublishTarget(ready.account, ready.media, _TokenForRun(self._tokens, ready.account, ready.token))


class _TokenForRun:
    """The account's token for one workflow run: read (and refreshed if due) once, then
    reused by every step; replaced only when the platform rejected it (refresh=True), and
    then left as it was when there is nothing to replace it with."""

    def __init__(self, tokens: AccountTokens, account: Account, token: str | None = None) -> None:
        self._tokens = tokens
        self._account = account
        self._token = token

    async def __call__(self, refresh: bool = False) -> str:
        if self._token is None:
            self._token = await self._tokens.access_token(self._account)
        elif refresh:
            # Another replica may have replaced the token already; else a refresh, if any.
            self._token = await self._tokens.after_rejection(self._account, self._token) or self._token
        return self._token
