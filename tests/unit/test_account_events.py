"""Account events on fakes and a fake clock (server/domain/account_events.py): each sent once
per condition, never once per pass of the health check, in the workspace stream beside publish
events and to webhooks with Standard Webhooks payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from server.bootstrap import Adapters, build_services
from server.config import Settings
from server.domain.errors import DomainError
from server.domain.events import START, EventFilter
from server.domain.health import HealthPolicy
from server.domain.models import AccountState, PublishState
from server.domain.webhooks import EventKind
from server.services.webhooks import WebhookPolicy
from tests.fakes import FakeWebhookSender, TikTokFailure
from tests.unit.conftest import World, make_world

POLICY = HealthPolicy()
DAY = 86400.0
URL = "https://hooks.example.com/distribution"


async def account_events(world: World, where: EventFilter | None = None) -> list[tuple[EventKind, dict[str, Any]]]:
    events = await world.store.publishes.workspace_events(world.workspace, START, 10_000, where)
    return [(e.account_event.kind, e.account_event.details) for e in events if e.account_event is not None]


async def check_again(world: World) -> None:
    world.clock.advance(POLICY.check_every)
    await world.services.account_health.run_once()


async def test_token_expiring_is_sent_once_per_expiry_and_a_new_token_arms_it_again(world: World) -> None:
    expires = world.at(6 * DAY)
    tt = await world.tiktok_account(refresh_token_expires_at=expires)
    assert await account_events(world) == []  # connecting is no event
    await world.services.account_health.run_once()
    await check_again(world)
    await check_again(world)
    assert await account_events(world) == [
        (EventKind.ACCOUNT_TOKEN_EXPIRING, {"token": "refresh_token", "expire_time": expires.isoformat()}),
    ]
    # Reconnected with a new refresh token that expires soon too: news again, once.
    later = world.at(5 * DAY)
    await world.tiktok_account(refresh_token_expires_at=later)
    await check_again(world)
    await check_again(world)
    assert [kind for kind, _ in await account_events(world)] == [
        EventKind.ACCOUNT_TOKEN_EXPIRING, EventKind.ACCOUNT_RECONNECTED, EventKind.ACCOUNT_TOKEN_EXPIRING,
    ]
    assert (await account_events(world))[-1][1]["expire_time"] == later.isoformat()
    # A token far from expiry is no news.
    await world.tiktok_account(refresh_token_expires_at=world.at(300 * DAY))
    await check_again(world)
    assert [kind for kind, _ in await account_events(world)][-1] == EventKind.ACCOUNT_RECONNECTED
    stored = await world.store.accounts.get(world.workspace, tt.id)
    assert stored is not None and stored.state == AccountState.ACTIVE


async def test_quota_low_is_sent_once_per_crossing_and_armed_again_above_the_threshold(world: World) -> None:
    await world.instagram_account()
    world.instagram.quota_usage = 46
    await world.services.account_health.run_once()
    await check_again(world)
    assert await account_events(world) == [
        (EventKind.ACCOUNT_QUOTA_LOW, {"instagram_quota_usage": 46, "instagram_quota_total": 50}),
    ]
    world.instagram.quota_usage = 10  # back above: armed again, and no event for that
    await check_again(world)
    assert len(await account_events(world)) == 1
    world.instagram.quota_usage = 48
    await check_again(world)
    await check_again(world)
    assert await account_events(world) == [
        (EventKind.ACCOUNT_QUOTA_LOW, {"instagram_quota_usage": 46, "instagram_quota_total": 50}),
        (EventKind.ACCOUNT_QUOTA_LOW, {"instagram_quota_usage": 48, "instagram_quota_total": 50}),
    ]


async def test_a_tiktok_creator_who_cannot_post_is_quota_low_once(world: World) -> None:
    await world.tiktok_account()
    world.tiktok.script("creator_info", *[TikTokFailure.answered("creator_info", code="spam_risk_too_many_posts")] * 3)
    await world.services.account_health.run_once()
    await check_again(world)
    await check_again(world)
    assert await account_events(world) == [
        (EventKind.ACCOUNT_QUOTA_LOW, {"tiktok_cannot_post_reason": "spam_risk_too_many_posts"}),
    ]


async def test_reauth_required_once_when_the_account_enters_needs_reconnect_then_reconnected(world: World) -> None:
    tt = await world.tiktok_account()
    world.tiktok.script("creator_info", *[TikTokFailure.token_rejected("creator_info")] * 2)
    await world.services.account_health.run_once()
    await world.store.accounts.mark_needs_reconnect(tt.id)  # marked again: still one condition
    [(kind, details)] = await account_events(world)
    assert kind == EventKind.ACCOUNT_REAUTH_REQUIRED
    assert details == {"reason": "the health check's token was rejected", "platform_code": "access_token_invalid"}
    await world.tiktok_account(access_token="tt-new")
    assert (await account_events(world))[-1] == (EventKind.ACCOUNT_RECONNECTED, {"previous_state": "NEEDS_RECONNECT"})


async def test_a_refused_refresh_is_reauth_required_with_the_platforms_code(world: World) -> None:
    tt = await world.tiktok_account(access_token_expires_at=world.at(60))
    world.tiktok.script("refresh", TikTokFailure.answered("refresh", code="invalid_grant"))
    await world.services.account_health.run_once()
    stored = await world.store.accounts.get(world.workspace, tt.id)
    assert stored is not None and stored.state == AccountState.NEEDS_RECONNECT
    [(kind, details)] = await account_events(world)
    assert kind == EventKind.ACCOUNT_REAUTH_REQUIRED
    assert details["reason"] == "TikTok refused to refresh the token"


async def test_the_stream_carries_account_events_in_order_with_publish_events_and_filters_them(
    world: World,
) -> None:
    account = await world.instagram_account()
    stream = await world.services.events.open(world.workspace, "", EventFilter(kinds=frozenset(EventKind)))
    by_default = await world.services.events.open(world.workspace, "", EventFilter())
    await world.publish(await world.instagram_request(2, account))
    await world.instagram_account()  # a reconnect, after the publish's events
    items = []
    async for item in stream:
        items.append(item)
        if item.event.account_event is not None:
            break
    # A stream that names no kinds sends what it always sent: the publish events alone. Its
    # next item after the first publish's events is the second publish's, not the reconnect.
    await world.publish(await world.instagram_request(2, account))
    seen = []
    async for item in by_default:
        assert item.event.account_event is None and item.publish is not None
        seen.append(item.publish.id)
        if len(set(seen)) == 2:
            break
    assert all(i.publish is not None and i.account is None for i in items[:-1])
    last = items[-1]
    assert last.publish is None and last.account is not None and last.account.id == account.id
    assert last.account.health is not None  # the account as a read shows it
    assert last.event.kind == EventKind.ACCOUNT_RECONNECTED
    # Filters: a states filter keeps publish events only; kinds choose either.
    assert await account_events(world, EventFilter(states=frozenset({PublishState.PUBLISHED}))) == []
    only = await world.store.publishes.workspace_events(
        world.workspace, START, 100, EventFilter(kinds=frozenset({EventKind.ACCOUNT_RECONNECTED}))
    )
    assert [e.kind for e in only] == [EventKind.ACCOUNT_RECONNECTED]
    publish_kinds = frozenset({EventKind.PUBLISH_STATE_CHANGED, EventKind.PUBLISH_UPDATED})
    assert await account_events(world, EventFilter(kinds=publish_kinds)) == []
    assert len(await account_events(world, EventFilter(account_id=account.id))) == 1


@pytest.fixture
async def hooked() -> AsyncIterator[tuple[World, FakeWebhookSender]]:
    world = make_world()
    sender = FakeWebhookSender()
    world.services = build_services(
        Settings(webhooks=WebhookPolicy(retry_scale=0.0, min_interval=0.0)),
        Adapters(store=world.store, instagram=world.instagram, tiktok=world.tiktok, clock=world.clock,
                 segmenter=world.segmenter, metrics=world.metrics, webhook_sender=sender),
        "unit-replica",
    )
    yield world, sender
    await world.services.runner.stop(0)


async def test_webhooks_get_account_events_of_the_kinds_they_take(hooked: tuple[World, FakeWebhookSender]) -> None:
    world, sender = hooked
    assert world.services.webhooks is not None and world.services.dispatcher is not None
    await world.services.webhooks.create(world.workspace, URL + "/all", [], "")  # no kinds: every kind
    await world.services.webhooks.create(
        world.workspace, URL + "/publishes", [EventKind.PUBLISH_STATE_CHANGED, EventKind.PUBLISH_UPDATED], ""
    )
    reauth_hook, _ = await world.services.webhooks.create(
        world.workspace, URL + "/reauth", [EventKind.ACCOUNT_REAUTH_REQUIRED], ""
    )
    tt = await world.tiktok_account()
    await world.store.accounts.mark_needs_reconnect(tt.id, "a test", "access_token_invalid")
    await world.tiktok_account(access_token="tt-new")
    await world.services.dispatcher.run_once()
    got = {(p.url.rsplit("/", 1)[1], json.loads(p.body)["type"]) for p in sender.posts}
    assert got == {
        ("all", "account.reauth_required"), ("all", "account.reconnected"), ("reauth", "account.reauth_required"),
    }
    body = json.loads(next(p.body for p in sender.posts if p.url.endswith("/reauth")))
    assert body["data"]["account_id"] == tt.id and body["data"]["platform"] == "TIKTOK"
    assert body["data"]["event"]["details"] == {"reason": "a test", "platform_code": "access_token_invalid"}
    assert body["data"]["account"]["id"] == tt.id
    assert body["data"]["account"]["state"] == "ACTIVE"  # as read when queued: reconnected since
    assert "tt-" not in json.dumps(body)  # never a token
    deliveries = await world.services.webhooks.deliveries(world.workspace, reauth_hook.id, 10, "")
    assert [(d.event_type, d.publish_id) for d in deliveries.items] == [("account.reauth_required", "")]
    # Queued once: another pass sends nothing new.
    sent = len(sender.posts)
    world.clock.advance(timedelta(minutes=1).total_seconds())
    await world.services.dispatcher.run_once()
    assert len(sender.posts) == sent


async def test_a_publish_whose_token_is_rejected_sends_reauth_required_once(world: World) -> None:
    account = await world.tiktok_account(refresh_token=None)
    world.tiktok.script("init_photo_post", *[TikTokFailure.token_rejected("init_photo_post")] * 2)
    with pytest.raises(DomainError):
        await world.publish(await world.tiktok_request(2, account))
    with pytest.raises(DomainError):  # refused up front now: the account needs a reconnect
        await world.publish(await world.tiktok_request(2, account))
    [(kind, details)] = await account_events(world)
    assert kind == EventKind.ACCOUNT_REAUTH_REQUIRED
    assert details["platform_code"] == "access_token_invalid"
    assert details["reason"].startswith("a publish's token was rejected")
    assert "tt-token" not in str(details)
