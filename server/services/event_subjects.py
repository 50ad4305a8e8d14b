"""What each event of the workspace stream is about, read now for the stream's messages and
the webhooks' payloads: a publish event's publish, an account event's account (with its
health stated, as every account a caller reads). One read per kind for a batch of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.domain.events import WorkspaceEvent
from server.domain.models import Account, Publish
from server.domain.ports import AccountStore, PublishRecords
from server.services.account_health import AccountHealthReader


@dataclass(frozen=True)
class Subjects:
    publishes: dict[str, Publish]
    accounts: dict[str, Account]

    def publish_of(self, event: WorkspaceEvent) -> Publish | None:
        return self.publishes[event.publish_id] if event.event is not None else None

    def account_of(self, event: WorkspaceEvent) -> Account | None:
        return self.accounts[event.account_id] if event.account_event is not None else None


class EventSubjects:
    def __init__(self, publishes: PublishRecords, accounts: AccountStore, health: AccountHealthReader) -> None:
        self._publishes = publishes
        self._accounts = accounts
        self._health = health

    async def load(self, workspace_id: str, events: Sequence[WorkspaceEvent]) -> Subjects:
        publish_ids = sorted({e.publish_id for e in events if e.event is not None})
        account_ids = sorted({e.account_id for e in events if e.account_event is not None})
        publishes = {p.id: p for p in await self._publishes.get_many(workspace_id, publish_ids)} if publish_ids else {}
        found = [a for a in [await self._accounts.get(workspace_id, i) for i in account_ids] if a is not None]
        accounts = {a.id: a for a in await self._health.attach(found)}
        return Subjects(publishes, accounts)
