"""Records the contract suites write: accounts, media, publishes and events, with defaults."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.models import (
    Account,
    Media,
    MediaKind,
    NewAccount,
    Platform,
    Publish,
    PublishEvent,
    PublishKind,
    PublishState,
    Storage,
)
from server.domain.options import InstagramOptions, TikTokOptions, options_from_record
from server.domain.ports import Store

WORKSPACE = "ws-1"
OTHER_WORKSPACE = "ws-2"
# Records' own times lie in the past, so any write the store times itself comes later.
T0 = datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_account(
    external_account_id: str = "17841400000000001",
    *,
    workspace_id: str = WORKSPACE,
    platform: Platform = Platform.INSTAGRAM,
    username: str = "demo",
    access_token: str = "access-1",
    refresh_token: str | None = None,
    access_token_expires_at: datetime | None = None,
    refresh_token_expires_at: datetime | None = None,
) -> NewAccount:
    return NewAccount(
        workspace_id=workspace_id,
        platform=platform,
        external_account_id=external_account_id,
        username=username,
        access_token=access_token,
        refresh_token=refresh_token,
        access_token_expires_at=access_token_expires_at,
        refresh_token_expires_at=refresh_token_expires_at,
    )


def new_media(created_at: datetime = T0, *, workspace_id: str = WORKSPACE, **fields: Any) -> Media:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "workspace_id": workspace_id,
        "url": "gs://bucket/photo.jpg",
        "mime_type": "image/jpeg",
        "kind": MediaKind.IMAGE,
        "storage": Storage.GCS,
        "width": 1080,
        "height": 1350,
        "size_bytes": 123_456,
        "created_at": created_at,
    }
    values.update(fields)
    return Media(**values)


def new_publish(account: Account, created_at: datetime = T0, **fields: Any) -> Publish:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "workspace_id": account.workspace_id,
        "platform": account.platform,
        "kind": PublishKind.CAROUSEL,
        "account_id": account.id,
        "media_ids": [str(uuid.uuid4()), str(uuid.uuid4())],
        "caption": "Autumn #demo",
        "options": InstagramOptions() if account.platform == Platform.INSTAGRAM else TikTokOptions(),
        "state": PublishState.PENDING,
        "request_id": None,
        "created_at": created_at,
        "updated_at": created_at,
        "request_fingerprint": "request-fp",
        "content_fingerprint": "content-fp",
        "child_container_ids": [None, None] if account.platform == Platform.INSTAGRAM else [],
    }
    values.update(fields)
    if isinstance(values["options"], dict):  # the record form, as stored
        values["options"] = options_from_record(account.platform.value, values["options"])
    return Publish(**values)


def event(type: str = "CREATED", state: PublishState | None = None, **fields: Any) -> PublishEvent:
    return PublishEvent(type=type, message=f"{type} happened", state=state, **fields)


async def account_in(store: Store, **fields: Any) -> Account:
    return await store.accounts.upsert(new_account(**fields))


async def created(store: Store, account: Account, created_at: datetime = T0, **fields: Any) -> Publish:
    """A publish the store holds (PENDING, with its CREATED event)."""
    publish = new_publish(account, created_at, **fields)
    assert await store.publishes.create(publish, [event("CREATED", PublishState.PENDING)]) is None
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    return stored


async def in_state(store: Store, publish: Publish, state: PublishState) -> Publish:
    """Moves the publish to `state` along allowed transitions. A scheduled publish is
    recorded SCHEDULED, never moved there: for SCHEDULED and the states only it may
    become (CANCELLED, MISSED), a copy of `publish` under a new id is recorded SCHEDULED."""
    current = publish
    if state in (PublishState.SCHEDULED, PublishState.CANCELLED, PublishState.MISSED):
        copy = dataclasses.replace(
            publish, id=str(uuid.uuid4()), request_id=None, state=PublishState.SCHEDULED,
            schedule_time=publish.created_at + timedelta(hours=1),
        )
        assert await store.publishes.create(
            copy, [event("CREATED", PublishState.PENDING), event("SCHEDULED", PublishState.SCHEDULED)],
        ) is None
        current = await store.publishes.get(copy.id)  # type: ignore[assignment]
        if state == PublishState.SCHEDULED:
            return current
        return await store.publishes.apply(current.id, change(state=state), [event(state.value, state)])
    if state != PublishState.PENDING:
        if state != PublishState.PROCESSING:
            return await store.publishes.apply(current.id, change(state=state), [event(state.value, state)])
        current = await store.publishes.apply(current.id, change(state=state), [event("PROCESSING_STARTED", state)])
    return current


def without(publish: Publish, *names: str) -> dict[str, Any]:
    """The record's fields but `names` (those a write is expected to change)."""
    return {k: v for k, v in dataclasses.asdict(publish).items() if k not in names}


def change(**fields: Any) -> PublishChange:
    """A change from the fields a test names: a field that the record may hold empty is set
    to its value, cleared by None (KEEP leaves it); `release=True` clears the lease."""
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "release":
            if value:
                values["lease"] = CLEAR
        elif name in ("state", "reconcile_attempts"):
            values[name] = value
        elif name == "pending_facts":
            values[name] = tuple(value)
        elif value is KEEP or value is False:
            values[name] = KEEP
        else:
            values[name] = CLEAR if value is None else SetTo(value)
    return PublishChange(**values)


async def release(store: Store, owner: str, publish_id: str, ev: PublishEvent | None = None) -> Publish | None:
    """Ends `owner`'s lease with an optional event (a run's last write); None when it did not hold it."""
    try:
        return await store.publishes.apply(
            publish_id, PublishChange(lease=CLEAR), [ev] if ev is not None else [], owner=owner
        )
    except (LeaseLost, KeyError):
        return None


async def reschedule(store: Store, publish_id: str, at: datetime, ev: PublishEvent) -> Publish | None:
    """Moves a SCHEDULED publish's time with its event; None (nothing written) when it is not SCHEDULED."""
    try:
        return await store.publishes.apply(
            publish_id, PublishChange(schedule_time=SetTo(at), only_from=frozenset({PublishState.SCHEDULED})), [ev]
        )
    except IllegalTransition:
        return None
