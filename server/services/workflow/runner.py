"""The runner owns every in-flight publish.

An RPC submits a publish and awaits its task through `asyncio.shield`, so a caller
that goes away (deadline, cancel) never cancels the publish: it runs on, and its
record tells the outcome. At start-up the runner resumes every unfinished record
from its last saved step. At shutdown, publishes still running after the grace
period are cancelled between steps; they stay PROCESSING and resume at next start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from server.domain.errors import DomainError
from server.domain.models import Account, AccountState, Media, Platform, Publish, PublishError, PublishState
from server.domain.ports import AccountStore, MediaStore, Metrics
from server.services.tokens import AccountTokens
from server.services.workflow.checkpoint import PublishTarget, Workflow
from server.services.workflow.publish_log import PublishLog

log = logging.getLogger("distribution.runner")


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
        metrics: Metrics | None = None,
    ) -> None:
        self._workflows = workflows
        self._log = publish_log
        self._accounts = accounts
        self._media = media
        self._tokens = tokens
        self._tasks: dict[str, asyncio.Task[Publish]] = {}
        self._metrics = metrics
        if metrics is not None:
            metrics.track_in_flight(lambda: self.in_flight)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def is_running(self, publish_id: str) -> bool:
        """Whether a run is driving the publish. A terminal record can still be running:
        Instagram's permalink is read right after PUBLISHED."""
        return publish_id in self._tasks

    def submit(self, publish: Publish, ready: Ready | None = None) -> asyncio.Task[Publish]:
        """Starts driving the publish (or returns the task already driving it). `ready` is
        what the caller already loaded for it (fresh from its checks), else read here."""
        task = self._tasks.get(publish.id)
        if task is None:
            self._log.track(publish)
            task = asyncio.get_running_loop().create_task(self._drive(publish, ready), name=f"publish-{publish.id}")
            self._tasks[publish.id] = task
            task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Publish]) -> None:
        publish_id = task.get_name().removeprefix("publish-")
        self._tasks.pop(publish_id, None)
        self._log.forget(publish_id)  # also drops notes of a run cancelled between a note and a change
        if task.cancelled() or task.exception() is not None:
            return  # cancelled at shutdown, after the gRPC server (and its watch streams) stopped
        final = task.result()
        self._log.run_ended(final)
        if self._metrics is not None:
            self._metrics.publish_finished(final.platform, final.state)

    def started_message(self, platform: Platform) -> str:
        """The timeline message of a run's start on `platform`."""
        return self._workflows[platform].started_message

    async def wait(self, publish: Publish, ready: Ready | None = None) -> Publish:
        """Submits the publish and waits for its end; cancelling the waiter leaves it running."""
        return await asyncio.shield(self.submit(publish, ready))

    async def resume_unfinished(self) -> int:
        unfinished = await self._log.store.unfinished()
        for publish in unfinished:
            log.info("resuming publish", extra={"publish_id": publish.id, "state": publish.state.value})
            self.submit(publish)
        return len(unfinished)

    async def stop(self, grace: float) -> None:
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.info("publishes left to resume at next start", extra={"count": len(pending)})

    async def _drive(self, publish: Publish, ready: Ready | None) -> Publish:
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
            final = await self._workflows[publish.platform].run(publish, target)
            if final.error is not None and final.error.token_rejected:
                await self._accounts.mark_needs_reconnect(publish.account_id)
            return final
        except asyncio.CancelledError:
            raise
        except DomainError as err:
            # E.g. the account was disconnected or its token refresh refused mid-publish.
            return await self._end_interrupted(
                publish.id, PublishError(code=err.code, reason=err.reason, message=err.message)
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
        latest = await self._log.store.get(publish_id)
        if latest is not None and latest.state.terminal:
            return latest
        state = PublishState.UNCONFIRMED if latest is not None and latest.may_have_posted else PublishState.FAILED
        return await self._log.record(publish_id, state.value, error.message, state=state, error=error)

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
    reused by every step; read again only when the platform rejected it (refresh=True)."""

    def __init__(self, tokens: AccountTokens, account: Account, token: str | None = None) -> None:
        self._tokens = tokens
        self._account = account
        self._token = token

    async def __call__(self, refresh: bool = False) -> str:
        if self._token is None or refresh:
            self._token = await self._tokens.access_token(self._account, refresh=refresh)
        return self._token
