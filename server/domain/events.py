"""The workspace event stream's vocabulary: where an event stands in the stream (its
position, shown to callers as an event id opaque per workspace: the EventIds port) and what
a reader asks for.

The stream is the publish timelines of a workspace (the `publish_events` rows every publish
change writes in its own transaction) and its accounts' events (account.token_expiring, ...:
rows of the same table with no publish, written in the transaction of the account change that
causes them, server/domain/account_events.py), read in one total order that a reader can never see
out of order: a position is (transaction id, row id). SQLite has one writer, so its row ids
are already commit ordered and its transaction part is 0. PostgreSQL's bigserial is not (a
transaction that took id N may commit after the one that took N+1), so each event also keeps
the id of the transaction that wrote it, and readers only read events of transactions older
than every transaction still running (see server/adapters/postgres/events.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.domain.models import Platform, PublishEvent, PublishState
from server.domain.webhooks import EventKind, kind_of

_TOKEN = re.compile(r"evt_([0-9a-f]{16})([0-9a-f]{16})")


@dataclass(frozen=True, order=True)
class EventPosition:
    """An event's place in the stream: compare positions to order events."""

    xid: int
    id: int

    def token(self) -> str:
        """The position in the clear, fixed width hex: the form event ids had before they were
        opaque (EventIds issues them now). Still read, so a client holding one resumes."""
        return f"evt_{self.xid:016x}{self.id:016x}"

    @classmethod
    def parse(cls, token: str) -> EventPosition | None:
        """The position an id in the clear form names; None when it is not one."""
        matched = _TOKEN.fullmatch(token)
        if matched is None:
            return None
        return cls(int(matched.group(1), 16), int(matched.group(2), 16))


START = EventPosition(0, 0)


@dataclass(frozen=True)
class AccountEvent:
    """Something an account's owner must act on (or may stop worrying about): one of the
    account kinds of EventKind, when it happened, in words, and its facts (e.g. the expiry
    time, the quota used and total, why a reconnect is needed)."""

    kind: EventKind
    time: datetime
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkspaceEvent:
    """One event of the stream with what the stream filters on: a publish's timeline event
    (`event`, with its publish's id) or an account's (`account_event`, `publish_id` empty);
    exactly one of the two is set."""

    position: EventPosition
    publish_id: str
    account_id: str
    platform: Platform
    event: PublishEvent | None
    account_event: AccountEvent | None = None

    @property
    def kind(self) -> EventKind:
        if self.account_event is not None:
            return self.account_event.kind
        assert self.event is not None
        return kind_of(self.event)

    @property
    def time(self) -> datetime | None:
        return self.account_event.time if self.account_event is not None else self.event.time if self.event else None


@dataclass(frozen=True)
class EventFilter:
    """Filters combine with AND; `states` keeps only events that moved a publish into one of
    them (empty: every event; an account event moves no publish, so it is then left out);
    `kinds` only events of those kinds (empty: every kind); `since` only events that happened
    at or after it."""

    account_id: str | None = None
    platform: Platform | None = None
    states: frozenset[PublishState] = field(default_factory=frozenset)
    since: datetime | None = None
    kinds: frozenset[EventKind] = field(default_factory=frozenset)

    def matches(self, event: WorkspaceEvent) -> bool:
        time = event.time
        return (
            (self.account_id is None or event.account_id == self.account_id)
            and (self.platform is None or event.platform == self.platform)
            and (not self.states or (event.event is not None and event.event.state in self.states))
            and (not self.kinds or event.kind in self.kinds)
            and (self.since is None or (time is not None and time >= self.since))
        )
