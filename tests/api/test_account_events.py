"""Account events over a real socket, with the health check running against the TikTok
emulator: a token the platform rejects whose refresh is refused is account.reauth_required,
connecting the account again is account.reconnected; both on WatchPublishes over gRPC and over
HTTP (filtered by kind), and POSTed to a webhook signed as Standard Webhooks says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import grpc
import pytest
from cryptography.fernet import Fernet
from distribution.v1 import account_pb2, publishing_service_pb2, webhook_pb2, webhook_service_pb2
from distribution.v1.account_service_pb2 import ConnectAccountRequest
from distribution.v1.account_service_pb2_grpc import AccountServiceStub
from distribution.v1.publishing_service_pb2_grpc import PublishingServiceStub
from distribution.v1.webhook_service_pb2_grpc import WebhookServiceStub
from google.protobuf.timestamp_pb2 import Timestamp
from standardwebhooks import Webhook

from server.domain.health import HealthPolicy
from server.services.webhooks import WebhookPolicy
from tests.support.postgres import fresh_database
from tests.support.receiver import Receiver, receiving
from tests.support.waiting import eventually

WAIT = 20
KEYS = Fernet.generate_key().decode()
KINDS = ["WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED", "WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED"]
# A stream sends account events only to a caller that names their kinds.
ACCOUNT_KINDS = [v for k, v in webhook_pb2.WebhookEventKind.items() if k.startswith("WEBHOOK_EVENT_KIND_ACCOUNT_")]


@pytest.fixture
def receiver() -> Any:
    with receiving() as started:
        yield started


@pytest.fixture
async def service(start_service, receiver: Receiver):
    return await start_service(
        http_listen="127.0.0.1:0", account_health=HealthPolicy(check_every=0.2),
        webhooks=WebhookPolicy(retry_scale=0.0002, recheck=0.05), webhook_allow=("127.0.0.0/8",),
        webhook_allow_http=True,
    )


@pytest.fixture
async def channel(service) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(service.address) as opened:
        yield opened


async def test_reauth_required_and_reconnected_reach_both_streams_and_a_webhook(
    service, channel, receiver: Receiver, tiktok_sandbox, accounts
) -> None:
    hook = await WebhookServiceStub(channel).CreateWebhook(webhook_service_pb2.CreateWebhookRequest(url=receiver.url))
    grpc_stream = PublishingServiceStub(channel).WatchPublishes(
        publishing_service_pb2.WatchPublishesRequest(event_kinds=[getattr(webhook_pb2, k) for k in KINDS])
    )
    await grpc_stream.initial_metadata()  # its start position is taken
    query = "&".join(f"eventKinds={k}" for k in KINDS)
    url = f"{service.http.origin}/api/v1/publishes:watch?{query}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        # A token TikTok rejects, and a refresh token it does not know: the check refreshes
        # once, is refused, and marks the account.
        tiktok_sandbox.add_creator("tt-events-1", open_id="oid-events")
        tiktok_sandbox.revoke_token("tt-events-1")
        connected = (await accounts.ConnectAccount(ConnectAccountRequest(
            platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-events",
            access_token="tt-events-1", refresh_token="rft-unknown",
        ))).account
        over_grpc = [await asyncio.wait_for(grpc_stream.read(), WAIT)]
        assert over_grpc[0].account_event.kind == webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED
        tiktok_sandbox.add_creator("tt-events-2", open_id="oid-events")
        await accounts.ConnectAccount(ConnectAccountRequest(
            platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-events", access_token="tt-events-2",
        ))
        over_grpc.append(await asyncio.wait_for(grpc_stream.read(), WAIT))
        over_http = [json.loads(await asyncio.wait_for(response.content.readline(), WAIT)) for _ in range(2)]
    grpc_stream.cancel()

    reauth, reconnected = over_grpc
    assert not reauth.HasField("event") and not reauth.HasField("publish")
    assert reauth.account_event.account_id == connected.id
    assert reauth.account_event.platform == account_pb2.PLATFORM_TIKTOK
    assert reauth.account_event.details["reason"] == "TikTok refused to refresh the token"
    assert reauth.account.id == connected.id
    assert reconnected.account_event.kind == webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED
    assert reconnected.account_event.details["previous_state"] == "NEEDS_RECONNECT"
    assert reconnected.account.state == account_pb2.ACCOUNT_STATE_ACTIVE
    assert [m["eventId"] for m in over_http] == [m.event_id for m in over_grpc]
    assert [m["accountEvent"]["kind"] for m in over_http] == KINDS
    assert over_http[1]["account"]["id"] == connected.id and "publish" not in over_http[1]

    async def delivered() -> list[dict[str, Any]] | None:
        return receiver.received if len(receiver.received) >= 2 else None

    posts = await eventually(delivered, "both account events to reach the webhook")
    for post, message in zip(posts, over_grpc, strict=True):
        headers = {k.lower(): v for k, v in post["headers"].items()}
        body = Webhook(hook.secret).verify(post["raw"], headers)
        assert headers["webhook-id"] == message.event_id
        assert body["data"]["account_id"] == connected.id
        assert "tt-events" not in post["raw"].decode() and "rft-" not in post["raw"].decode()
    assert [p["body"]["type"] for p in posts] == ["account.reauth_required", "account.reconnected"]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


async def test_two_postgres_replicas_checking_one_account_send_each_condition_once(
    postgres_url: str, start_service, tiktok_sandbox
) -> None:
    # Both replicas check every 0.2 s; a claim can lapse and either may check the account: the
    # condition's marker, moved by compare-and-set with the event, keeps each event to one.
    settings = {"database_url": postgres_url, "account_health": HealthPolicy(check_every=0.2),
                "secret_keys": KEYS}
    one, two = await start_service(**settings), await start_service(**settings)
    tiktok_sandbox.add_creator("tt-twice", open_id="oid-twice", can_post=False)
    expires = Timestamp()
    expires.FromDatetime(datetime.now(UTC) + timedelta(days=3))
    request = ConnectAccountRequest(
        platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-twice", access_token="tt-twice",
        refresh_token="rft-twice", refresh_token_expire_time=expires,
    )
    async with grpc.aio.insecure_channel(one.address) as first, grpc.aio.insecure_channel(two.address) as second:
        watch = PublishingServiceStub(second).WatchPublishes(
            publishing_service_pb2.WatchPublishesRequest(event_kinds=ACCOUNT_KINDS)
        )
        await watch.initial_metadata()
        await AccountServiceStub(first).ConnectAccount(request)
        got = [await asyncio.wait_for(watch.read(), WAIT) for _ in range(2)]
        await asyncio.sleep(2.0)  # ten passes of each replica
        await AccountServiceStub(second).ConnectAccount(request)  # the same tokens: reconnected, no news
        got.append(await asyncio.wait_for(watch.read(), WAIT))
        watch.cancel()
    kinds = [m.account_event.kind for m in got]
    assert sorted(kinds[:2]) == [webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_TOKEN_EXPIRING,
                                 webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_QUOTA_LOW]
    assert kinds[2] == webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED
