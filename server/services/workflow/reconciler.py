"""Late results: facts a platform reports after the publish RPC has returned.

TikTok gives a public post id only after moderation (minutes to hours); an Instagram
permalink read can fail although the post is live. A workflow that ends without such a
fact records it in `pending_facts` with a first check time. This reconciler asks the
platform again at growing intervals (one read per publish per check, far inside the
platforms' rate limits) until the fact arrives or the fact's horizon passes, updating
the record and timeline (which wakes watchers). Its schedule lives in the database,
so it resumes after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo
from server.domain.errors import FailedPrecondition, Unavailable
from server.domain.models import Publish
from server.domain.platforms import PlatformFailure
from server.domain.ports import AccountStore, Clock, InstagramApi, TikTokApi
from server.services.background import BackgroundLoop
from server.services.tokens import AccountTokens
from server.services.workflow.first_comment import FirstCommentStep
from server.services.workflow.polling import FIRST_COMMENT, PERMALINK, TIKTOK_POST_ID, ReconcileSchedule
from server.services.workflow.publish_log import PublishLog

log = logging.getLogger("distribution.reconciler")

# A claimed check is this replica's for so long; should the replica die mid-check, another
# takes it up once this has passed.
CLAIM_SECONDS = 120.0


class Reconciler:
    def __init__(
        self,
        publish_log: PublishLog,
        accounts: AccountStore,
        tokens: AccountTokens,
        instagram: InstagramApi,
        tiktok: TikTokApi,
        schedule: ReconcileSchedule,
        clock: Clock,
    ) -> None:
        self._log = publish_log
        self._accounts = accounts
        self._tokens = tokens
        self._instagram = instagram
        self._tiktok = tiktok
        self._schedule = schedule
        self._clock = clock
        self._first_comment = FirstCommentStep(instagram, publish_log)
        self._background = BackgroundLoop("reconciler", self._run)

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        alarm = self._log.alarms.late_facts
        while True:
            alarm.reset()  # mid-pass: any newly scheduled check wakes it again
            try:
                next_at = await self.run_once()
            except Exception:  # keep reconciling other publishes whatever one of them does
                log.exception("reconciler pass failed")
                next_at = self._clock.now() + timedelta(seconds=self._schedule.first_delay)
            if next_at is not None and next_at <= self._clock.now():
                continue  # a full batch was due: more may be
            timeout = None if next_at is None else max((next_at - self._clock.now()).total_seconds(), 0.0)
            await alarm.sleep_until(next_at, timeout)

    async def run_once(self) -> datetime | None:
        """Checks one batch of due publishes; returns when the next check is due (now, if
        the batch was full and more may be due), or None when nothing is scheduled. Each due
        check is claimed as it is taken, so across replicas it runs once."""
        now = self._clock.now()
        hold = now + timedelta(seconds=CLAIM_SECONDS)
        due = await self._log.claim_due_for_reconcile(now, hold, self._schedule.batch)
        await asyncio.gather(*(self.check(p) for p in due))
        if len(due) == self._schedule.batch:
            return now
        return await self._log.next_reconcile_at()

    async def check(self, publish: Publish) -> None:
        """Asks the platform once for the publish's pending facts and records the outcome: a
        trace of its own, linked to the span that created the publish."""
        with self._log.tracer.span(
            "publish.reconcile",
            {"distribution.publish_id": publish.id, "distribution.platform": publish.platform.value,
             "distribution.pending_facts": ",".join(publish.pending_facts)},
            links=[publish.traceparent] if publish.traceparent else [],
        ):
            await self._check(publish)

    async def _check(self, publish: Publish) -> None:
        account = await self._accounts.get(publish.workspace_id, publish.account_id)
        try:
            if account is None:
                raise FailedPrecondition(reason="ACCOUNT_NOT_CONNECTED", message="the account is gone")
            token = await self._tokens.access_token(account)
        except FailedPrecondition as err:
            await self._give_up(publish, f"no usable token ({err.message})")
            return
        except Unavailable as err:
            # The token cannot be refreshed right now, which says nothing of later: ask again.
            await self._still_pending(publish, publish.pending_facts, [f"token: {err.message}"])
            return
        problems: list[str] = []
        if FIRST_COMMENT in publish.pending_facts:
            if self._run_holds(publish):
                problems.append("first_comment: the run that published it is still posting it")
            else:
                publish = await self._first_comment.run(publish, token, account.external_account_id)
                if not publish.pending_facts:
                    return
        found: dict[str, str] = {}
        for fact in publish.pending_facts:
            if fact == FIRST_COMMENT:
                continue
            try:
                value = await self._read(fact, publish, token)
            except PlatformFailure as failure:
                problems.append(f"{fact}: {failure.error.message}")
                continue
            if value:
                found[fact] = value
        still = [f for f in publish.pending_facts if f not in found]
        if found:
            arrived = PublishChange(
                pending_facts=tuple(still), reconcile_at=SetTo(self._next(publish)) if still else CLEAR,
                reconcile_attempts=publish.reconcile_attempts + 1,
                permalink=SetTo(found[PERMALINK]) if PERMALINK in found else KEEP,
                tiktok_post_id=SetTo(found[TIKTOK_POST_ID]) if TIKTOK_POST_ID in found else KEEP,
            )
            await self._log.record(
                publish.id, "LATE_FACTS_ARRIVED",
                "Late result from the platform: " + ", ".join(f"{k} {v}" for k, v in found.items()),
                arrived, details=found, expected=publish,
            )
            return
        await self._still_pending(publish, still, problems)

    async def _still_pending(self, publish: Publish, still: list[str], problems: list[str]) -> None:
        """Schedules the next check, or gives up once every fact's horizon has passed."""
        age = self._clock.now() - (publish.published_at or publish.created_at)
        if all(age > timedelta(seconds=self._schedule.horizon(f)) for f in still):
            await self._give_up(publish, f"no {', '.join(still)} within the documented horizon")
            return
        await self._log.record(
            publish.id, "LATE_FACTS_PENDING",
            f"Still waiting for {', '.join(still)}" + (f" ({'; '.join(problems)})" if problems else ""),
            PublishChange(reconcile_at=SetTo(self._next(publish)), reconcile_attempts=publish.reconcile_attempts + 1),
            expected=publish,
        )

    def _run_holds(self, publish: Publish) -> bool:
        """Whether a live run (on any replica) still holds the publish: it does the first
        comment itself. A dead replica's lease runs out; then the reconciler takes over."""
        return publish.owner is not None and publish.lease_until is not None and publish.lease_until > self._clock.now()

    def _next(self, publish: Publish) -> datetime:
        return self._clock.now() + timedelta(seconds=self._schedule.delay(publish.reconcile_attempts + 1))

    async def _read(self, fact: str, publish: Publish, token: str) -> str | None:
        if fact == PERMALINK and publish.ig_media_id:
            return (await self._instagram.media(token, publish.ig_media_id)).permalink or None
        if fact == TIKTOK_POST_ID and publish.tiktok_publish_id:
            status = await self._tiktok.fetch_status(token, publish.tiktok_publish_id)
            return status.post_ids[0] if status.post_ids else None
        return None

    async def _give_up(self, publish: Publish, why: str) -> None:
        if FIRST_COMMENT in publish.pending_facts:
            publish = await self._first_comment.give_up(publish, why)
            if not publish.pending_facts:
                return
        await self._log.record(
            publish.id, "LATE_FACTS_ABANDONED", f"Stopped waiting for {', '.join(publish.pending_facts)}: {why}",
            PublishChange(pending_facts=(), reconcile_at=CLEAR), expected=publish,
        )
