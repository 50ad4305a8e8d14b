"""The WebhookStore contract: registrations with sealed secrets, capped per workspace; a queue
position moved by compare-and-set; deliveries queued once per (webhook, event) by the stream
and again by redelivery; claims that hand each due delivery to one replica and never put more
than the pace in flight for one webhook, across replicas; each attempt's outcome applied
(server.domain.webhooks.settle_attempt), a disable ending the pending deliveries; updates,
re-enabling and secret rotation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.events import START, EventPosition
from server.domain.ports import Store
from server.domain.webhooks import (
    Attempt,
    DeliveryRules,
    DeliveryState,
    EventKind,
    NewDelivery,
    Webhook,
    WebhookChanges,
    WebhookState,
)
from tests.contracts.records import OTHER_WORKSPACE, T0, WORKSPACE, at
from tests.contracts.test_event_stream import second_replica

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
LIMIT = 20
RULES = DeliveryRules(retry_scale=1.0, disable_window=timedelta(days=5))


def new_webhook(workspace_id: str = WORKSPACE, seconds: float = 0) -> Webhook:
    return Webhook(
        id=str(uuid.uuid4()), workspace_id=workspace_id, url="https://hooks.example.com/in",
        event_kinds=frozenset({EventKind.PUBLISH_STATE_CHANGED}), description="ops", created_at=at(seconds),
    )


def deliveries(*numbers: int) -> list[NewDelivery]:
    return [
        NewDelivery(f"evt_{n}", "publish.state_changed", str(uuid.UUID(int=n)), f'{{"n":{n}}}')
        for n in numbers
    ]


async def created(store: Store, count: int = 0) -> Webhook:
    hook = new_webhook()
    assert await store.webhooks.create(hook, SECRET, START, LIMIT)
    if count:
        assert await store.webhooks.advance(hook.id, START, EventPosition(0, count), deliveries(*range(1, count + 1)),
                                            T0)
    return hook


async def test_a_webhook_is_kept_whole_per_workspace_and_its_secret_sealed(store: Store) -> None:
    webhook = new_webhook()
    assert await store.webhooks.create(webhook, SECRET, EventPosition(0, 7), LIMIT)
    assert await store.webhooks.get(WORKSPACE, webhook.id) == webhook
    assert await store.webhooks.get(OTHER_WORKSPACE, webhook.id) is None
    assert await store.webhooks.enabled() == [(webhook, EventPosition(0, 7))]
    assert await store.webhooks.queue_position(webhook.id) == EventPosition(0, 7)
    assert await store.webhooks.signing_secrets(WORKSPACE, webhook.id, T0) == (SECRET,)
    assert await store.webhooks.signing_secrets(OTHER_WORKSPACE, webhook.id, T0) is None
    if isinstance(store, SqliteStore):
        rows = await store.database.run(lambda db: db.conn.execute("SELECT * FROM webhooks").fetchall())
        assert SECRET not in repr(rows)
    if isinstance(store, PostgresStore):
        rows = await store.database.fetch("SELECT * FROM webhooks")
        assert SECRET not in repr([dict(r) for r in rows])


async def test_a_workspace_gets_no_more_webhooks_than_its_limit_even_all_at_once(store: Store) -> None:
    async with second_replica(store) as other:
        made = await asyncio.gather(*(
            s.webhooks.create(new_webhook(seconds=n), SECRET, START, 5) for n, s in enumerate([store, other] * 6)
        ))
    assert sum(made) == 5
    assert len(await store.webhooks.list_page(WORKSPACE, 100, None)) == 5
    assert await store.webhooks.create(new_webhook(OTHER_WORKSPACE), SECRET, START, 5)  # per workspace


async def test_webhooks_list_newest_first_in_pages_and_delete_takes_their_deliveries(store: Store) -> None:
    hooks = [new_webhook(seconds=n) for n in range(3)]
    for hook in hooks:
        await store.webhooks.create(hook, SECRET, START, LIMIT)
    first = await store.webhooks.list_page(WORKSPACE, 2, None)
    rest = await store.webhooks.list_page(WORKSPACE, 2, first[-1][1])
    assert [w.id for w, _ in first + rest] == [h.id for h in reversed(hooks)]
    assert await store.webhooks.advance(hooks[0].id, START, EventPosition(0, 2), deliveries(1, 2), T0)
    assert await store.webhooks.delete(OTHER_WORKSPACE, hooks[0].id) is False
    assert await store.webhooks.delete(WORKSPACE, hooks[0].id) is True
    assert await store.webhooks.list_deliveries(WORKSPACE, hooks[0].id, 10, None) == []
    assert await store.webhooks.claim_due(at(1), at(60), 10, 10) == []


async def test_the_queue_position_moves_only_from_where_it_was_and_queues_each_event_once(store: Store) -> None:
    hook = await created(store)
    assert await store.webhooks.advance(hook.id, START, EventPosition(0, 2), deliveries(1, 2), T0)
    assert not await store.webhooks.advance(hook.id, START, EventPosition(0, 3), deliveries(1, 2, 3), T0)
    assert await store.webhooks.advance(hook.id, EventPosition(0, 2), EventPosition(0, 3), deliveries(2, 3), T0)
    queued = await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)
    assert sorted(d.event_id for d, _ in queued) == ["evt_1", "evt_2", "evt_3"]
    assert {(d.state, d.redelivery) for d, _ in queued} == {(DeliveryState.PENDING, False)}


async def test_redelivery_queues_an_event_again_as_a_new_delivery(store: Store) -> None:
    hook = await created(store, 2)
    again = await store.webhooks.redeliver(hook.id, deliveries(1, 1, 2), at(5))
    assert [(d.event_id, d.redelivery, d.state, d.next_attempt_at) for d in again] == [
        ("evt_1", True, DeliveryState.PENDING, at(5)), ("evt_1", True, DeliveryState.PENDING, at(5)),
        ("evt_2", True, DeliveryState.PENDING, at(5)),
    ]
    assert len({d.id for d in again}) == 3
    assert await store.webhooks.get_delivery(WORKSPACE, hook.id, again[0].id) == again[0]
    assert await store.webhooks.get_delivery(OTHER_WORKSPACE, hook.id, again[0].id) is None
    assert len(await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)) == 5
    # the stream still queues each event once beside them
    assert await store.webhooks.advance(hook.id, EventPosition(0, 2), EventPosition(0, 3), deliveries(1, 3), at(6))
    assert len(await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)) == 6


async def test_each_due_delivery_is_claimed_by_one_replica_in_the_order_queued(store: Store) -> None:
    hook = await created(store, 40)
    claims = []
    async with second_replica(store) as other:
        # Replicas claiming at once: a replica finding the webhook being claimed for by another
        # skips it this time (PostgreSQL), so rounds go on until every delivery is taken.
        for _ in range(20):
            rounds = await asyncio.gather(*(
                s.webhooks.claim_due(at(1), at(60), 7, 100) for s in (store, other, store, other)
            ))
            claims.extend(rounds)
            if sum(len(c) for c in claims) >= 40:
                break
    ids = [d.delivery.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)) == 40
    assert all(d.secrets == (SECRET,) and d.url == hook.url for claim in claims for d in claim)
    assert SECRET not in repr(claims[0])
    assert await store.webhooks.claim_due(at(2), at(60), 100, 100) == []  # held until their claim lapses
    again = await store.webhooks.claim_due(at(61), at(120), 100, 100)
    assert [d.delivery.event_id for d in again] == [f"evt_{n}" for n in range(1, 41)]


async def test_no_more_than_the_pace_is_in_flight_for_one_webhook_across_replicas(store: Store) -> None:
    hook, other_hook = await created(store, 10), new_webhook(seconds=1)
    await store.webhooks.create(other_hook, SECRET, START, LIMIT)
    await store.webhooks.advance(other_hook.id, START, EventPosition(0, 10), deliveries(*range(1, 11)), T0)
    async with second_replica(store) as other:
        claims = await asyncio.gather(*(s.webhooks.claim_due(at(1), at(60), 100, 2) for s in (store, other) * 3))
        taken = [d for claim in claims for d in claim]
        assert sorted(d.delivery.webhook_id for d in taken) == sorted([hook.id] * 2 + [other_hook.id] * 2)
        assert await other.webhooks.claim_due(at(2), at(60), 100, 2) == []
        first = taken[0].delivery
        await store.webhooks.record_attempt(first.id, Attempt(200), at(3), RULES)
        (next_one,) = await other.webhooks.claim_due(at(3), at(60), 100, 2)  # a slot freed: one more
        assert next_one.delivery.webhook_id == first.webhook_id
    # a lapsed claim holds no slot
    assert len(await store.webhooks.claim_due(at(61), at(120), 100, 2)) == 4


async def test_attempts_are_logged_and_a_long_run_of_failures_disables_and_ends_pending(store: Store) -> None:
    hook = await created(store, 4)
    one, two, three = (d.delivery for d in await store.webhooks.claim_due(at(1), at(60), 3, 10))
    await store.webhooks.record_attempt(one.id, Attempt(200), at(2), RULES)
    await store.webhooks.record_attempt(two.id, Attempt(503, "HTTP 503", retry_after=30), at(2), RULES)
    found = await store.webhooks.get(WORKSPACE, hook.id)
    assert found is not None and (found.state, found.consecutive_failures, found.failing_since) == (
        WebhookState.ENABLED, 1, at(2)
    )
    assert found.paused_until == at(32)
    assert await store.webhooks.claim_due(at(20), at(60), 10, 10) == []  # paused: Retry-After
    log = {d.id: d for d, _ in await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)}
    assert (log[one.id].state, log[one.id].attempts, log[one.id].last_status_code) == (DeliveryState.DELIVERED, 1, 200)
    assert log[two.id].state == DeliveryState.PENDING and log[two.id].next_attempt_at >= at(32)  # type: ignore[operator]
    five_days = 2 + 5 * 86400
    await store.webhooks.record_attempt(three.id, Attempt(0, "no answer within 10 s"), at(five_days), RULES)
    found = await store.webhooks.get(WORKSPACE, hook.id)
    assert found is not None and found.state == WebhookState.DISABLED
    assert found.disabled_reason.endswith("(5 days); the last error: no answer within 10 s")
    log = {d.id: d for d, _ in await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)}
    assert [log[d.id].state for d in (one, two, three)] == [
        DeliveryState.DELIVERED, DeliveryState.ABANDONED, DeliveryState.ABANDONED
    ]
    assert not [d for d in log.values() if d.state == DeliveryState.PENDING]  # the fourth, never tried, too
    assert all(d.next_attempt_at is None for d in log.values())
    assert await store.webhooks.claim_due(at(10**6), at(10**6 + 60), 10, 10) == []
    assert await store.webhooks.enabled() == []
    assert not await store.webhooks.advance(hook.id, EventPosition(0, 4), EventPosition(0, 5), deliveries(5), T0)


async def test_an_update_changes_fields_and_enabling_again_starts_from_now_with_the_secret(store: Store) -> None:
    hook = await created(store, 2)
    assert await store.webhooks.update(OTHER_WORKSPACE, hook.id, WebhookChanges(description="x"), START) is None
    changed = await store.webhooks.update(WORKSPACE, hook.id, WebhookChanges(
        url="https://hooks.example.com/new", event_kinds=frozenset(), description="new",
    ), START)
    assert changed is not None and (changed.url, changed.event_kinds, changed.description) == (
        "https://hooks.example.com/new", frozenset(), "new"
    )
    off = await store.webhooks.update(WORKSPACE, hook.id, WebhookChanges(enabled=False), START)
    assert off is not None and (off.state, off.disabled_reason) == (WebhookState.DISABLED, "disabled by UpdateWebhook")
    log = await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)
    assert {d.state for d, _ in log} == {DeliveryState.ABANDONED}
    assert await store.webhooks.redeliver(hook.id, deliveries(1), at(1)) == []  # none waits on a disabled one
    on = await store.webhooks.update(WORKSPACE, hook.id, WebhookChanges(enabled=True), EventPosition(0, 9))
    assert on is not None and (on.state, on.disabled_reason, on.failing_since) == (WebhookState.ENABLED, "", None)
    assert await store.webhooks.queue_position(hook.id) == EventPosition(0, 9)
    assert await store.webhooks.signing_secrets(WORKSPACE, hook.id, T0) == (SECRET,)
    again = await store.webhooks.update(WORKSPACE, hook.id, WebhookChanges(enabled=True), EventPosition(0, 20))
    assert again == on and await store.webhooks.queue_position(hook.id) == EventPosition(0, 9)  # already on


async def test_a_rotated_secret_signs_beside_the_new_one_until_it_expires(store: Store) -> None:
    hook = await created(store, 1)
    rotated = await store.webhooks.rotate_secret(WORKSPACE, hook.id, NEW_SECRET, at(100))
    assert rotated is not None and rotated.previous_secret_expires_at == at(100)
    assert await store.webhooks.rotate_secret(OTHER_WORKSPACE, hook.id, NEW_SECRET, at(100)) is None
    assert await store.webhooks.signing_secrets(WORKSPACE, hook.id, at(99)) == (NEW_SECRET, SECRET)
    assert await store.webhooks.signing_secrets(WORKSPACE, hook.id, at(100)) == (NEW_SECRET,)
    (due,) = await store.webhooks.claim_due(at(1), at(60), 10, 10)
    assert due.secrets == (NEW_SECRET, SECRET)
    if isinstance(store, SqliteStore):
        rows = await store.database.run(lambda db: db.conn.execute("SELECT * FROM webhooks").fetchall())
        assert SECRET not in repr(rows) and NEW_SECRET not in repr(rows)
    if isinstance(store, PostgresStore):
        rows = await store.database.fetch("SELECT * FROM webhooks")
        assert SECRET not in repr([dict(r) for r in rows]) and NEW_SECRET not in repr([dict(r) for r in rows])


async def test_an_attempt_on_a_webhook_deleted_meanwhile_is_dropped_quietly(store: Store) -> None:
    hook = await created(store, 1)
    (due,) = await store.webhooks.claim_due(at(1), at(60), 10, 10)
    assert await store.webhooks.delete(WORKSPACE, hook.id)
    await store.webhooks.record_attempt(due.delivery.id, Attempt(200), at(2), RULES)  # nothing to record
    assert await store.webhooks.redeliver(hook.id, deliveries(1), at(3)) == []
    assert await store.webhooks.queue_position(hook.id) is None
