"""The WebhookStore contract: registrations with sealed secrets, a queue position moved by
compare-and-set, deliveries unique per (webhook, event), claims that hand each due delivery
to one replica, the attempt log and disabling."""

from __future__ import annotations

import asyncio
import uuid

from server.adapters.postgres import PostgresStore
from server.adapters.sqlite import SqliteStore
from server.domain.events import START, EventPosition
from server.domain.ports import Store
from server.domain.webhooks import Attempt, DeliveryState, EventKind, NewDelivery, Webhook, WebhookState
from tests.contracts.records import OTHER_WORKSPACE, T0, WORKSPACE, at
from tests.contracts.test_event_stream import second_replica

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def new_webhook(workspace_id: str = WORKSPACE, seconds: float = 0) -> Webhook:
    return Webhook(
        id=str(uuid.uuid4()), workspace_id=workspace_id, url="https://hooks.example.com/in",
        event_kinds=frozenset({EventKind.PUBLISH_STATE_CHANGED}), description="ops", created_at=at(seconds),
    )


def deliveries(*numbers: int) -> list[NewDelivery]:
    return [
        NewDelivery(EventPosition(0, n).token(), "publish.state_changed", str(uuid.UUID(int=n)), f'{{"n":{n}}}')
        for n in numbers
    ]


async def test_a_webhook_is_kept_whole_per_workspace_and_its_secret_sealed(store: Store) -> None:
    webhook = new_webhook()
    await store.webhooks.create(webhook, SECRET, EventPosition(0, 7))
    assert await store.webhooks.get(WORKSPACE, webhook.id) == webhook
    assert await store.webhooks.get(OTHER_WORKSPACE, webhook.id) is None
    assert await store.webhooks.enabled() == [(webhook, EventPosition(0, 7))]
    if isinstance(store, SqliteStore):
        rows = await store.database.run(lambda db: db.conn.execute("SELECT * FROM webhooks").fetchall())
        assert SECRET not in repr(rows)
    if isinstance(store, PostgresStore):
        rows = await store.database.fetch("SELECT * FROM webhooks")
        assert SECRET not in repr([dict(r) for r in rows])


async def test_webhooks_list_newest_first_in_pages_and_delete_takes_their_deliveries(store: Store) -> None:
    hooks = [new_webhook(seconds=n) for n in range(3)]
    for hook in hooks:
        await store.webhooks.create(hook, SECRET, START)
    first = await store.webhooks.list_page(WORKSPACE, 2, None)
    rest = await store.webhooks.list_page(WORKSPACE, 2, first[-1][1])
    assert [w.id for w, _ in first + rest] == [h.id for h in reversed(hooks)]
    assert await store.webhooks.advance(hooks[0].id, START, EventPosition(0, 2), deliveries(1, 2), T0)
    assert await store.webhooks.delete(OTHER_WORKSPACE, hooks[0].id) is False
    assert await store.webhooks.delete(WORKSPACE, hooks[0].id) is True
    assert await store.webhooks.list_deliveries(WORKSPACE, hooks[0].id, 10, None) == []
    assert await store.webhooks.claim_due(at(1), at(60), 10) == []


async def test_the_queue_position_moves_only_from_where_it_was_and_queues_each_event_once(store: Store) -> None:
    hook = new_webhook()
    await store.webhooks.create(hook, SECRET, START)
    assert await store.webhooks.advance(hook.id, START, EventPosition(0, 2), deliveries(1, 2), T0)
    assert not await store.webhooks.advance(hook.id, START, EventPosition(0, 3), deliveries(1, 2, 3), T0)
    assert await store.webhooks.advance(hook.id, EventPosition(0, 2), EventPosition(0, 3), deliveries(2, 3), T0)
    queued = await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)
    assert sorted(d.event_id for d, _ in queued) == [EventPosition(0, n).token() for n in (1, 2, 3)]
    assert {d.state for d, _ in queued} == {DeliveryState.PENDING}


async def test_each_due_delivery_is_claimed_by_one_replica(store: Store) -> None:
    hook = new_webhook()
    await store.webhooks.create(hook, SECRET, START)
    await store.webhooks.advance(hook.id, START, EventPosition(0, 40), deliveries(*range(1, 41)), T0)
    async with second_replica(store) as other:
        claims = await asyncio.gather(*(
            s.webhooks.claim_due(at(1), at(60), 7) for s in (store, other, store, other, store, other, store)
        ))
    ids = [d.delivery.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)) == 40
    assert all(d.secret == SECRET and d.url == hook.url for claim in claims for d in claim)
    assert SECRET not in repr(claims[0])
    assert await store.webhooks.claim_due(at(2), at(60), 100) == []  # held until their claim lapses
    assert len(await store.webhooks.claim_due(at(61), at(120), 100)) == 40


async def test_attempts_are_logged_and_failures_in_a_row_disable_the_webhook(store: Store) -> None:
    hook = new_webhook()
    await store.webhooks.create(hook, SECRET, START)
    await store.webhooks.advance(hook.id, START, EventPosition(0, 3), deliveries(1, 2, 3), T0)
    due = await store.webhooks.claim_due(at(1), at(60), 10)
    one, two, three = (d.delivery for d in due)
    await store.webhooks.record_attempt(one.id, Attempt(200), at(2), None, 2)
    await store.webhooks.record_attempt(two.id, Attempt(503, "HTTP 503"), at(2), at(10), 2)
    found = await store.webhooks.get(WORKSPACE, hook.id)
    assert found is not None and (found.state, found.consecutive_failures) == (WebhookState.ENABLED, 1)
    await store.webhooks.record_attempt(three.id, Attempt(0, "no answer within 10 s"), at(3), None, 2)
    found = await store.webhooks.get(WORKSPACE, hook.id)
    assert found is not None and found.state == WebhookState.DISABLED
    assert found.disabled_reason == (
        "disabled after 2 failed delivery attempts in a row; the last: no answer within 10 s"
    )
    log = {d.id: d for d, _ in await store.webhooks.list_deliveries(WORKSPACE, hook.id, 10, None)}
    assert (log[one.id].state, log[one.id].attempts, log[one.id].last_status_code) == (DeliveryState.DELIVERED, 1, 200)
    assert (log[two.id].state, log[two.id].last_error, log[two.id].next_attempt_at) == (
        DeliveryState.PENDING, "HTTP 503", at(10)
    )
    assert log[three.id].state == DeliveryState.FAILED and log[three.id].last_attempt_at == at(3)
    assert await store.webhooks.claim_due(at(100), at(160), 10) == []  # a disabled webhook gets nothing
    assert await store.webhooks.enabled() == []
