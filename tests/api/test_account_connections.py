"""Connecting accounts through the platforms' consent screens (StartAccountConnection,
CompleteAccountConnection) over a real socket, against both emulators: each step, each
error a user meets (bad, reused or expired state, reused or expired code, refused consent,
a redirect_uri the service does not take), reconnects, and secrets kept out of every
answer and log line."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import grpc
import pytest
from cryptography.fernet import Fernet
from distribution.v1 import account_pb2, account_service_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest, PublishTikTokCarouselRequest

from server.sandbox.instagram.oauth import InstagramLogin
from server.sandbox.tiktok.oauth import TikTokLogin
from tests.support.client import images, register
from tests.support.http import HttpApi, Reply
from tests.support.postgres import fresh_database

REDIRECT = "https://app.example.com/oauth/callback"
IG_SECRET = "ig-app-secret-never-shown-0123456789"
TT_SECRET = "tt-client-secret-never-shown-0123456789"
KEYS = Fernet.generate_key().decode()


def app_settings(instagram_sandbox, tiktok_sandbox, **overrides):
    return {
        "http_listen": "127.0.0.1:0",
        "instagram_app_id": "990602627938098",
        "instagram_app_secret": IG_SECRET,
        "instagram_auth_base": instagram_sandbox.origin,
        "instagram_oauth_base": instagram_sandbox.origin,
        "tiktok_client_key": "sbxclientkey01",
        "tiktok_client_secret": TT_SECRET,
        "tiktok_auth_base": tiktok_sandbox.origin,
        **overrides,
    }


@pytest.fixture
async def service(start_service, instagram_sandbox, tiktok_sandbox):
    return await start_service(**app_settings(instagram_sandbox, tiktok_sandbox))


@pytest.fixture
async def http(service):
    async with HttpApi(service.http.origin) as api:
        yield api


async def start(http: HttpApi, platform: str, **fields) -> Reply:
    body = {"platform": platform, "redirectUri": REDIRECT, **fields}
    return await http.post("/api/v1/accounts:startConnection", body)


async def consent(authorization_url: str, **choices: str) -> dict[str, str]:
    """What a browser does: open the consent screen, follow it back to the redirect URI.
    Returns the redirect's query parameters."""
    url = authorization_url + ("&" + urlencode(choices) if choices else "")
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def complete(http: HttpApi, **fields: str) -> Reply:
    return await http.post("/api/v1/accounts:completeConnection", fields)


async def connect(http: HttpApi, platform: str, **choices: str) -> Reply:
    started = await start(http, platform)
    assert started.status == 200, started.body
    back = await consent(started.body["authorizationUrl"], **choices)
    return await complete(http, state=back["state"], code=back["code"])


async def test_instagram_connects_through_business_login(http, instagram_sandbox):
    started = await start(http, "PLATFORM_INSTAGRAM")
    assert started.status == 200, started.body
    url = urlsplit(started.body["authorizationUrl"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{instagram_sandbox.origin}/oauth/authorize"
    assert query == {
        "client_id": "990602627938098", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "instagram_business_basic,instagram_business_content_publish", "state": started.body["state"],
    }
    assert started.body["scopes"] == ["instagram_business_basic", "instagram_business_content_publish"]
    assert started.body["expireTime"]

    back = await consent(started.body["authorizationUrl"], sandbox_user="autumn.shop")
    assert back["state"] == started.body["state"]
    done = await complete(http, state=back["state"], code=back["code"])
    assert done.status == 200, done.body
    account = done.body["account"]
    assert account["platform"] == "PLATFORM_INSTAGRAM"
    assert account["externalAccountId"] == InstagramLogin.user_id("autumn.shop")
    assert account["username"] == "autumn.shop"
    assert account["state"] == "ACCOUNT_STATE_ACTIVE"
    assert account["accessTokenExpireTime"]  # the long-lived token's 60 days
    assert account["healthState"] == "ACCOUNT_HEALTH_STATE_HEALTHY"  # as every account returned
    assert done.body.get("reconnected", False) is False
    calls = instagram_sandbox.calls.counts
    assert (calls["oauth_code_exchange"], calls["oauth_token_exchange"], calls["oauth_me"]) == (1, 1, 1)


@pytest.mark.parametrize("pkce", ["s256", "hex"])
async def test_tiktok_connects_with_pkce(start_service, instagram_sandbox, tiktok_sandbox, pkce):
    service = await start_service(**app_settings(instagram_sandbox, tiktok_sandbox, tiktok_pkce=pkce))
    async with HttpApi(service.http.origin) as http:
        started = await start(http, "PLATFORM_TIKTOK", scopes=["user.info.basic", "video.publish"])
        assert started.status == 200, started.body
        url = urlsplit(started.body["authorizationUrl"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert url.path == "/v2/auth/authorize/"
        assert query["client_key"] == "sbxclientkey01" and query["scope"] == "user.info.basic,video.publish"
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == (64 if pkce == "hex" else 43)
        back = await consent(started.body["authorizationUrl"], sandbox_user="maple")
        done = await complete(http, state=back["state"], code=back["code"])
    assert done.status == 200, done.body
    account = done.body["account"]
    assert account["externalAccountId"] == TikTokLogin.open_id("maple")
    assert account["username"] == "maple"
    assert account["hasRefreshToken"] is True
    assert account["accessTokenExpireTime"] and account["refreshTokenExpireTime"]


async def test_connected_accounts_publish_with_the_tokens_they_were_given(
    http, media, publishing, tiktok_sandbox, instagram_sandbox
):
    tiktok = (await connect(http, "PLATFORM_TIKTOK", sandbox_user="maple")).body["account"]
    instagram = (await connect(http, "PLATFORM_INSTAGRAM", sandbox_user="autumn.shop")).body["account"]
    # TikTok's emulator knows which creator each token it issued names: the post is maple's.
    posted = await publishing.PublishTikTokCarousel(PublishTikTokCarouselRequest(
        media_ids=await register(media, *images(2)), tiktok_account_id=tiktok["id"], creator_consent_obtained=True,
    ))
    assert posted.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert [p["open_id"] for p in tiktok_sandbox.posts()] == [TikTokLogin.open_id("maple")]
    posted = await publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(
        media_ids=await register(media, *images(2, prefix="gs://demo-bucket/connect/ig")),
        instagram_account_id=instagram["id"],
    ))
    assert posted.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert len(instagram_sandbox.posts(InstagramLogin.user_id("autumn.shop"))) == 1


async def test_tiktok_without_pkce_sends_no_challenge(http):
    started = await start(http, "PLATFORM_TIKTOK")
    assert "code_challenge" not in started.body["authorizationUrl"]
    back = await consent(started.body["authorizationUrl"])
    assert (await complete(http, state=back["state"], code=back["code"])).status == 200


async def test_a_state_is_good_once(http):
    started = await start(http, "PLATFORM_TIKTOK")
    back = await consent(started.body["authorizationUrl"])
    assert (await complete(http, state=back["state"], code=back["code"])).status == 200
    again = await complete(http, state=back["state"], code=back["code"])
    assert again.status == 400 and again.error["status"] == "FAILED_PRECONDITION"
    assert again.reason == "CONNECTION_STATE_USED"
    assert again.detail("ErrorInfo")["metadata"]["field"] == "state"


async def test_a_forged_or_altered_state_is_refused(http):
    started = await start(http, "PLATFORM_INSTAGRAM")
    state = started.body["state"]
    for forged in ("not-a-state", state[:-2] + ("AA" if not state.endswith("AA") else "BB"),
                   state.replace("v1.", "v2.", 1)):
        reply = await complete(http, state=forged, code="whatever")
        assert reply.status == 400 and reply.error["status"] == "INVALID_ARGUMENT", reply.body
        assert reply.reason == "CONNECTION_STATE_INVALID"
        assert "state" in reply.violations


async def test_another_workspaces_state_is_refused(start_service, instagram_sandbox, tiktok_sandbox):
    keys = "ws-one=key-one-0123456789abcdef,ws-two=key-two-0123456789abcdef"
    service = await start_service(**app_settings(instagram_sandbox, tiktok_sandbox, api_keys=keys))
    async with HttpApi(service.http.origin, {"Authorization": "Bearer key-one-0123456789abcdef"}) as one, \
            HttpApi(service.http.origin, {"Authorization": "Bearer key-two-0123456789abcdef"}) as two:
        started = await start(one, "PLATFORM_TIKTOK")
        back = await consent(started.body["authorizationUrl"])
        stolen = await complete(two, state=back["state"], code=back["code"])
        assert stolen.status == 400 and stolen.reason == "CONNECTION_STATE_INVALID"
        # The rightful workspace still completes it: the other's attempt spent nothing.
        assert (await complete(one, state=back["state"], code=back["code"])).status == 200


async def test_a_reused_code_is_refused_by_the_platform(http):
    first = await start(http, "PLATFORM_TIKTOK")
    second = await start(http, "PLATFORM_TIKTOK")
    back = await consent(first.body["authorizationUrl"])
    assert (await complete(http, state=back["state"], code=back["code"])).status == 200
    reused = await complete(http, state=second.body["state"], code=back["code"])
    assert reused.status == 400 and reused.error["status"] == "FAILED_PRECONDITION"
    assert reused.reason == "AUTHORIZATION_CODE_REJECTED"
    assert reused.detail("ErrorInfo")["metadata"]["field"] == "code"
    assert "invalid_grant" in reused.error["message"]


@pytest.mark.parametrize("platform", ["PLATFORM_INSTAGRAM", "PLATFORM_TIKTOK"])
async def test_an_expired_code_is_refused(http, instagram_sandbox, tiktok_sandbox, platform):
    instagram_sandbox.config.authorization_code_ttl = 0
    tiktok_sandbox.config.authorization_code_ttl = 0
    reply = await connect(http, platform)
    assert reply.status == 400 and reply.reason == "AUTHORIZATION_CODE_REJECTED", reply.body
    assert "expired" in reply.error["message"]


@pytest.mark.parametrize("platform", ["PLATFORM_INSTAGRAM", "PLATFORM_TIKTOK"])
async def test_refused_consent_ends_the_connection(http, platform):
    started = await start(http, platform)
    back = await consent(started.body["authorizationUrl"], sandbox_decision="deny")
    assert back["error"] == "access_denied" and "code" not in back
    refused = await complete(http, state=back["state"], error=back["error"],
                             errorDescription=back["error_description"])
    assert refused.status == 400 and refused.error["status"] == "FAILED_PRECONDITION"
    assert refused.reason == "CONNECTION_CONSENT_DENIED"
    assert refused.detail("ErrorInfo")["metadata"]["field"] == "error"
    assert back["error_description"] in refused.error["message"]
    # The state is spent: a code arriving later for it is refused.
    late = await complete(http, state=back["state"], code="late")
    assert late.reason == "CONNECTION_STATE_USED"


async def test_start_names_every_bad_field(http):
    reply = await http.post("/api/v1/accounts:startConnection", {
        "redirectUri": "http://app.example.com/cb#frag", "scopes": ["ok.scope", "bad scope"],
    })
    assert reply.status == 400 and reply.error["status"] == "INVALID_ARGUMENT"
    assert set(reply.violations) == {"platform", "redirect_uri", "scopes[1]"}
    for uri, why in (("", "required"), ("ftp://x/cb", "https"), ("http://app.example.com/cb", "https"),
                     ("/relative", "https")):
        bad = await start(http, "PLATFORM_TIKTOK", redirectUri=uri)
        assert bad.status == 400 and why in bad.violations["redirect_uri"], (uri, bad.body)
    loopback = await start(http, "PLATFORM_TIKTOK", redirectUri="http://127.0.0.1:3455/callback/")
    assert loopback.status == 200, loopback.body


async def test_only_the_operators_redirect_uris_when_listed(start_service, instagram_sandbox, tiktok_sandbox):
    service = await start_service(**app_settings(
        instagram_sandbox, tiktok_sandbox, connect_redirect_uris="https://app.example.com/oauth/"
    ))
    async with HttpApi(service.http.origin) as http:
        assert (await start(http, "PLATFORM_TIKTOK")).status == 200
        other = await start(http, "PLATFORM_TIKTOK", redirectUri="https://evil.example.net/oauth/callback")
        assert other.status == 400 and "DISTRIBUTION_CONNECT_REDIRECT_URIS" in other.violations["redirect_uri"]


async def test_without_app_credentials_the_setting_is_named(start_service, instagram_sandbox, tiktok_sandbox):
    service = await start_service(**app_settings(instagram_sandbox, tiktok_sandbox, instagram_app_id=""))
    async with HttpApi(service.http.origin) as http:
        reply = await start(http, "PLATFORM_INSTAGRAM")
    assert reply.status == 400 and reply.reason == "CONNECTION_NOT_CONFIGURED"
    assert "DISTRIBUTION_INSTAGRAM_APP_ID" in reply.error["message"]


async def test_reconnect_keeps_the_id_history_and_stored_refresh_token(http, accounts, media, publishing):
    # An Instagram account connected by hand with a refresh token, then through the consent
    # screen (whose grant has none): same account, refresh token kept.
    user_id = InstagramLogin.user_id("sandbox_creator")
    first = await accounts.ConnectAccount(account_service_pb2.ConnectAccountRequest(
        platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id=user_id, username="old",
        access_token="old-token", refresh_token="kept-refresh-token",
    ))
    before = await publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(
        media_ids=await register(media, *images(2)), instagram_account_id=first.account.id,
    ))
    started = await start(http, "PLATFORM_INSTAGRAM", accountId=first.account.id)
    back = await consent(started.body["authorizationUrl"])
    done = await complete(http, state=back["state"], code=back["code"])
    assert done.status == 200, done.body
    history = await http.get("/api/v1/publishes")
    assert [(p["id"], p["accountId"]) for p in history.body["publishes"]] == [
        (before.instagram_publish_id, first.account.id)
    ]
    account = done.body["account"]
    assert done.body["reconnected"] is True
    assert account["id"] == first.account.id
    assert account["hasRefreshToken"] is True
    assert account["username"] == "sandbox_creator"
    created = first.account.create_time.ToJsonString()
    assert account["createTime"] == created


async def test_reconnect_by_another_platform_user_changes_nothing(http):
    first = await connect(http, "PLATFORM_TIKTOK", sandbox_user="alice")
    account_id = first.body["account"]["id"]
    started = await start(http, "PLATFORM_TIKTOK", accountId=account_id)
    back = await consent(started.body["authorizationUrl"], sandbox_user="bob")
    reply = await complete(http, state=back["state"], code=back["code"])
    assert reply.status == 400 and reply.reason == "CONNECTION_ACCOUNT_MISMATCH"
    listed = await http.get("/api/v1/accounts")
    assert [a["username"] for a in listed.body["accounts"]] == ["alice"]


async def test_reconnect_of_an_account_on_another_platform_is_refused(http):
    tiktok = await connect(http, "PLATFORM_TIKTOK")
    reply = await start(http, "PLATFORM_INSTAGRAM", accountId=tiktok.body["account"]["id"])
    assert reply.status == 400 and "account_id" in reply.violations
    missing = await start(http, "PLATFORM_INSTAGRAM", accountId="00000000-0000-4000-8000-000000000000")
    assert missing.status == 404


async def test_over_grpc_too(accounts, tiktok_sandbox):
    started = await accounts.StartAccountConnection(account_service_pb2.StartAccountConnectionRequest(
        platform=account_pb2.PLATFORM_TIKTOK, redirect_uri=REDIRECT,
    ))
    back = await consent(started.authorization_url)
    done = await accounts.CompleteAccountConnection(
        account_service_pb2.CompleteAccountConnectionRequest(state=back["state"], code=back["code"])
    )
    assert done.account.external_account_id == TikTokLogin.open_id("sandbox_creator")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accounts.CompleteAccountConnection(
            account_service_pb2.CompleteAccountConnectionRequest(state=back["state"], code=back["code"])
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_secrets_and_codes_never_reach_an_answer_or_a_log(http, caplog, tiktok_sandbox):
    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    issue = tiktok_sandbox.accounts.issue_tokens

    def recording(open_id: str) -> dict:
        tokens = issue(open_id)
        issued.extend([tokens["access_token"], tokens["refresh_token"]])
        return tokens

    tiktok_sandbox.accounts.issue_tokens = recording  # the emulator tells the test what it issued
    started = await start(http, "PLATFORM_TIKTOK")
    back = await consent(started.body["authorizationUrl"])
    done = await complete(http, state=back["state"], code=back["code"])
    refused = await complete(http, state=back["state"], code=back["code"])
    ig = await connect(http, "PLATFORM_INSTAGRAM")
    answers = repr([started.body, done.body, refused.body, ig.body])
    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records
    )
    assert len(issued) == 2
    for secret in (IG_SECRET, TT_SECRET, back["code"], *issued):
        assert secret not in answers
        assert secret not in logged


@pytest.fixture
async def postgres_url():
    """A database of its own, dropped after the services a test started have stopped."""
    async with fresh_database() as url:
        yield url


async def test_two_replicas_share_the_state_started_on_either(postgres_url, start_service, instagram_sandbox,
                                                               tiktok_sandbox):
    # Replicas sharing the database and its sealing keys: what one started, the other completes, once.
    settings = app_settings(instagram_sandbox, tiktok_sandbox, database_url=postgres_url, secret_keys=KEYS)
    one, two = await start_service(**settings), await start_service(**settings)
    async with HttpApi(one.http.origin) as first, HttpApi(two.http.origin) as second:
        started = await start(first, "PLATFORM_TIKTOK")
        back = await consent(started.body["authorizationUrl"])
        done = await complete(second, state=back["state"], code=back["code"])
        assert done.status == 200, done.body
        again = await complete(first, state=back["state"], code=back["code"])
        assert again.status == 400 and again.reason == "CONNECTION_STATE_USED"
