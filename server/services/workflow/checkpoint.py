"""What every platform workflow gets and must do: one saved step at a time.

Each step reads what earlier steps saved, makes at most one kind of platform call, and
saves its result before the next step starts; so a retry or a restart resumes from the
record and never repeats a step that took effect (docs/architecture.md, "The checkpointed
workflow").
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from server.domain.changes import PublishChange
from server.domain.ending import ending
from server.domain.models import Account, Media, Publish, PublishError, PublishState
from server.domain.platforms import PlatformFailure
from server.domain.ports import Clock, Span
from server.services.tokens import resend_on_rejection
from server.services.workflow.polling import PollPolicy
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.retry import Retrier

ClientT = TypeVar("ClientT")
T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
W = TypeVar("W", bound="CheckpointedWorkflow[Any]")


def step(name: str) -> Callable[
    [Callable[Concatenate[W, Publish, P], Awaitable[R]]], Callable[Concatenate[W, Publish, P], Awaitable[R]]
]:
    """Marks a workflow method as one step: its run is a span named `step <name>` (the
    platform calls and store writes it makes are its children)."""

    def wrap(
        method: Callable[Concatenate[W, Publish, P], Awaitable[R]],
    ) -> Callable[Concatenate[W, Publish, P], Awaitable[R]]:
        async def traced(self: W, publish: Publish, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with self.span(f"step {name}", publish, {"distribution.step": name}):
                return await method(self, publish, *args, **kwargs)

        functools.update_wrapper(traced, method)
        return traced

    return wrap


@dataclass(frozen=True)
class PublishTarget:
    """Everything a workflow needs besides the record: the account, the media in order, and
    `token()`, which returns the account's current access token (refreshing it first when it
    is about to expire, or when called with refresh=True after the platform rejected it)."""

    account: Account
    media: list[Media]
    token: Callable[..., Awaitable[str]]


class Workflow(Protocol):
    started_message: str

    async def run(self, publish: Publish, target: PublishTarget) -> Publish:
        """Drives the publish from its last saved step to a terminal state and returns the record.

        Must be safe to call again on a record left unfinished by a crash: every step
        looks at what is saved before calling the platform.
        """
        ...


class StepFailed(Exception):
    """Ends the workflow: the record has already been written in its terminal state."""


class CheckpointedWorkflow(Generic[ClientT]):
    """The frame both platform workflows share: mark the publish PROCESSING once, run the
    platform's steps, and when a step ended the publish (StepFailed) return the record."""

    started_message = "Publishing"

    def __init__(
        self, client: ClientT, publish_log: PublishLog, poll: PollPolicy, retrier: Retrier, clock: Clock
    ) -> None:
        self._client = client
        self._log = publish_log
        self._poll = poll
        self._retrier = retrier
        self._clock = clock

    async def run(self, publish: Publish, target: PublishTarget) -> Publish:
        try:
            if publish.state == PublishState.PENDING:
                publish = await self._log.record(
                    publish.id, "PROCESSING_STARTED", self.started_message, PublishChange(state=PublishState.PROCESSING)
                )
            return await self._steps(publish, target)
        except StepFailed:
            latest = await self._log.get(publish.id)
            assert latest is not None
            return latest

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        raise NotImplementedError

    async def _send(
        self, publish: Publish, target: PublishTarget, what: str, send: Callable[[str], Awaitable[T]]
    ) -> T:
        """`send(token)`, and once more with a replaced token when the platform rejected the
        account's token and did nothing (resend_on_rejection), noted on the timeline. Raises
        the DomainError of a refresh the platform refused or cannot make now."""

        async def replace(rejected: str) -> str | None:
            return await target.token(refresh=True)

        async def replaced(failure: PlatformFailure) -> None:
            await self._log.record(
                publish.id, "TOKEN_REFRESHED",
                f"The platform rejected the access token at {what}; sending {what} once more with a new one",
                details=failure.summary(),
            )

        return await resend_on_rejection(await target.token(), send, replace, replaced)

    def span(
        self, name: str, publish: Publish, attributes: dict[str, str | int | float | bool] | None = None
    ) -> AbstractContextManager[Span]:
        """A span of this publish's run (a step, a poll), named for what it does."""
        return self._log.tracer.span(
            name, {"distribution.publish_id": publish.id, "distribution.platform": publish.platform.value,
                   **(attributes or {})},
        )

    def poll_span(self, publish: Publish, attempt: int, what: str) -> AbstractContextManager[Span]:
        """The span of one status poll (its platform call is the child)."""
        return self.span(f"poll {what}", publish, {"distribution.poll_attempt": attempt})

    async def _end(self, publish: Publish, state: PublishState, error: PublishError) -> None:
        """Records the terminal state with its error, then ends the run (StepFailed)."""
        await self._log.record(
            publish.id, state.value, error.message, ending(publish, state, error),
            details={"platform_code": error.platform_code, "platform_subcode": error.platform_subcode,
                     "trace_id": error.platform_trace_id}, last=True,
        )
        raise StepFailed()
