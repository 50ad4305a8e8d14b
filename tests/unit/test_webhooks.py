"""Webhooks on fakes: the Standard Webhooks signature (its published test vector), the retry
schedule, registration checks, and the dispatcher queueing, signing and retrying
(server/services/webhooks.py). Disabling by time, pacing, Retry-After, re-enabling,
redelivery, rotation, the test ping and the cap: tests/unit/test_webhook_recovery.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from server.bootstrap import Adapters, build_services
from server.config import Settings
from server.domain.errors import InvalidArgument, NotFound
from server.domain.events import EventPosition, WorkspaceEvent
from server.domain.webhooks import (
    MAX_URL_LENGTH,
    RETRY_SCHEDULE,
    DeliveryState,
    EventKind,
    Webhook,
    next_attempt,
    secret_key,
    sign,
)
from server.services.webhooks import PAGE, WebhookDispatcher, WebhookPolicy
from tests.fakes import FakeWebhookSender
from tests.unit.conftest import World, make_world
from tests.unit.helpers import until

URL = "https://hooks.example.com/distribution"


def test_signatures_match_the_standard_webhooks_test_vector() -> None:
    # From the Standard Webhooks reference libraries: a receiver's library must accept ours.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_retry_schedule_is_standard_webhooks_scaled_with_jitter_then_gives_up() -> None:
    now = make_world().clock.now()
    rng = random.Random(3)
    for attempts, step in enumerate(RETRY_SCHEDULE, 1):
        wait = (next_attempt(attempts, now, 1.0, rng) - now).total_seconds()  # type: ignore[operator]
        assert step * 0.8 <= wait <= step * 1.2
    assert next_attempt(len(RETRY_SCHEDULE) + 1, now) is None
    scaled = next_attempt(2, now, 0.001, rng)
    assert scaled is not None and scaled - now <= timedelta(seconds=0.36)


@pytest.fixture
async def hooked() -> AsyncIterator[tuple[World, FakeWebhookSender]]:
    world = make_world()
    sender = FakeWebhookSender()
    world.services = build_services(
        # min_interval 0: passes follow nudges at once (the unit layer lets no real time pass).
        Settings(webhooks=WebhookPolicy(retry_scale=0.0, min_interval=0.0)),
        Adapters(store=world.store, instagram=world.instagram, tiktok=world.tiktok, clock=world.clock,
                 segmenter=world.segmenter, metrics=world.metrics, webhook_sender=sender),
        "unit-replica",
    )
    yield world, sender
    await world.services.runner.stop(0)


async def test_create_returns_the_secret_once_and_checks_every_field(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, _ = hooked
    webhooks = world.services.webhooks
    assert webhooks is not None
    webhook, secret = await webhooks.create(world.workspace, URL, [EventKind.PUBLISH_STATE_CHANGED], "ops")
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert await webhooks.get(world.workspace, webhook.id) == webhook
    assert secret.removeprefix("whsec_") not in repr(webhook)
    with pytest.raises(InvalidArgument) as caught:
        await webhooks.create(world.workspace, "https://10.0.0.1/hook", [None, EventKind.PUBLISH_UPDATED], "x\x00")
    assert [v.field for v in caught.value.field_violations] == ["url", "event_kinds[0]", "description"]
    with pytest.raises(NotFound):
        await webhooks.get("other-workspace", webhook.id)


async def test_every_event_is_delivered_signed_with_its_event_id(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    webhook, secret = await world.services.webhooks.create(world.workspace, URL, [], "")
    publish = await world.publish(await world.instagram_request(2))
    await world.services.dispatcher.run_once()
    events = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
    assert [p.headers["webhook-id"] for p in sender.posts] == ids(world, events)
    for post in sender.posts:
        signed = f"{post.headers['webhook-id']}.{post.headers['webhook-timestamp']}.{post.body}".encode()
        expected = base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
        assert post.headers["webhook-signature"] == f"v1,{expected}"
        body = json.loads(post.body)
        assert body["data"]["publish_id"] == publish.id and body["data"]["event_id"] == post.headers["webhook-id"]
    page = await world.services.webhooks.deliveries(world.workspace, webhook.id, 1000, "")
    assert {d.state for d in page.items} == {DeliveryState.DELIVERED}


async def test_only_the_kinds_asked_for_are_queued(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL, [EventKind.PUBLISH_STATE_CHANGED], "")
    await world.publish(await world.instagram_request(2))
    await world.services.dispatcher.run_once()
    assert sender.posts and {json.loads(p.body)["type"] for p in sender.posts} == {"publish.state_changed"}


async def test_a_receiver_failing_half_the_time_still_gets_every_event(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    rng = random.Random(5)
    sender.answer = lambda _n: 200 if rng.random() < 0.5 else 503
    await world.services.webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(3))
    for _ in range(50):
        if not await world.services.dispatcher.run_once():
            break
    events = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
    delivered = {p.headers["webhook-id"] for n, p in enumerate(sender.posts, 1) if sender_ok(sender, n)}
    assert delivered == set(ids(world, events))
    assert len(sender.posts) > len(events)  # retried, with the same ids


def sender_ok(sender: FakeWebhookSender, n: int) -> bool:
    return sender.outcomes[n - 1]


def ids(world: World, events: list[WorkspaceEvent]) -> list[str]:
    """The ids callers see for these events of the world's workspace."""
    return [world.store.event_ids.token(world.workspace, e.position) for e in events]


@pytest.mark.parametrize(
    ("url", "kinds", "violation"),
    [
        ("", [], ("url", "is required")),
        (URL + "/" + "x" * MAX_URL_LENGTH, [], ("url", f"must be at most {MAX_URL_LENGTH} characters; got "
                                                       f"{len(URL) + 1 + MAX_URL_LENGTH}")),
        (URL, [EventKind.PUBLISH_UPDATED] * (len(EventKind) + 1),
         ("event_kinds", f"names each kind at most once: at most {len(EventKind)} entries; got {len(EventKind) + 1}")),
    ],
    ids=["no-url", "url-too-long", "too-many-kinds"],
)
async def test_create_names_a_missing_or_oversized_field(
    hooked: tuple[World, FakeWebhookSender], url: str, kinds: list[EventKind], violation: tuple[str, str]
) -> None:
    world, _ = hooked
    assert world.services.webhooks is not None
    with pytest.raises(InvalidArgument) as caught:
        await world.services.webhooks.create(world.workspace, url, kinds, "")
    assert [(v.field, v.description) for v in caught.value.field_violations] == [violation]
    assert world.store.webhooks.rows == {}  # nothing registered


async def test_webhooks_are_listed_in_pages_and_a_deleted_one_is_gone(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, _ = hooked
    webhooks = world.services.webhooks
    assert webhooks is not None
    created = [(await webhooks.create(world.workspace, f"{URL}/{n}", [], ""))[0] for n in range(3)]
    first = await webhooks.list_page(world.workspace, 2, "")
    assert len(first.items) == 2 and first.next_page_token
    rest = await webhooks.list_page(world.workspace, 2, first.next_page_token)
    assert rest.next_page_token == ""
    assert {w.id for w in [*first.items, *rest.items]} == {w.id for w in created}
    await webhooks.delete(world.workspace, created[0].id)
    for call in (webhooks.get(world.workspace, created[0].id), webhooks.delete(world.workspace, created[0].id),
                 webhooks.deliveries(world.workspace, created[0].id, 10, "")):
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.reason == "WEBHOOK_NOT_FOUND"
        assert caught.value.metadata == {"webhook_id": created[0].id}
    assert {w.id for w in (await webhooks.list_page(world.workspace, 10, "")).items} == {w.id for w in created[1:]}


async def test_deliveries_are_listed_in_pages(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    webhook, _ = await world.services.webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(2))
    await world.services.dispatcher.run_once()
    first = await world.services.webhooks.deliveries(world.workspace, webhook.id, 2, "")
    assert len(first.items) == 2 and first.next_page_token
    rest = await world.services.webhooks.deliveries(world.workspace, webhook.id, 1000, first.next_page_token)
    assert rest.next_page_token == ""
    assert sorted(d.event_id for d in [*first.items, *rest.items]) == sorted(p.headers["webhook-id"]
                                                                              for p in sender.posts)


async def test_a_backlog_longer_than_a_page_is_queued_in_full(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL, [], "")
    while len(await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)) <= PAGE:
        await world.publish(await world.instagram_request(2))
    await world.services.dispatcher.run_once()
    events = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
    assert sorted(p.headers["webhook-id"] for p in sender.posts) == sorted(ids(world, events))


async def test_two_replicas_dispatching_at_once_send_each_event_once(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(2))
    other = WebhookDispatcher(world.store.webhooks, world.store.publishes, world.services.subjects,
                              world.services.publish_log, sender, world.store.event_ids, world.clock,
                              WebhookPolicy(retry_scale=0.0))
    await asyncio.gather(world.services.dispatcher.run_once(), other.run_once())
    events = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
    assert sorted(p.headers["webhook-id"] for p in sender.posts) == sorted(ids(world, events))


async def test_the_running_dispatcher_delivers_each_change_and_outlives_a_failed_pass(
    hooked: tuple[World, FakeWebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    world, sender = hooked
    dispatcher = world.services.dispatcher
    assert world.services.webhooks is not None and dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL, [], "")
    world.store.closed = True  # the store away: the first pass fails
    dispatcher.start()
    try:
        await until(lambda: any(r.getMessage() == "webhook pass failed" for r in caplog.records))
        world.store.closed = False
        publish = await world.publish(await world.instagram_request(2))  # its changes wake the dispatcher
        events = await world.store.publishes.workspace_events(world.workspace, EventPosition(0, 0), 1000)
        await until(lambda: len(sender.posts) == len(events))
        assert {json.loads(p.body)["data"]["publish_id"] for p in sender.posts} == {publish.id}
    finally:
        await dispatcher.stop()
    await world.publish(await world.instagram_request(2))
    await until(lambda: True)
    assert len(sender.posts) == len(events)  # stopped: no longer listening


async def test_a_burst_of_changes_costs_one_pass_per_interval_not_one_per_change(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    dispatcher = world.services.dispatcher
    assert world.services.webhooks is not None and dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL, [], "")
    dispatcher.policy = WebhookPolicy(retry_scale=0.0, min_interval=3600.0, recheck=3600.0)
    passes = 0
    enabled = world.store.webhooks.enabled

    async def counted() -> list[tuple[Webhook, EventPosition]]:
        nonlocal passes
        passes += 1
        return await enabled()

    world.store.webhooks.enabled = counted  # type: ignore[method-assign]
    dispatcher.start()
    try:
        await until(lambda: passes == 1)
        for _ in range(3):  # a dozen and more changes, each a nudge
            await world.publish(await world.instagram_request(2))
        await until(lambda: True)
        assert passes == 1  # the nudges wait for the interval; none started a pass of its own
        assert sender.posts == []
    finally:
        await dispatcher.stop()
