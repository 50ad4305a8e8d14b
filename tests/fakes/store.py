"""An in-memory store (the Store port: accounts, media, publishes) for the unit layer.

It keeps exactly the SQLite store's observable semantics, and proves it by passing the same
contract suites (tests/contracts): request ids unique per workspace, every write bumping a
publish's revision and updated_at, the state-transition guard, a timeline with increasing
event ids, keyset pages newest first, the list filters, tokens gone once disconnected.
Values cross the port the way they cross SQLite's: times as UTC with microseconds, JSON
columns (options, details, errors) through a JSON round trip, and every record handed out
is a copy, so a caller changing it changes nothing stored.

Tokens are kept as given: sealing them is the SQLite adapter's business, not the port's.
The coordination ports (locks, rate windows, quota readings, the change feed) are kept in
memory, as the SQLite store keeps them for its one process; the change feed can be fed by
a test (`changes.notify`) to stand for another replica's writes.
Each call yields to the event loop once before it does its work, as a call to a database
would, so concurrent callers interleave between calls (never inside one: each call is one
transaction).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from server.adapters.event_ids import EventIdCipher
from server.adapters.local import LocalLocks, LocalQuotas, LocalRateWindows
from server.domain.account_events import REJECTED, Condition, reauth_required, reconnected
from server.domain.changes import Lease, PublishChange, applied
from server.domain.connections import Claim, PendingConnection
from server.domain.errors import IllegalTransition, LeaseLost, StoreUnavailable
from server.domain.events import START, AccountEvent, EventFilter, EventPosition, WorkspaceEvent
from server.domain.health import CreatorStatus, HealthFacts, PlatformFailureNote
from server.domain.models import (
    Account,
    AccountState,
    Credentials,
    LapsedLease,
    Media,
    NewAccount,
    Platform,
    Publish,
    PublishError,
    PublishEvent,
    PublishFilter,
    PublishState,
    PublishVersion,
)
from server.domain.options import options_from_record
from server.domain.pagination import Cursor, cursor_time
from server.domain.ports import CreateConflict
from server.domain.schedule import due_change
from server.domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryRules,
    DeliveryState,
    DueDelivery,
    NewDelivery,
    Webhook,
    WebhookChanges,
    WebhookHealth,
    WebhookState,
    apply_changes,
    settle_attempt,
    signing_secrets,
)

T = TypeVar("T")

UNFINISHED = (PublishState.PENDING, PublishState.PROCESSING)
FINISHED = tuple(s for s in PublishState if s.terminal)


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _json(value: T) -> T:
    """The value as it comes back from a JSON column."""
    result: T = json.loads(json.dumps(value))
    return result


def _newest_first(items: Iterable[T], key: Callable[[T], tuple[str, str]], cursor: Cursor | None) -> list[T]:
    """Keyset order (created_at DESC, id DESC), strictly after the cursor."""
    ordered = sorted(items, key=key, reverse=True)
    if cursor is None:
        return ordered
    return [item for item in ordered if key(item) < (cursor.created_at, cursor.id)]


class _Table:
    """What every fake store shares: a clock for write times, and closing."""

    def __init__(self, owner: FakeStore) -> None:
        self._owner = owner

    def _now(self) -> datetime:
        return utc(self._owner.clock())

    async def _call(self) -> None:
        """A store call: refused once closed; yields once, as a database round trip would."""
        if self._owner.closed:
            raise RuntimeError("database is not open")
        await asyncio.sleep(0)


# --- accounts -------------------------------------------------------------------------------


@dataclasses.dataclass
class _AccountRow:
    account: Account
    access_token: str | None
    refresh_token: str | None


class FakeAccountStore(_Table):
    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self.rows: dict[str, _AccountRow] = {}

    async def upsert(self, new: NewAccount) -> Account:
        await self._call()
        now = self._now()
        existing = next(
            (
                row for row in self.rows.values()
                if (row.account.workspace_id, row.account.platform, row.account.external_account_id)
                == (new.workspace_id, new.platform, new.external_account_id)
            ),
            None,
        )
        kept = existing is not None and new.keep_refresh_token and not new.refresh_token
        account = Account(
            id=existing.account.id if existing else str(uuid.uuid4()),
            workspace_id=new.workspace_id,
            platform=new.platform,
            external_account_id=new.external_account_id,
            username=new.username,
            state=AccountState.ACTIVE,
            has_refresh_token=existing.account.has_refresh_token if kept and existing else bool(new.refresh_token),
            access_token_expires_at=_maybe_utc(new.access_token_expires_at),
            refresh_token_expires_at=existing.account.refresh_token_expires_at if kept and existing
            else _maybe_utc(new.refresh_token_expires_at),
            created_at=existing.account.created_at if existing else now,
            updated_at=now,
        )
        refresh = existing.refresh_token if kept and existing else new.refresh_token or None
        self.rows[account.id] = _AccountRow(account, new.access_token, refresh)
        if existing is not None:
            self._owner.publishes.append_account_event(account, reconnected(existing.account.state, now))
        return account

    async def get(self, workspace_id: str, account_id: str) -> Account | None:
        await self._call()
        row = self.rows.get(account_id)
        return row.account if row is not None and row.account.workspace_id == workspace_id else None

    async def credentials(self, account_id: str) -> Credentials | None:
        await self._call()
        row = self.rows.get(account_id)
        if row is None or row.access_token is None:
            return None
        return Credentials(access_token=row.access_token, refresh_token=row.refresh_token)

    async def list_page(
        self,
        workspace_id: str,
        limit: int,
        cursor: Cursor | None,
        platform: Platform | None,
        show_disconnected: bool,
    ) -> list[tuple[Account, Cursor]]:
        await self._call()
        accounts = [
            row.account for row in self.rows.values()
            if row.account.workspace_id == workspace_id
            and (platform is None or row.account.platform == platform)
            and (show_disconnected or row.account.state != AccountState.DISCONNECTED)
        ]
        page = _newest_first(accounts, lambda a: (cursor_time(a.created_at), a.id), cursor)[:limit]
        return [(a, Cursor(cursor_time(a.created_at), a.id)) for a in page]

    async def save_tokens(
        self,
        account_id: str,
        *,
        access_token: str,
        refresh_token: str | None,
        access_token_expires_at: datetime | None,
        refresh_token_expires_at: datetime | None,
    ) -> None:
        await self._call()
        row = self.rows.get(account_id)
        if row is None or row.account.state == AccountState.DISCONNECTED:
            return  # a disconnected account keeps no tokens
        row.access_token, row.refresh_token = access_token, refresh_token or None
        row.account = dataclasses.replace(
            row.account,
            has_refresh_token=bool(refresh_token),
            access_token_expires_at=_maybe_utc(access_token_expires_at),
            refresh_token_expires_at=_maybe_utc(refresh_token_expires_at),
            updated_at=self._now(),
        )

    async def mark_needs_reconnect(self, account_id: str, reason: str = REJECTED, platform_code: str = "") -> None:
        await self._call()
        row = self.rows.get(account_id)
        if row is not None and row.account.state == AccountState.ACTIVE:
            now = self._now()
            row.account = dataclasses.replace(row.account, state=AccountState.NEEDS_RECONNECT, updated_at=now)
            self._owner.publishes.append_account_event(row.account, reauth_required(reason, now, platform_code))

    async def disconnect(self, workspace_id: str, account_id: str) -> Account | None:
        await self._call()
        row = self.rows.get(account_id)
        if row is None or row.account.workspace_id != workspace_id:
            return None
        if row.account.state != AccountState.DISCONNECTED:
            row.access_token = row.refresh_token = None
            row.account = dataclasses.replace(
                row.account,
                state=AccountState.DISCONNECTED,
                has_refresh_token=False,
                access_token_expires_at=None,
                refresh_token_expires_at=None,
                updated_at=self._now(),
            )
        return row.account


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


# --- media ----------------------------------------------------------------------------------


class FakeMediaStore(_Table):
    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self.rows: dict[str, Media] = {}

    async def insert(self, media: Media) -> None:
        await self._call()
        if media.id in self.rows:
            raise KeyError(f"media {media.id} exists")  # SQLite: the primary key refuses it
        self.rows[media.id] = dataclasses.replace(media, created_at=utc(media.created_at))

    async def get(self, workspace_id: str, media_id: str) -> Media | None:
        await self._call()
        media = self.rows.get(media_id)
        return media if media is not None and media.workspace_id == workspace_id else None

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        await self._call()
        return {
            mid: media for mid in dict.fromkeys(media_ids)
            if (media := self.rows.get(mid)) is not None and media.workspace_id == workspace_id
        }

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        await self._call()
        mine = [m for m in self.rows.values() if m.workspace_id == workspace_id]
        page = _newest_first(mine, lambda m: (cursor_time(m.created_at), m.id), cursor)[:limit]
        return [(m, Cursor(cursor_time(m.created_at), m.id)) for m in page]

    async def save_inspection(self, media: Media) -> None:
        await self._call()
        stored = self.rows.get(media.id)
        if stored is None:
            return  # SQLite's UPDATE finds no row and changes nothing
        self.rows[media.id] = dataclasses.replace(
            stored, mime_type=media.mime_type, kind=media.kind, width=media.width, height=media.height,
            size_bytes=media.size_bytes, inspection=media.inspection, video=media.video,
        )


# --- publishes ------------------------------------------------------------------------------


class FakePublishStore(_Table):
    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self.rows: dict[str, Publish] = {}
        self.timeline: dict[str, list[PublishEvent]] = {}
        # Account events: in the same log, numbered from the same sequence.
        self.account_events: list[WorkspaceEvent] = []
        self._workspaces: dict[int, str] = {}
        self._last_event_id = 0

    # reads

    async def get(self, publish_id: str) -> Publish | None:
        await self._call()
        return _copy(self.rows.get(publish_id))

    async def get_in_workspace(self, workspace_id: str, publish_id: str) -> Publish | None:
        await self._call()
        publish = self.rows.get(publish_id)
        return _copy(publish) if publish is not None and publish.workspace_id == workspace_id else None

    async def get_many(self, workspace_id: str, publish_ids: Sequence[str]) -> list[Publish]:
        await self._call()
        return [
            copy.deepcopy(p) for pid in dict.fromkeys(publish_ids)
            if (p := self.rows.get(pid)) is not None and p.workspace_id == workspace_id
        ]

    async def list_page(
        self, workspace_id: str, limit: int, cursor: Cursor | None, where: PublishFilter
    ) -> list[tuple[PublishVersion, Cursor]]:
        await self._call()
        after = cursor_time(where.created_after) if where.created_after else None
        before = cursor_time(where.created_before) if where.created_before else None
        matching = [
            p for p in self.rows.values()
            if p.workspace_id == workspace_id
            and (where.account_id is None or p.account_id == where.account_id)
            and (where.platform is None or p.platform == where.platform)
            and (where.state is None or p.state == where.state)
            and (where.kind is None or p.kind == where.kind)
            and (after is None or cursor_time(p.created_at) >= after)
            and (before is None or cursor_time(p.created_at) < before)
            and (where.scheduled_after is None or (
                p.schedule_time is not None and p.schedule_time >= utc(where.scheduled_after)))
            and (where.scheduled_before is None or (
                p.schedule_time is not None and p.schedule_time < utc(where.scheduled_before)))
        ]
        page = _newest_first(matching, lambda p: (cursor_time(p.created_at), p.id), cursor)[:limit]
        return [(PublishVersion(p.id, p.revision), Cursor(cursor_time(p.created_at), p.id)) for p in page]

    async def find_by_request_id(self, workspace_id: str, request_id: str) -> Publish | None:
        await self._call()
        return _copy(self._by_request_id(workspace_id, request_id))

    async def recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        await self._call()
        return _copy(self._recent_same_content(workspace_id, account_id, content_fingerprint, since))

    async def claimed_ig_media_ids(self, account_id: str, candidates: Sequence[str]) -> set[str]:
        await self._call()
        wanted = set(candidates)
        return {
            p.ig_media_id for p in self.rows.values()
            if p.account_id == account_id and p.ig_media_id is not None and p.ig_media_id in wanted
        }

    async def claim_due_for_reconcile(self, now: datetime, hold_until: datetime, limit: int) -> list[Publish]:
        await self._call()
        due = [p for p in self.rows.values() if p.reconcile_at is not None and p.reconcile_at <= utc(now)]
        claimed = sorted(due, key=lambda p: cursor_time(p.reconcile_at or now))[:limit]
        for publish in claimed:  # as SQLite's UPDATE: neither a revision nor an update time
            publish.reconcile_at = utc(hold_until)
        return [copy.deepcopy(p) for p in claimed]

    async def claim_orphans(self, owner: str, lease_until: datetime, now: datetime, limit: int) -> list[Publish]:
        await self._call()
        for publish in self.rows.values():  # a finished publish whose run died after its last write is done
            if publish.state in FINISHED and publish.owner is not None and publish.lease_until is not None \
                    and publish.lease_until < utc(now):
                publish.owner = publish.lease_until = None
                publish.revision += 1
                publish.updated_at = utc(now)
        orphans = [
            p for p in self.rows.values()
            if p.state in UNFINISHED and (p.owner is None or (p.lease_until is not None and p.lease_until < utc(now)))
        ]
        claimed = sorted(orphans, key=lambda p: cursor_time(p.created_at))[:limit]
        taken = []
        for publish in claimed:
            lapsed = LapsedLease(publish.owner, publish.lease_until) \
                if publish.owner is not None and publish.lease_until is not None else None
            publish.owner, publish.lease_until = owner, utc(lease_until)
            copied = copy.deepcopy(publish)
            copied.lapsed = lapsed
            taken.append(copied)
        return taken

    async def renew_leases(self, owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        await self._call()
        held = {pid for pid in publish_ids if (p := self.rows.get(pid)) is not None and p.owner == owner}
        for pid in held:
            self.rows[pid].lease_until = utc(lease_until)
        return held

    async def next_reconcile_at(self) -> datetime | None:
        await self._call()
        return min((p.reconcile_at for p in self.rows.values() if p.reconcile_at is not None), default=None)

    async def claim_due_schedules(
        self, owner: str, lease_until: datetime, now: datetime, missed_before: datetime, limit: int,
        trace_id: str = "",
    ) -> list[Publish]:
        await self._call()  # no await between the read and the change: one atomic step
        due = [
            p for p in self.rows.values()
            if p.state == PublishState.SCHEDULED and p.schedule_time is not None and p.schedule_time <= utc(now)
        ]
        claimed = []
        for publish in sorted(due, key=lambda p: (p.schedule_time, p.id))[:limit]:
            change, events = due_change(
                publish, utc(now), utc(missed_before), Lease(owner, utc(lease_until)), trace_id
            )
            claimed.append(self._apply(publish.id, change, events, None, utc(now)))
        return claimed

    async def next_schedule_time(self) -> datetime | None:
        await self._call()
        return min(
            (p.schedule_time for p in self.rows.values()
             if p.state == PublishState.SCHEDULED and p.schedule_time is not None),
            default=None,
        )

    async def events(self, publish_id: str, after: int = 0) -> list[PublishEvent]:
        await self._call()
        return [copy.deepcopy(e) for e in self.timeline.get(publish_id, []) if e.id is not None and e.id > after]

    # the workspace event stream: one process, so event ids are the order (as on SQLite)

    async def workspace_events(
        self, workspace_id: str, after: EventPosition, limit: int, where: EventFilter | None = None
    ) -> list[WorkspaceEvent]:
        await self._call()
        found = []
        for publish_id, timeline in self.timeline.items():
            publish = self.rows[publish_id]
            if publish.workspace_id != workspace_id:
                continue
            for event in timeline:
                assert event.id is not None
                if event.id <= after.id:
                    continue
                item = WorkspaceEvent(
                    EventPosition(0, event.id), publish_id, publish.account_id, publish.platform, copy.deepcopy(event)
                )
                if where is None or where.matches(item):
                    found.append(item)
        for item in self.account_events:
            mine = item.position > after and self._workspaces[item.position.id] == workspace_id
            if mine and (where is None or where.matches(item)):
                found.append(copy.deepcopy(item))
        return sorted(found, key=lambda e: e.position)[:limit]

    async def event_time(self, workspace_id: str, position: EventPosition) -> datetime | None:
        await self._call()
        for publish_id, timeline in self.timeline.items():
            for event in timeline:
                if event.id == position.id and position.xid == 0:
                    return event.time if self.rows[publish_id].workspace_id == workspace_id else None
        for item in self.account_events:
            if item.position == position and self._workspaces[position.id] == workspace_id:
                return item.time
        return None

    async def last_position(self) -> EventPosition:
        await self._call()
        return EventPosition(0, self._last_event_id) if self._last_event_id else START

    # writes

    async def create(
        self, publish: Publish, events: Sequence[PublishEvent], duplicate_since: datetime | None = None
    ) -> CreateConflict | None:
        await self._call()
        if publish.request_id:
            taken = self._by_request_id(publish.workspace_id, publish.request_id)
            if taken is not None:
                return CreateConflict("request_id", copy.deepcopy(taken))
        elif duplicate_since is not None:
            earlier = self._recent_same_content(
                publish.workspace_id, publish.account_id, publish.content_fingerprint, duplicate_since
            )
            if earlier is not None:
                return CreateConflict("duplicate", copy.deepcopy(earlier))
        if publish.account_id not in self._owner.accounts.rows:
            # SQLite's foreign key: a publish names an account the store holds.
            raise KeyError(f"no account {publish.account_id}")
        created_at = utc(publish.created_at)
        # Only what SQLite's INSERT writes; everything else starts at its default.
        self.rows[publish.id] = Publish(
            id=publish.id,
            workspace_id=publish.workspace_id,
            platform=publish.platform,
            kind=publish.kind,
            account_id=publish.account_id,
            media_ids=_json(publish.media_ids),
            caption=publish.caption,
            options=options_from_record(publish.platform.value, _json(publish.options.to_record())),
            state=publish.state,
            request_id=publish.request_id,
            request_fingerprint=publish.request_fingerprint,
            content_fingerprint=publish.content_fingerprint,
            child_container_ids=_json(publish.child_container_ids),
            created_at=created_at,
            updated_at=created_at,
            owner=publish.owner,
            lease_until=None if publish.lease_until is None else utc(publish.lease_until),
            schedule_time=None if publish.schedule_time is None else utc(publish.schedule_time),
            first_comment=copy.deepcopy(publish.first_comment),
            traceparent=publish.traceparent,
        )
        self._append(publish.id, events, created_at)
        return None

    async def apply(
        self,
        publish_id: str,
        change: PublishChange,
        events: Sequence[PublishEvent],
        *,
        owner: str | None = None,
        expected: Publish | None = None,
    ) -> Publish:
        # `expected` only lets a store skip reading the row back; the result is the same, so
        # the fake always returns the record itself.
        await self._call()
        return self._apply(publish_id, change, events, owner, self._now())

    def _apply(
        self, publish_id: str, change: PublishChange, events: Sequence[PublishEvent], owner: str | None,
        now: datetime,
    ) -> Publish:
        publish = self.rows.get(publish_id)
        if publish is None:
            raise KeyError(publish_id)
        self._fence(publish, owner)
        allowed = change.allowed_from()
        if allowed is not None and publish.state not in allowed:
            raise IllegalTransition(
                reason="ILLEGAL_STATE_CHANGE",
                message=f"publish {publish_id} is {publish.state.value} and cannot become "
                f"{change.state.value if change.state else 'changed'}",
            )
        if change.child is not None and change.child.index > len(publish.child_container_ids):
            change = dataclasses.replace(change, child=None)  # as SQLite's json_set: beyond the end is ignored
        # As a store would: times kept in UTC, JSON values as they read back from their columns.
        updated = applied(publish, change, publish.revision + 1, now)
        for name in ("reconcile_at", "published_at", "lease_until", "schedule_time", "started_at"):
            value = getattr(updated, name)
            if value is not None:
                setattr(updated, name, utc(value))
        if updated.error is not None:
            updated.error = PublishError.from_dict(_json(updated.error.to_dict()))
        if change.options is not None:
            updated.options = options_from_record(updated.platform.value, _json(updated.options.to_record()))
        updated = copy.deepcopy(updated)
        self.rows[publish_id] = updated
        self._append(publish_id, events, now)
        return copy.deepcopy(updated)

    # helpers

    def _recent_same_content(
        self, workspace_id: str, account_id: str, content_fingerprint: str, since: datetime
    ) -> Publish | None:
        since_text = cursor_time(since)
        matching = [
            p for p in self.rows.values()
            if (p.workspace_id, p.account_id, p.content_fingerprint) == (workspace_id, account_id, content_fingerprint)
            and cursor_time(p.created_at) >= since_text
            and p.state not in (PublishState.FAILED, PublishState.CANCELLED, PublishState.MISSED)
        ]
        return max(matching, key=lambda p: cursor_time(p.created_at), default=None)

    @staticmethod
    def _fence(publish: Publish, owner: str | None) -> None:
        """A run's write is made only while its replica holds the publish's lease."""
        if owner is not None and publish.owner != owner:
            raise LeaseLost(
                reason="LEASE_LOST", message=f"publish {publish.id} is driven by another replica now; this run stops"
            )

    def _by_request_id(self, workspace_id: str, request_id: str) -> Publish | None:
        return next(
            (p for p in self.rows.values() if p.workspace_id == workspace_id and p.request_id == request_id), None
        )

    def append_account_event(self, account: Account, event: AccountEvent) -> None:
        """An account's event (in the caller's atomic step: no await before it)."""
        self._last_event_id += 1
        self.account_events.append(WorkspaceEvent(
            EventPosition(0, self._last_event_id), "", account.id, account.platform, None,
            dataclasses.replace(event, time=utc(event.time), details=_json(event.details)),
        ))
        self._workspaces[self._last_event_id] = account.workspace_id
        self._owner.changes.notify(account.id)  # as SQLite's and PostgreSQL's feeds announce it

    def _append(self, publish_id: str, events: Sequence[PublishEvent], now: datetime) -> None:
        timeline = self.timeline.setdefault(publish_id, [])
        for event in events:
            self._last_event_id += 1
            timeline.append(
                dataclasses.replace(
                    event, id=self._last_event_id, sequence=len(timeline) + 1,
                    time=utc(event.time) if event.time else now,
                    details=_json(event.details),
                )
            )


def _copy(publish: Publish | None) -> Publish | None:
    return copy.deepcopy(publish)


# --- webhooks -------------------------------------------------------------------------------


class FakeWebhookStore(_Table):
    """Webhooks and deliveries in memory; the secrets kept as given (sealing is the adapters')."""

    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self.rows: dict[str, tuple[Webhook, str, EventPosition]] = {}
        self.previous_secrets: dict[str, str] = {}
        self.deliveries: dict[str, Delivery] = {}
        self.claimed_until: dict[str, datetime] = {}

    async def create(self, webhook: Webhook, secret: str, cursor: EventPosition, limit: int) -> bool:
        await self._call()
        if sum(1 for w, _, _ in self.rows.values() if w.workspace_id == webhook.workspace_id) >= limit:
            return False
        self.rows[webhook.id] = (dataclasses.replace(webhook, created_at=utc(webhook.created_at)), secret, cursor)
        return True

    async def get(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        await self._call()
        row = self.rows.get(webhook_id)
        return row[0] if row is not None and row[0].workspace_id == workspace_id else None

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Webhook, Cursor]]:
        await self._call()
        mine = [w for w, _, _ in self.rows.values() if w.workspace_id == workspace_id]
        found = _newest_first(mine, lambda w: (cursor_time(w.created_at), w.id), cursor)[:limit]
        return [(w, Cursor(cursor_time(w.created_at), w.id)) for w in found]

    async def delete(self, workspace_id: str, webhook_id: str) -> bool:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[0].workspace_id != workspace_id:
            return False
        del self.rows[webhook_id]
        self.deliveries = {k: d for k, d in self.deliveries.items() if d.webhook_id != webhook_id}
        return True

    async def update(
        self, workspace_id: str, webhook_id: str, changes: WebhookChanges, cursor: EventPosition
    ) -> Webhook | None:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[0].workspace_id != workspace_id:
            return None
        webhook, secret, position = row
        changed = apply_changes(webhook, changes)
        if changed.abandon_pending:
            self._abandon_pending(webhook_id)
        self.rows[webhook_id] = (changed.webhook, secret, cursor if changed.restart_queue else position)
        return changed.webhook

    def _abandon_pending(self, webhook_id: str) -> None:
        for key, delivery in list(self.deliveries.items()):
            if delivery.webhook_id == webhook_id and delivery.state == DeliveryState.PENDING:
                self.deliveries[key] = dataclasses.replace(
                    delivery, state=DeliveryState.ABANDONED, next_attempt_at=None
                )

    async def rotate_secret(
        self, workspace_id: str, webhook_id: str, secret: str, previous_expires_at: datetime
    ) -> Webhook | None:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[0].workspace_id != workspace_id:
            return None
        webhook = dataclasses.replace(row[0], previous_secret_expires_at=utc(previous_expires_at))
        self.previous_secrets[webhook_id] = row[1]
        self.rows[webhook_id] = (webhook, secret, row[2])
        return webhook

    async def signing_secrets(self, workspace_id: str, webhook_id: str, now: datetime) -> tuple[str, ...] | None:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[0].workspace_id != workspace_id:
            return None
        return self._secrets(webhook_id, now)

    def _secrets(self, webhook_id: str, now: datetime) -> tuple[str, ...]:
        webhook, secret, _ = self.rows[webhook_id]
        return signing_secrets(
            secret, self.previous_secrets.get(webhook_id), webhook.previous_secret_expires_at, utc(now)
        )

    async def queue_position(self, webhook_id: str) -> EventPosition | None:
        await self._call()
        row = self.rows.get(webhook_id)
        return row[2] if row is not None else None

    async def enabled(self) -> list[tuple[Webhook, EventPosition]]:
        await self._call()
        return [(w, c) for w, _, c in self.rows.values() if w.state == WebhookState.ENABLED]

    def _queue(self, webhook: Webhook, new: NewDelivery, now: datetime, redelivery: bool) -> Delivery:
        delivery = Delivery(
            id=str(uuid.uuid4()), webhook_id=webhook.id, workspace_id=webhook.workspace_id,
            event_id=new.event_id, event_type=new.event_type, publish_id=new.publish_id, body=new.body,
            state=DeliveryState.PENDING, attempts=0, created_at=utc(now), next_attempt_at=utc(now),
            redelivery=redelivery,
        )
        self.deliveries[delivery.id] = delivery
        return delivery

    async def advance(
        self, webhook_id: str, seen: EventPosition, to: EventPosition, deliveries: Sequence[NewDelivery],
        now: datetime,
    ) -> bool:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[2] != seen or row[0].state != WebhookState.ENABLED:
            return False
        self.rows[webhook_id] = (row[0], row[1], to)
        queued = {(d.webhook_id, d.event_id) for d in self.deliveries.values() if not d.redelivery}
        for new in deliveries:
            if (webhook_id, new.event_id) not in queued:
                self._queue(row[0], new, now, redelivery=False)
        return True

    async def redeliver(self, webhook_id: str, deliveries: Sequence[NewDelivery], now: datetime) -> list[Delivery]:
        await self._call()
        row = self.rows.get(webhook_id)
        if row is None or row[0].state != WebhookState.ENABLED:
            return []
        return [self._queue(row[0], new, now, redelivery=True) for new in deliveries]

    async def get_delivery(self, workspace_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        await self._call()
        found = self.deliveries.get(delivery_id)
        if found is None or found.webhook_id != webhook_id or found.workspace_id != workspace_id:
            return None
        return found

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int, per_webhook: int) -> list[DueDelivery]:
        await self._call()  # no await between the read and the change: one atomic step
        now = utc(now)

        def claimed(d: Delivery) -> bool:
            until = self.claimed_until.get(d.id)
            return until is not None and until > now

        order = {delivery_id: n for n, delivery_id in enumerate(self.deliveries)}  # queued order
        due = sorted(
            (
                d for d in self.deliveries.values()
                if d.state == DeliveryState.PENDING and d.next_attempt_at is not None and d.next_attempt_at <= now
                and not claimed(d) and self.rows[d.webhook_id][0].state == WebhookState.ENABLED
                and (self.rows[d.webhook_id][0].paused_until or now) <= now
            ),
            key=lambda d: (d.next_attempt_at or now, order[d.id]),
        )
        in_flight = collections.Counter(
            d.webhook_id for d in self.deliveries.values() if d.state == DeliveryState.PENDING and claimed(d)
        )
        taken = []
        for delivery in due:
            if len(taken) == limit:
                break
            if in_flight[delivery.webhook_id] >= per_webhook:
                continue
            in_flight[delivery.webhook_id] += 1
            self.claimed_until[delivery.id] = utc(hold_until)
            webhook = self.rows[delivery.webhook_id][0]
            taken.append(DueDelivery(delivery, webhook.url, self._secrets(webhook.id, now)))
        return sorted(taken, key=lambda d: order[d.delivery.id])

    async def record_attempt(self, delivery_id: str, attempt: Attempt, at: datetime, rules: DeliveryRules) -> None:
        await self._call()
        delivery = self.deliveries.get(delivery_id)
        if delivery is None:
            return
        webhook, secret, cursor = self.rows[delivery.webhook_id]
        health = WebhookHealth(
            webhook.state, webhook.disabled_reason, webhook.consecutive_failures, webhook.failing_since,
            webhook.paused_until,
        )
        outcome = settle_attempt(health, delivery, attempt, utc(at), rules)
        self.claimed_until.pop(delivery_id, None)
        self.deliveries[delivery_id] = dataclasses.replace(
            delivery, state=outcome.state, attempts=delivery.attempts + 1, last_attempt_at=utc(at),
            last_status_code=attempt.status_code, last_error=attempt.error, next_attempt_at=outcome.next_attempt_at,
        )
        new = outcome.health
        webhook = dataclasses.replace(
            webhook, state=new.state, disabled_reason=new.disabled_reason,
            consecutive_failures=new.consecutive_failures, failing_since=new.failing_since,
            paused_until=new.paused_until,
        )
        self.rows[delivery.webhook_id] = (webhook, secret, cursor)
        if outcome.abandon_pending:
            self._abandon_pending(webhook.id)

    async def list_deliveries(
        self, workspace_id: str, webhook_id: str, limit: int, cursor: Cursor | None
    ) -> list[tuple[Delivery, Cursor]]:
        await self._call()
        mine = [d for d in self.deliveries.values() if d.webhook_id == webhook_id and d.workspace_id == workspace_id]
        found = _newest_first(mine, lambda d: (cursor_time(d.created_at), d.id), cursor)[:limit]
        return [(d, Cursor(cursor_time(d.created_at), d.id)) for d in found]


# --- coordination ---------------------------------------------------------------------------


class FakeChangeFeed:
    """The change feed of a database shared by replicas: one process hears only its own
    account events from it (like SQLite's); a test calls `notify` to stand for another
    replica's commit."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self.listeners.append(listener)

    def notify(self, publish_id: str) -> None:
        for listener in self.listeners:
            listener(publish_id)


# --- account health ------------------------------------------------------------------------


class FakeAccountHealthStore(_Table):
    """Each account's health facts and when its next check is due, in memory."""

    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self.rows: dict[str, HealthFacts] = {}
        self.next_check: dict[str, datetime | None] = {}
        self.markers: dict[str, dict[str, str | None]] = {}

    async def facts(self, account_ids: Sequence[str]) -> dict[str, HealthFacts]:
        await self._call()
        return {a: self.rows[a] for a in account_ids if a in self.rows}

    async def claim_due(self, now: datetime, hold_until: datetime, limit: int) -> list[tuple[str, str]]:
        await self._call()
        active = {row.account.id: row.account.workspace_id for row in self._owner.accounts.rows.values()
                  if row.account.state == AccountState.ACTIVE}
        due = [a for a in active if (at := self.next_check.get(a)) is None or at <= now]
        due.sort(key=lambda a: (self.next_check.get(a) is not None, self.next_check.get(a) or now, a))
        for account_id in due[:limit]:
            self.next_check[account_id] = hold_until
        return [(active[a], a) for a in due[:limit]]

    async def record_check(
        self, account_id: str, checked_at: datetime, next_check_at: datetime, creator: CreatorStatus | None
    ) -> None:
        await self._call()
        kept = self.rows.get(account_id, HealthFacts())
        self.rows[account_id] = dataclasses.replace(
            kept, checked_at=checked_at, creator=creator if creator is not None else kept.creator
        )
        self.next_check[account_id] = next_check_at

    async def record_failure(self, account_id: str, failure: PlatformFailureNote) -> None:
        await self._call()
        kept = self.rows.get(account_id, HealthFacts())
        self.rows[account_id] = dataclasses.replace(kept, last_failure=failure)

    async def note_condition(self, account_id: str, condition: Condition) -> bool:
        await self._call()  # no await below: one atomic step
        row = self._owner.accounts.rows.get(account_id)
        markers = self.markers.setdefault(account_id, {})
        if row is None or markers.get(condition.name) == condition.marker:
            return False
        markers[condition.name] = condition.marker
        if condition.event is not None and condition.marker is not None:
            self._owner.publishes.append_account_event(row.account, condition.event)
        return True


# --- the store ------------------------------------------------------------------------------


# --- connections in progress ------------------------------------------------------------------


class FakeConnectionStore(_Table):
    def __init__(self, owner: FakeStore) -> None:
        super().__init__(owner)
        self._keys = (os.urandom(32),)
        self.rows: dict[str, tuple[PendingConnection, datetime | None]] = {}

    @property
    def signing_keys(self) -> Sequence[bytes]:
        return self._keys

    def rotate(self, key: bytes) -> None:
        """A new first key, the old ones kept after it (as DISTRIBUTION_SECRET_KEYS rotates)."""
        self._keys = (key, *self._keys)

    async def add(self, pending: PendingConnection) -> None:
        await self._call()
        self.rows = {n: row for n, row in self.rows.items() if row[0].expires_at >= pending.created_at}
        self.rows[pending.nonce] = (pending, None)

    async def claim(self, workspace_id: str, nonce: str, now: datetime) -> Claim:
        await self._call()
        row = self.rows.get(nonce)
        if row is None or row[0].workspace_id != workspace_id:
            return Claim(None)
        if row[1] is not None:
            return Claim(None, already_used=True)
        self.rows[nonce] = (row[0], now)
        return Claim(row[0])


class FakeStore:
    """The three fake stores, as one database. `clock` gives the time of each write (the
    SQLite store uses the wall clock) and `monotonic` paces the rate windows; hand them a
    FakeClock's `now` and `monotonic` for virtual time. `unavailable` makes `ping` fail."""

    def __init__(
        self, clock: Callable[[], datetime] | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.closed = False
        self.unavailable = False
        self._accounts = FakeAccountStore(self)
        self._media = FakeMediaStore(self)
        self._publishes = FakePublishStore(self)
        # The coordination a one-process store keeps in memory is real code (server/adapters/local.py).
        self._locks = LocalLocks()
        self._rate_windows = LocalRateWindows(monotonic)
        self._quotas = LocalQuotas()
        self._changes = FakeChangeFeed()
        self._webhooks = FakeWebhookStore(self)
        self._account_health = FakeAccountHealthStore(self)
        # Event ids are real code too, under a key of this store's own.
        self._event_ids = EventIdCipher([os.urandom(32)])
        self._connections = FakeConnectionStore(self)

    @property
    def accounts(self) -> FakeAccountStore:
        return self._accounts

    @property
    def media(self) -> FakeMediaStore:
        return self._media

    @property
    def publishes(self) -> FakePublishStore:
        return self._publishes

    @property
    def webhooks(self) -> FakeWebhookStore:
        return self._webhooks

    @property
    def event_ids(self) -> EventIdCipher:
        return self._event_ids

    @property
    def locks(self) -> LocalLocks:
        return self._locks

    @property
    def rate_windows(self) -> LocalRateWindows:
        return self._rate_windows

    @property
    def quotas(self) -> LocalQuotas:
        return self._quotas

    @property
    def changes(self) -> FakeChangeFeed:
        return self._changes

    @property
    def connections(self) -> FakeConnectionStore:
        return self._connections

    @property
    def account_health(self) -> FakeAccountHealthStore:
        return self._account_health

    async def ping(self) -> None:
        await self._publishes._call()
        if self.unavailable:
            raise StoreUnavailable(reason="STORE_UNAVAILABLE", message="the database cannot be reached")

    async def close(self) -> None:
        self.closed = True
