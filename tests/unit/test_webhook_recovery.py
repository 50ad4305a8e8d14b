"""Webhooks that survive a bad minute, on fakes and a virtual clock: disabled only after every
attempt failed for the disable window (a success anywhere ends the run), pending deliveries
then ABANDONED; per-webhook pacing and Retry-After; UpdateWebhook (mask, re-enable with the
same secret, disable); redelivery since a time or of one delivery; secret rotation with two
signatures during the overlap; the test ping; the cap per workspace; event ids opaque per
workspace."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from server.bootstrap import Adapters, build_services
from server.config import Settings
from server.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from server.domain.events import START, EventPosition
from server.domain.webhooks import (
    DISABLE_WINDOW,
    RETRY_SCHEDULE,
    Attempt,
    Delivery,
    DeliveryRules,
    DeliveryState,
    EventKind,
    Webhook,
    WebhookChanges,
    WebhookHealth,
    WebhookState,
    apply_changes,
    settle_attempt,
)
from server.services.webhooks import PAGE, WebhookPolicy, WebhookUpdate, new_deliveries
from tests.fakes import FakeWebhookSender
from tests.support.errors import rich_error_of
from tests.unit.conftest import World, make_world
from tests.unit.helpers import until

URL = "https://hooks.example.com/distribution"
DAY = 86400.0


@pytest.fixture
async def hooked() -> AsyncIterator[tuple[World, FakeWebhookSender]]:
    world = make_world()
    sender = FakeWebhookSender()
    world.services = build_services(
        Settings(webhooks=WebhookPolicy(min_interval=0.0)),
        Adapters(store=world.store, instagram=world.instagram, tiktok=world.tiktok, clock=world.clock,
                 segmenter=world.segmenter, metrics=world.metrics, webhook_sender=sender),
        "unit-replica",
    )
    yield world, sender
    await world.services.runner.stop(0)


def parts(world: World) -> tuple:  # type: ignore[type-arg]
    webhooks, dispatcher = world.services.webhooks, world.services.dispatcher
    assert webhooks is not None and dispatcher is not None
    return webhooks, dispatcher


async def all_events(world: World) -> list[str]:
    events = await world.store.publishes.workspace_events(world.workspace, START, 10_000)
    return [world.store.event_ids.token(world.workspace, e.position) for e in events]


async def run_until_quiet(world: World, hours: float = 30.0, step: float = 60.0) -> None:
    """Dispatcher passes while virtual time moves on in steps, for `hours`."""
    _, dispatcher = parts(world)
    for _ in range(int(hours * 3600 / step)):
        await dispatcher.run_once()
        world.clock.advance(step)


def delivered_ids(sender: FakeWebhookSender) -> list[str]:
    return [p.headers["webhook-id"] for p, ok in zip(sender.posts, sender.outcomes, strict=True) if ok]


# --- the rule, pure -----------------------------------------------------------------------

HEALTHY = WebhookHealth(WebhookState.ENABLED, "", 0, None, None)
RULES = DeliveryRules(retry_scale=1.0, disable_window=timedelta(days=5))


def delivery(attempts: int = 0, state: DeliveryState = DeliveryState.PENDING) -> Delivery:
    start = make_world().clock.now()
    return Delivery("d", "w", "ws", "evt", "publish.updated", "p", "{}", state, attempts, start)


def test_a_run_of_failures_starts_at_its_first_failure_and_a_success_anywhere_ends_it() -> None:
    t0 = make_world().clock.now()
    failed = settle_attempt(HEALTHY, delivery(), Attempt(503, "HTTP 503"), t0, RULES)
    assert failed.health.failing_since == t0 and failed.health.consecutive_failures == 1
    assert failed.state == DeliveryState.PENDING and failed.next_attempt_at is not None
    # a failure recorded late, from an attempt made before the run's first: the run is the earliest
    earlier = settle_attempt(failed.health, delivery(), Attempt(0, "x"), t0 - timedelta(seconds=3), RULES)
    assert earlier.health.failing_since == t0 - timedelta(seconds=3)
    later = settle_attempt(earlier.health, delivery(), Attempt(500, "HTTP 500"), t0 + timedelta(days=4), RULES)
    assert later.health.state == WebhookState.ENABLED  # four days and a bit: not yet
    ok = settle_attempt(later.health, delivery(), Attempt(204), t0 + timedelta(days=4, hours=1), RULES)
    assert ok.state == DeliveryState.DELIVERED
    assert ok.health == WebhookHealth(WebhookState.ENABLED, "", 0, None, later.health.paused_until)


def test_a_run_lasting_the_window_disables_the_webhook_saying_since_when_and_the_last_error() -> None:
    t0 = make_world().clock.now()
    health = settle_attempt(HEALTHY, delivery(), Attempt(503, "HTTP 503"), t0, RULES).health
    outcome = settle_attempt(health, delivery(2), Attempt(0, "no answer within 10 s"), t0 + DISABLE_WINDOW, RULES)
    assert outcome.health.state == WebhookState.DISABLED and outcome.abandon_pending
    assert outcome.state == DeliveryState.ABANDONED and outcome.next_attempt_at is None
    assert outcome.health.disabled_reason == (
        f"every delivery attempt failed from {t0.isoformat(timespec='seconds')} to "
        f"{(t0 + DISABLE_WINDOW).isoformat(timespec='seconds')} (5 days); the last error: no answer within 10 s"
    )
    # an attempt that was in flight meanwhile: delivered if it got through, else abandoned
    assert settle_attempt(outcome.health, delivery(), Attempt(200), t0, RULES).state == DeliveryState.DELIVERED
    late = settle_attempt(outcome.health, delivery(), Attempt(500, "HTTP 500"), t0, RULES)
    assert (late.state, late.next_attempt_at, late.abandon_pending) == (DeliveryState.ABANDONED, None, False)


def test_retry_after_is_waited_within_the_schedule_and_pauses_the_webhook() -> None:
    t0 = make_world().clock.now()
    asked = settle_attempt(HEALTHY, delivery(), Attempt(503, "HTTP 503", retry_after=120.0), t0, RULES)
    assert asked.next_attempt_at is not None and asked.next_attempt_at >= t0 + timedelta(seconds=120)
    assert asked.health.paused_until == t0 + timedelta(seconds=120)
    huge = settle_attempt(HEALTHY, delivery(), Attempt(429, "HTTP 429", retry_after=10 * DAY), t0, RULES)
    assert huge.health.paused_until == t0 + timedelta(seconds=max(RETRY_SCHEDULE))  # cut to the longest step
    # a receiver in trouble pauses its webhook for the first step; one event refused (4xx) does not
    assert settle_attempt(HEALTHY, delivery(), Attempt(0, "refused"), t0, RULES).health.paused_until == (
        t0 + timedelta(seconds=RETRY_SCHEDULE[0])
    )
    assert settle_attempt(HEALTHY, delivery(), Attempt(400, "HTTP 400"), t0, RULES).health.paused_until is None
    spent = settle_attempt(HEALTHY, delivery(len(RETRY_SCHEDULE)), Attempt(500, "HTTP 500"), t0, RULES)
    assert (spent.state, spent.next_attempt_at) == (DeliveryState.FAILED, None)


def test_update_rules_reenable_clears_the_run_disable_ends_pending_and_a_new_url_starts_clean() -> None:
    t0 = make_world().clock.now()
    failing = Webhook(
        id="w", workspace_id="ws", url=URL, event_kinds=frozenset(), description="", created_at=t0,
        consecutive_failures=4, failing_since=t0, paused_until=t0 + timedelta(seconds=5),
    )
    same = apply_changes(failing, WebhookChanges(url=URL, description="d"))
    assert (same.webhook.consecutive_failures, same.webhook.description) == (4, "d")  # the same URL: kept
    moved = apply_changes(failing, WebhookChanges(url=URL + "/v2"))
    assert (moved.webhook.consecutive_failures, moved.webhook.failing_since, moved.webhook.paused_until) == (
        0, None, None
    )
    off = apply_changes(failing, WebhookChanges(enabled=False))
    assert (off.webhook.state, off.abandon_pending, off.restart_queue) == (WebhookState.DISABLED, True, False)
    on = apply_changes(off.webhook, WebhookChanges(enabled=True))
    assert (on.webhook.state, on.webhook.disabled_reason, on.webhook.failing_since) == (WebhookState.ENABLED, "", None)
    assert (on.restart_queue, on.abandon_pending) == (True, False)
    assert not apply_changes(failing, WebhookChanges(enabled=True)).restart_queue  # already enabled


# --- the dispatcher over time -------------------------------------------------------------


async def test_a_receiver_down_for_minutes_under_a_burst_stays_enabled_and_gets_every_event(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    down = True
    sender.answer = lambda _n: 503 if down else 204
    webhook, _ = await webhooks.create(world.workspace, URL, [], "")
    for _ in range(3):
        await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    # the outage costs one pause's worth of attempts, not one failure per queued event
    assert 0 < len(sender.posts) <= WebhookPolicy().per_webhook
    for _ in range(10):  # ten minutes down
        world.clock.advance(60)
        await dispatcher.run_once()
    down = False
    await run_until_quiet(world, hours=2)
    found = await webhooks.get(world.workspace, webhook.id)
    assert found.state == WebhookState.ENABLED and found.failing_since is None
    assert sorted(set(delivered_ids(sender))) == sorted(await all_events(world))
    assert len(delivered_ids(sender)) == len(set(delivered_ids(sender)))  # each delivered once


async def test_a_receiver_failing_past_the_window_is_disabled_and_its_pending_deliveries_end(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, _ = parts(world)
    sender.answer = lambda _n: 500
    webhook, _ = await webhooks.create(world.workspace, URL, [], "")
    started = world.clock.now()
    for day in range(6):  # a publish a day keeps attempts coming
        await world.publish(await world.instagram_request(2))
        await run_until_quiet(world, hours=24, step=600)
        found = await webhooks.get(world.workspace, webhook.id)
        if found.state == WebhookState.DISABLED:
            break
        assert day < 5
    assert found.state == WebhookState.DISABLED
    since = started.isoformat(timespec="seconds")
    assert found.disabled_reason.startswith(f"every delivery attempt failed from {since}")
    assert found.disabled_reason.endswith("the last error: HTTP 500")
    page = await webhooks.deliveries(world.workspace, webhook.id, 1000, "")
    states = {d.state for d in page.items}
    assert DeliveryState.ABANDONED in states and DeliveryState.PENDING not in states
    assert all(d.next_attempt_at is None for d in page.items)
    sent = len(sender.posts)
    await world.publish(await world.instagram_request(2))
    await run_until_quiet(world, hours=1)
    assert len(sender.posts) == sent  # disabled: nothing queued, nothing sent


async def test_a_success_anywhere_keeps_a_flaky_webhook_enabled_for_weeks(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, _ = parts(world)
    sender.answer = lambda n: 204 if n % 5 == 0 else 503  # one attempt in five gets through
    webhook, _ = await webhooks.create(world.workspace, URL, [], "")
    for _ in range(14):
        await world.publish(await world.instagram_request(2))
        await run_until_quiet(world, hours=24, step=1800)
    assert (await webhooks.get(world.workspace, webhook.id)).state == WebhookState.ENABLED


async def test_attempts_to_one_webhook_are_paced_while_others_go_ahead(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    sender.gate = asyncio.Event()
    await webhooks.create(world.workspace, URL, [], "")
    await webhooks.create(world.workspace, URL + "/other", [], "")
    await world.publish(await world.instagram_request(2))
    dispatcher.start()
    try:
        await until(lambda: sum(sender.in_flight.values()) == 2 * WebhookPolicy().per_webhook)
        for _ in range(50):
            await asyncio.sleep(0)
        assert sender.most_in_flight == {URL: 2, URL + "/other": 2}  # two each, never more
        sender.gate.set()
        total = 2 * len(await all_events(world))
        await until(lambda: len(sender.posts) == total, steps=10_000)
    finally:
        await dispatcher.stop()
    assert max(sender.most_in_flight.values()) == WebhookPolicy().per_webhook


async def test_retry_after_holds_every_delivery_of_the_webhook_until_then(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    sender.answer = lambda n: 503 if n == 1 else 204
    sender.retry_after = lambda _n: 90.0
    webhook, _ = await webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(2))
    asked_at = world.clock.now()
    await dispatcher.run_once()
    pace = WebhookPolicy().per_webhook
    assert len(sender.posts) == pace  # the first two at once; the 503 paused the webhook: the rest wait
    world.clock.advance(89)
    await dispatcher.run_once()
    assert len(sender.posts) == pace
    world.clock.advance(1)
    await dispatcher.run_once()
    assert len(sender.posts) == len(await all_events(world)) + 1  # each once, the refused one twice
    page = await webhooks.deliveries(world.workspace, webhook.id, 1000, "")
    (refused,) = [d for d in page.items if d.attempts == 2]
    assert refused.state == DeliveryState.DELIVERED
    assert refused.last_attempt_at is not None and refused.last_attempt_at >= asked_at + timedelta(seconds=90)


# --- UpdateWebhook, redelivery, rotation, the ping, the cap --------------------------------


async def test_update_changes_what_the_mask_names_and_names_every_bad_path(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, _ = hooked
    webhooks, _ = parts(world)
    webhook, _ = await webhooks.create(world.workspace, URL, [], "ops")
    changed = await webhooks.update(world.workspace, webhook.id, WebhookUpdate(
        paths=["description", "event_kinds"], url="https://ignored.example.com", description="new",
        event_kinds=[EventKind.PUBLISH_UPDATED],
    ))
    assert (changed.url, changed.description, changed.event_kinds) == (URL, "new", {EventKind.PUBLISH_UPDATED})
    unmasked = await webhooks.update(world.workspace, webhook.id, WebhookUpdate(paths=[], url=URL + "/2"))
    assert (unmasked.url, unmasked.description) == (URL + "/2", "new")  # no mask: the fields set
    with pytest.raises(InvalidArgument) as caught:
        await webhooks.update(world.workspace, webhook.id, WebhookUpdate(
            paths=["url", "state", "event_kinds"], url="https://10.0.0.1/x", event_kinds=[None],
        ))
    assert [v.field for v in caught.value.field_violations] == [
        "update_mask.paths[1]", "webhook.url", "webhook.event_kinds[0]",
    ]
    with pytest.raises(InvalidArgument) as caught:
        await webhooks.update(world.workspace, "nope", WebhookUpdate(paths=["*"], url=URL))
    assert [v.field for v in caught.value.field_violations] == ["webhook.id"]
    with pytest.raises(NotFound):
        await webhooks.update("other-workspace", webhook.id, WebhookUpdate(paths=["description"]))


async def test_reenabling_keeps_the_secret_and_sends_the_events_from_then_on(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    webhook, secret = await webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(2))
    sender.gate = asyncio.Event()  # the first attempts stay in flight while it is disabled
    claimed = asyncio.ensure_future(dispatcher.run_once())
    await until(lambda: sum(sender.in_flight.values()) > 0)
    paused = await webhooks.update(world.workspace, webhook.id, WebhookUpdate(paths=["enabled"], enabled=False))
    assert (paused.state, paused.disabled_reason) == (WebhookState.DISABLED, "disabled by UpdateWebhook")
    sender.gate.set()
    await claimed
    page = await webhooks.deliveries(world.workspace, webhook.id, 1000, "")
    assert {d.state for d in page.items} == {DeliveryState.DELIVERED, DeliveryState.ABANDONED}
    before = await all_events(world)
    await world.publish(await world.instagram_request(2))  # while disabled: not queued
    again = await webhooks.update(world.workspace, webhook.id, WebhookUpdate(paths=["enabled"], enabled=True))
    assert (again.state, again.disabled_reason, again.consecutive_failures) == (WebhookState.ENABLED, "", 0)
    sent = len(sender.posts)
    await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    new = sender.posts[sent:]
    assert new and all(sender.verified_by(p, secret) for p in new)  # the same secret
    missed = set(await all_events(world)) - set(before)
    assert {p.headers["webhook-id"] for p in new} < missed  # only the events after re-enabling


async def test_redelivery_since_a_time_sends_exactly_the_events_from_then(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    webhook, _ = await webhooks.create(world.workspace, URL, [], "")
    await world.publish(await world.instagram_request(2))
    world.clock.advance(3600)
    since = world.clock.now()
    world.clock.advance(1)
    old = set(await all_events(world))
    await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    recent = set(await all_events(world)) - old
    sent = len(sender.posts)
    done = await webhooks.redeliver(world.workspace, webhook.id, since, "")
    assert done.count == len(recent) and done.delivery is None
    await dispatcher.run_once()
    assert sorted(p.headers["webhook-id"] for p in sender.posts[sent:]) == sorted(recent)
    page = await webhooks.deliveries(world.workspace, webhook.id, 1000, "")
    assert sum(d.redelivery for d in page.items) == len(recent)


async def test_one_delivery_is_redelivered_by_id_and_bad_requests_are_named(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    webhook, _ = await webhooks.create(world.workspace, URL, [EventKind.PUBLISH_STATE_CHANGED], "")
    await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    first = (await webhooks.deliveries(world.workspace, webhook.id, 1000, "")).items[-1]
    done = await webhooks.redeliver(world.workspace, webhook.id, None, first.id.upper())
    assert done.count == 1 and done.delivery is not None and done.delivery.redelivery
    assert (done.delivery.event_id, done.delivery.body) == (first.event_id, first.body)
    sent = len(sender.posts)
    await dispatcher.run_once()
    assert [p.headers["webhook-id"] for p in sender.posts[sent:]] == [first.event_id]
    now = world.clock.now()
    for since, delivery_id, field in [
        (None, "", "since_time"), (now, first.id, "delivery_id"), (now + timedelta(hours=1), "", "since_time"),
        (now - timedelta(days=8), "", "since_time"), (None, "x", "delivery_id"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            await webhooks.redeliver(world.workspace, webhook.id, since, delivery_id)
        assert [v.field for v in caught.value.field_violations] == [field]
    with pytest.raises(NotFound) as missing:
        await webhooks.redeliver(world.workspace, webhook.id, None, "0b3f6c1e-4a8d-4f0e-9c1a-2d7e5b8a9f10")
    assert missing.value.reason == "WEBHOOK_DELIVERY_NOT_FOUND"
    await webhooks.update(world.workspace, webhook.id, WebhookUpdate(paths=["enabled"], enabled=False))
    with pytest.raises(FailedPrecondition) as disabled:
        await webhooks.redeliver(world.workspace, webhook.id, now, "")
    assert disabled.value.reason == "WEBHOOK_DISABLED"


async def test_a_rotated_secret_signs_beside_the_new_one_for_the_overlap_only(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    webhook, old = await webhooks.create(world.workspace, URL, [], "")
    rotated, new = await webhooks.rotate_secret(world.workspace, webhook.id)
    assert new != old and new.startswith("whsec_")
    assert rotated.previous_secret_expires_at == world.clock.now() + timedelta(hours=24)
    await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    during = list(sender.posts)
    assert during and all(sender.verified_by(p, old) and sender.verified_by(p, new) for p in during)
    assert all(len(p.headers["webhook-signature"].split()) == 2 for p in during)
    world.clock.advance(24 * 3600)
    await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    after = sender.posts[len(during):]
    assert after and all(sender.verified_by(p, new) and not sender.verified_by(p, old) for p in after)


async def test_the_test_ping_is_signed_and_answers_the_receivers_status(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, _ = parts(world)
    webhook, secret = await webhooks.create(world.workspace, URL, [], "")
    outcome = await webhooks.send_test(world.workspace, webhook.id)
    post = sender.posts[-1]
    assert outcome.attempt.ok and outcome.attempt.status_code == 200 and outcome.attempt.seconds > 0
    assert post.headers["webhook-id"] == outcome.event_id and sender.verified_by(post, secret)
    assert json.loads(post.body)["type"] == "webhook.test"
    sender.answer = lambda _n: 410
    failed = await webhooks.send_test(world.workspace, webhook.id)
    assert (failed.attempt.ok, failed.attempt.status_code, failed.attempt.error) == (False, 410, "HTTP 410")
    assert (await webhooks.get(world.workspace, webhook.id)).consecutive_failures == 0  # a ping counts nothing
    assert (await webhooks.deliveries(world.workspace, webhook.id, 10, "")).items == []


async def test_webhooks_per_workspace_are_capped_naming_the_cap(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, _ = hooked
    webhooks, _ = parts(world)
    cap = WebhookPolicy().per_workspace
    await asyncio.gather(*(webhooks.create(world.workspace, f"{URL}/{n}", [], "") for n in range(cap)))
    with pytest.raises(ResourceExhausted) as caught:
        await webhooks.create(world.workspace, URL, [], "")
    assert caught.value.reason == "WEBHOOK_LIMIT_REACHED" and caught.value.metadata == {"limit": str(cap)}
    assert f"has {cap} webhooks" in caught.value.message
    # Only deleting a webhook frees the cap: no RetryInfo to retry on, a QuotaFailure naming it.
    sent = rich_error_of(caught.value)
    assert sent.retry_delay_seconds is None
    assert sent.quota_violations == [
        (f"workspace:{world.workspace}", "DISTRIBUTION_WEBHOOKS_PER_WORKSPACE", cap,
         f"webhooks per workspace: at most {cap}; delete one with DeleteWebhook to add another"),
    ]
    await webhooks.create("another-workspace", URL, [], "")  # the cap is per workspace


async def test_event_ids_are_opaque_per_workspace_and_old_ids_still_resume(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, _ = hooked
    ids = world.store.event_ids
    position = EventPosition(0, 42)
    mine, theirs = ids.token(world.workspace, position), ids.token("another-workspace", position)
    # Opaque: the plain position is nowhere in it (a check on short digit strings such as "42"
    # would fail by chance in a random token), and the next position's token differs in more
    # than a last character that would show a counter.
    assert mine != theirs and position.token() not in mine
    following = ids.token(world.workspace, EventPosition(0, 43))
    assert sum(a != b for a, b in zip(mine, following, strict=True)) > len(mine) // 2
    assert ids.parse(world.workspace, mine) == position and ids.parse("another-workspace", mine) is None
    assert ids.parse(world.workspace, position.token()) == position  # the form issued before
    await world.publish(await world.instagram_request(2))
    events = await world.store.publishes.workspace_events(world.workspace, START, 100)
    legacy = events[0].position.token()
    assert await world.services.events.start_position(world.workspace, legacy) == events[0].position


async def test_a_replica_puts_no_more_attempts_in_flight_than_its_concurrency_and_a_stop_lets_claims_lapse(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, sender = hooked
    webhooks, dispatcher = parts(world)
    dispatcher.policy = WebhookPolicy(min_interval=0.0, concurrency=3)
    sender.gate = asyncio.Event()
    for n in range(3):
        await webhooks.create(world.workspace, f"{URL}/{n}", [], "")
    await world.publish(await world.instagram_request(2))
    dispatcher.start()
    await until(lambda: sum(sender.in_flight.values()) == 3)
    for _ in range(50):
        await asyncio.sleep(0)
    assert sum(sender.in_flight.values()) == 3  # three webhooks could take six: the replica's limit holds
    await dispatcher.stop()  # mid-attempt: the attempts end unrecorded
    assert sum(sender.in_flight.values()) == 0
    cut_short = {(p.url, p.headers["webhook-id"]) for p in sender.posts}
    sender.gate.set()
    sent = len(sender.posts)
    await dispatcher.run_once()
    again = {(p.url, p.headers["webhook-id"]) for p in sender.posts[sent:]}
    assert not again & cut_short  # still claimed by the stopped replica (their slots held too)...
    world.clock.advance(dispatcher.policy.claim_seconds)
    await dispatcher.run_once()
    delivered = {(p.url, p.headers["webhook-id"]) for p in sender.posts[sent:]}
    assert delivered >= cut_short and len(delivered) == 3 * len(await all_events(world))  # ...until it lapses


async def test_redelivery_since_a_time_covers_a_history_longer_than_a_page(
    hooked: tuple[World, FakeWebhookSender],
) -> None:
    world, _ = hooked
    webhooks, dispatcher = parts(world)
    webhook, _ = await webhooks.create(world.workspace, URL, [EventKind.PUBLISH_UPDATED], "")
    since = world.clock.now()
    while len(await all_events(world)) <= PAGE:
        await world.publish(await world.instagram_request(2))
    await dispatcher.run_once()
    events = await world.store.publishes.workspace_events(world.workspace, START, 10_000)
    wanted = [e for e in events if e.event is not None and e.event.state is None]
    done = await webhooks.redeliver(world.workspace, webhook.id, since, "")
    assert done.count == len(wanted)
    # a webhook taking no kind of the events there are: nothing to queue
    other, _ = await webhooks.create(world.workspace, URL + "/x", [EventKind.PUBLISH_UPDATED], "")
    assert await new_deliveries(world.services.subjects, world.store.event_ids, other,
                                [e for e in events if e.event is not None and e.event.state is not None]) == []
