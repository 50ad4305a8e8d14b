"""What every platform workflow gets and must do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from server.domain.models import Account, Credentials, Media, Publish


@dataclass(frozen=True)
class PublishTarget:
    """Everything a workflow needs besides the record: the account, its tokens, the media in order."""

    account: Account
    credentials: Credentials
    media: list[Media]


class Workflow(Protocol):
    async def run(self, publish: Publish, target: PublishTarget) -> Publish:
        """Drives the publish from its last saved step to a terminal state and returns the record.

        Must be safe to call again on a record left unfinished by a crash: every step
        looks at what is saved before calling the platform.
        """
        ...


class StepFailed(Exception):
    """Ends the workflow: the record has already been written in its terminal state."""
