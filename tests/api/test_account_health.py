"""Account health over a real socket (gRPC and HTTP/JSON), with the background check running
against the emulators: Instagram's content_publishing_limit and TikTok's creator_info as the
account shows them, and the state."""

from __future__ import annotations

import json

import pytest
from distribution.v1 import account_pb2
from distribution.v1.account_service_pb2 import ConnectAccountRequest, GetAccountRequest

from server.domain.health import HealthPolicy
from tests.support.http import HttpApi
from tests.support.waiting import eventually

IG_USER = "17841400000000077"


@pytest.fixture
async def service(start_service):
    # Checked five times a second, so a test sees a check soon after connecting.
    return await start_service(http_listen="127.0.0.1:0", account_health=HealthPolicy(check_every=0.2))


async def checked(accounts, account_id: str) -> account_pb2.Account:
    async def got() -> account_pb2.Account | None:
        account = (await accounts.GetAccount(GetAccountRequest(id=account_id))).account
        return account if account.HasField("health_check_time") else None

    return await eventually(got, "the health check to have looked at the account")


async def test_an_instagram_account_shows_its_quota_once_checked(accounts, instagram_sandbox):
    connected = (await accounts.ConnectAccount(ConnectAccountRequest(
        platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id=IG_USER, access_token="ig-health",
    ))).account
    assert connected.health_state == account_pb2.ACCOUNT_HEALTH_STATE_HEALTHY
    assert not connected.HasField("instagram_quota_total")  # not read yet
    account = await checked(accounts, connected.id)
    assert (account.instagram_quota_usage, account.instagram_quota_total) == (0, instagram_sandbox.config.publish_quota)
    assert account.HasField("instagram_quota_read_time")
    assert account.health_state == account_pb2.ACCOUNT_HEALTH_STATE_HEALTHY
    assert instagram_sandbox.calls.counts["publishing_limit"] >= 1


async def test_a_tiktok_account_shows_creator_info_over_http(service, tiktok_sandbox):
    tiktok_sandbox.add_creator("tt-health", open_id="oid-health", can_post=False)
    async with HttpApi(service.http.origin) as http:
        reply = await http.post("/api/v1/accounts", {
            "platform": "TIKTOK", "externalAccountId": "oid-health", "accessToken": "tt-health",
        })
        assert reply.status == 200, reply.body
        account_id = reply.body["account"]["id"]

        async def seen() -> dict | None:
            got = await http.get(f"/api/v1/accounts/{account_id}")
            return got.body["account"] if "healthCheckTime" in got.body["account"] else None

        account = await eventually(seen, "the health check to have asked creator_info")
    assert account["healthState"] == "ACCOUNT_HEALTH_STATE_QUOTA_LOW"
    assert account["tiktokCanPost"] is False
    assert account["tiktokCannotPostReason"] == "spam_risk_too_many_posts"
    assert "tt-health" not in json.dumps(account)


async def test_a_revoked_token_without_refresh_token_shows_needs_reconnect_and_the_failure(
    accounts, tiktok_sandbox
):
    tiktok_sandbox.add_creator("tt-revoked-health", open_id="oid-revoked-health")
    tiktok_sandbox.revoke_token("tt-revoked-health")
    connected = (await accounts.ConnectAccount(ConnectAccountRequest(
        platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-revoked-health",
        access_token="tt-revoked-health",
    ))).account
    account = await checked(accounts, connected.id)
    assert account.state == account_pb2.ACCOUNT_STATE_NEEDS_RECONNECT
    assert account.health_state == account_pb2.ACCOUNT_HEALTH_STATE_NEEDS_RECONNECT
    assert account.last_failure.platform_code == "access_token_invalid"
    assert account.last_failure.HasField("time")
    assert "tt-revoked-health" not in account.last_failure.message
