"""Account events in the event log (AccountStore.upsert and mark_needs_reconnect,
AccountHealthStore.note_condition, read by PublishStore.workspace_events), on the fake, SQLite
and PostgreSQL: in one order with publish events, each written in the step of the change that
causes it, so once per condition, even when two replicas note the same condition at once."""

from __future__ import annotations

import asyncio

from server.domain.account_events import Condition, quota_low_event, token_expiring
from server.domain.events import EventFilter
from server.domain.health import AccountHealth, HealthFacts, HealthState, QuotaStatus
from server.domain.models import Platform, PublishState
from server.domain.ports import Store
from server.domain.webhooks import EventKind
from tests.contracts.records import OTHER_WORKSPACE, T0, WORKSPACE, account_in, at, change, created, event, new_account
from tests.contracts.test_event_stream import everything, second_replica, settled


def expiring(marker: str) -> Condition:
    return Condition("token_expiring", marker, token_expiring("refresh_token", at(86400), T0))


def low(on: bool) -> Condition:
    health = AccountHealth(HealthState.QUOTA_LOW, HealthFacts(), QuotaStatus(48, 50, T0))
    return Condition("quota_low", "low" if on else None, quota_low_event(health, T0) if on else None)


async def test_account_events_come_in_one_order_with_publish_events(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    await store.accounts.mark_needs_reconnect(account.id, "rejected", "190")
    await store.publishes.apply(publish.id, change(), [event("NOTE")])
    again = await store.accounts.upsert(new_account(access_token="new"))  # a reconnect
    assert again.id == account.id
    await store.account_health.note_condition(account.id, expiring("refresh_token@1"))
    await settled(store, 5)
    found = await everything(store)
    assert [(e.publish_id, e.event.type if e.event else e.kind.value) for e in found] == [
        (publish.id, "CREATED"), ("", "account.reauth_required"), (publish.id, "NOTE"),
        ("", "account.reconnected"), ("", "account.token_expiring"),
    ]
    assert [e.position for e in found] == sorted(e.position for e in found)
    reauth = found[1]
    assert (reauth.account_id, reauth.platform) == (account.id, Platform.INSTAGRAM)
    assert reauth.account_event is not None and reauth.event is None
    assert reauth.account_event.details == {"reason": "rejected", "platform_code": "190"}
    assert found[3].account_event is not None
    assert found[3].account_event.details == {"previous_state": "NEEDS_RECONNECT"}
    # Resumable from an account event, and timed like any event.
    assert await store.publishes.workspace_events(WORKSPACE, reauth.position, 100) == found[2:]
    assert await store.publishes.event_time(WORKSPACE, reauth.position) == reauth.account_event.time
    assert await store.publishes.event_time(OTHER_WORKSPACE, reauth.position) is None
    assert await store.publishes.last_position() == found[-1].position
    assert await everything(store, OTHER_WORKSPACE) == []
    # The publish's own timeline has its events only.
    assert [e.type for e in await store.publishes.events(publish.id)] == ["CREATED", "NOTE"]


async def test_the_streams_filters_apply_to_account_events(store: Store) -> None:
    account = await account_in(store)
    other = await store.accounts.upsert(new_account(external_account_id="o", platform=Platform.TIKTOK))
    await created(store, account)
    await store.accounts.mark_needs_reconnect(account.id)
    await store.accounts.mark_needs_reconnect(other.id)
    await settled(store, 3)

    async def kinds(where: EventFilter) -> list[str]:
        return [e.kind.value for e in await everything(store, where=where)]

    assert await kinds(EventFilter(account_id=other.id)) == ["account.reauth_required"]
    assert await kinds(EventFilter(platform=Platform.INSTAGRAM)) == ["publish.state_changed", "account.reauth_required"]
    assert await kinds(EventFilter(states=frozenset({PublishState.PENDING}))) == ["publish.state_changed"]
    assert await kinds(EventFilter(kinds=frozenset({EventKind.ACCOUNT_REAUTH_REQUIRED}))) == [
        "account.reauth_required", "account.reauth_required",
    ]
    assert await kinds(EventFilter(kinds=frozenset({EventKind.PUBLISH_STATE_CHANGED}))) == ["publish.state_changed"]
    assert await kinds(EventFilter(since=at(-60))) == [
        "publish.state_changed", "account.reauth_required", "account.reauth_required",
    ]


async def test_reauth_required_is_written_once_with_the_state_change(store: Store) -> None:
    account = await account_in(store)
    await store.accounts.mark_needs_reconnect(account.id)
    await store.accounts.mark_needs_reconnect(account.id)
    await store.accounts.disconnect(WORKSPACE, account.id)
    await store.accounts.mark_needs_reconnect(account.id)  # only an ACTIVE account changes
    await settled(store, 1)
    assert [e.kind for e in await everything(store)] == [EventKind.ACCOUNT_REAUTH_REQUIRED]
    await store.accounts.upsert(new_account())
    await settled(store, 2)
    last = (await everything(store))[-1]
    assert last.account_event is not None
    assert last.account_event.details == {"previous_state": "DISCONNECTED"}


async def test_a_condition_is_written_once_per_marker_and_armed_again_by_none(store: Store) -> None:
    account = await account_in(store)
    assert await store.account_health.note_condition(account.id, low(True))
    assert not await store.account_health.note_condition(account.id, low(True))
    assert await store.account_health.note_condition(account.id, low(False))  # back above: no event
    assert not await store.account_health.note_condition(account.id, low(False))
    assert await store.account_health.note_condition(account.id, low(True))
    assert await store.account_health.note_condition(account.id, expiring("refresh_token@1"))
    assert not await store.account_health.note_condition(account.id, expiring("refresh_token@1"))
    assert await store.account_health.note_condition(account.id, expiring("refresh_token@2"))
    assert not await store.account_health.note_condition("00000000-0000-4000-8000-000000000000", low(True))
    await settled(store, 4)
    assert [e.kind for e in await everything(store)] == [
        EventKind.ACCOUNT_QUOTA_LOW, EventKind.ACCOUNT_QUOTA_LOW,
        EventKind.ACCOUNT_TOKEN_EXPIRING, EventKind.ACCOUNT_TOKEN_EXPIRING,
    ]
    # The markers are the health store's own: the facts it keeps are untouched.
    assert (await store.account_health.facts([account.id])).get(account.id, HealthFacts()) == HealthFacts()


async def test_two_replicas_noting_the_same_condition_at_once_write_one_event(store: Store) -> None:
    account = await account_in(store)
    async with second_replica(store) as other:
        for round_ in range(5):
            marker = f"refresh_token@{round_}"
            moved = await asyncio.gather(
                *(s.account_health.note_condition(account.id, expiring(marker)) for s in [store, other] * 3)
            )
            assert sum(moved) == 1
            await asyncio.gather(store.accounts.mark_needs_reconnect(account.id),
                                 other.accounts.mark_needs_reconnect(account.id))
            await store.accounts.upsert(new_account())
    await settled(store, 15)
    kinds = [e.kind for e in await everything(store)]
    assert kinds == [EventKind.ACCOUNT_TOKEN_EXPIRING, EventKind.ACCOUNT_REAUTH_REQUIRED,
                     EventKind.ACCOUNT_RECONNECTED] * 5


async def test_an_event_of_a_publish_and_of_an_account_keep_their_own_fields(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    await store.accounts.mark_needs_reconnect(account.id)
    await settled(store, 2)
    first, second = await everything(store)
    assert first.event is not None and first.account_event is None and first.publish_id == publish.id
    assert second.event is None and second.account_event is not None and second.publish_id == ""
    assert (first.kind, second.kind) == (EventKind.PUBLISH_STATE_CHANGED, EventKind.ACCOUNT_REAUTH_REQUIRED)


async def test_an_account_event_is_announced_on_the_change_feed_to_every_replica(store: Store) -> None:
    account = await account_in(store)
    async with second_replica(store) as other:
        heard: list[str] = []
        other.changes.subscribe(heard.append)
        await asyncio.sleep(0.2)  # the replica's listener is connected
        await store.accounts.mark_needs_reconnect(account.id)
        for _ in range(200):
            if account.id in heard:
                break
            await asyncio.sleep(0.05)
        assert account.id in heard


async def test_no_marker_on_an_account_never_noted_moves_nothing(store: Store) -> None:
    account = await account_in(store)
    assert not await store.account_health.note_condition(account.id, low(False))
    assert await everything(store) == []
