"""What every platform workflow gets and must do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from server.domain.models import Account, Media, Publish


@dataclass(frozen=True)
class PublishTarget:
    """Everything a workflow needs besides the record: the account, the media in order, and
    `token()`, which returns the account's current access token (refreshing it first when it
    is about to expire, or when called with refresh=True after the platform rejected it)."""

    account: Account
    media: list[Media]
    token: Callable[..., Awaitable[str]]


class Workflow(Protocol):
    async def run(self, publish: Publish, target: PublishTarget) -> Publish:
        """Drives the publish from its last saved step to a terminal state and returns the record.

        Must be safe to call again on a record left unfinished by a crash: every step
        looks at what is saved before calling the platform.
        """
        ...


class StepFailed(Exception):
    """Ends the workflow: the record has already been written in its terminal state."""
