"""The connect flows' platform adapters (server/adapters/*/oauth.py) against the emulators'
consent screens and token endpoints: what each platform's refusal becomes (an expired or
reused code, a redirect URI that is not the consent screen's, a PKCE verifier that does not
match, no answer), read from the platforms' own error shapes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from server.adapters.instagram.oauth import InstagramConnector
from server.adapters.tiktok.oauth import TikTokConnector
from server.domain.connections import (
    AuthorizationRequest,
    ExchangeFailure,
    ExchangeProblem,
    PkceMethod,
    pkce_challenge,
)
from server.sandbox.instagram.oauth import InstagramLogin
from server.sandbox.tiktok.oauth import TikTokLogin

REDIRECT = "https://app.example.com/cb"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as opened:
        yield opened


def tiktok(session, sandbox, pkce=PkceMethod.NONE) -> TikTokConnector:
    return TikTokConnector(session, api_base=sandbox.base_url, auth_base=sandbox.origin, client_key="key",
                           client_secret="secret", pkce=pkce)


def instagram(session, sandbox) -> InstagramConnector:
    return InstagramConnector(session, graph_base=sandbox.base_url, auth_base=sandbox.origin,
                              oauth_base=sandbox.origin, app_id="123", app_secret="secret")


async def code_for(session, connector, challenge: str = "", user: str = "") -> str:
    url = connector.authorize_url(AuthorizationRequest(REDIRECT, connector.default_scopes, "st", challenge))
    if user:
        url += f"&sandbox_user={user}"
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


async def refusal(connector, code: str, redirect: str = REDIRECT, verifier: str = "") -> ExchangeFailure:
    with pytest.raises(ExchangeFailure) as caught:
        await connector.exchange(code, redirect, verifier)
    return caught.value


async def test_tiktok_exchange_reads_the_grant_and_the_creator(session, tiktok_sandbox):
    connector = tiktok(session, tiktok_sandbox)
    identity = await connector.exchange(await code_for(session, connector, user="maple"), REDIRECT, "")
    assert identity.external_account_id == TikTokLogin.open_id("maple") and identity.username == "maple"
    assert identity.refresh_token and identity.access_expires_in == tiktok_sandbox.config.access_token_ttl
    assert identity.scopes == ("user.info.basic", "video.publish", "video.upload")
    assert "secret" not in repr(identity) and identity.access_token not in repr(identity)


async def test_tiktok_without_user_info_scope_connects_by_open_id(session, tiktok_sandbox):
    connector = tiktok(session, tiktok_sandbox)
    url = connector.authorize_url(AuthorizationRequest(REDIRECT, ("video.publish",), "st"))
    async with session.get(url, allow_redirects=False) as response:
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    identity = await connector.exchange(code, REDIRECT, "")
    assert identity.external_account_id == TikTokLogin.open_id("sandbox_creator") and identity.username == ""


async def test_tiktok_refusals(session, tiktok_sandbox):
    connector = tiktok(session, tiktok_sandbox)
    code = await code_for(session, connector)
    await connector.exchange(code, REDIRECT, "")
    assert (await refusal(connector, code)).problem is ExchangeProblem.CODE_REJECTED
    wrong_uri = await refusal(connector, await code_for(session, connector), redirect="https://other.example/cb")
    assert wrong_uri.problem is ExchangeProblem.REDIRECT_URI_MISMATCH
    tiktok_sandbox.config.authorization_code_ttl = 0
    expired = await refusal(connector, await code_for(session, connector))
    assert expired.problem is ExchangeProblem.CODE_REJECTED and "expired" in expired.detail
    assert expired.platform_code == "invalid_grant"


@pytest.mark.parametrize("method", [PkceMethod.S256, PkceMethod.S256_HEX])
async def test_tiktok_pkce_verifier_must_match_the_challenge(session, tiktok_sandbox, method):
    connector = tiktok(session, tiktok_sandbox, method)
    code = await code_for(session, connector, pkce_challenge(VERIFIER, method))
    assert (await refusal(connector, code, verifier=VERIFIER[::-1])).problem is ExchangeProblem.PKCE_REJECTED
    code = await code_for(session, connector, pkce_challenge(VERIFIER, method))
    assert (await connector.exchange(code, REDIRECT, VERIFIER)).refresh_token


async def test_tiktok_unreachable_is_unavailable(session):
    connector = TikTokConnector(session, api_base="http://127.0.0.1:9", client_key="k", client_secret="s")
    assert (await refusal(connector, "code")).problem is ExchangeProblem.UNAVAILABLE


async def test_instagram_exchange_gives_the_long_lived_token_and_the_account(session, instagram_sandbox):
    connector = instagram(session, instagram_sandbox)
    identity = await connector.exchange(await code_for(session, connector, user="autumn.shop"), REDIRECT, "")
    assert identity.external_account_id == InstagramLogin.user_id("autumn.shop")
    assert identity.username == "autumn.shop"
    assert identity.access_expires_in == 5184000 and identity.refresh_token == ""
    assert instagram_sandbox.calls.counts["oauth_token_exchange"] == 1


async def test_instagram_on_facebook_logins_host_cannot_connect(session):
    connector = InstagramConnector(session, graph_base="https://graph.facebook.com/v23.0", app_id="1", app_secret="s")
    assert connector.missing_setting.startswith("DISTRIBUTION_INSTAGRAM_API_BASE")
    ready = InstagramConnector(session, graph_base="https://graph.instagram.com/v23.0", app_id="1", app_secret="s")
    assert ready.missing_setting == ""


async def test_instagram_refusals(session, instagram_sandbox):
    connector = instagram(session, instagram_sandbox)
    code = await code_for(session, connector)
    await connector.exchange(code, REDIRECT, "")
    reused = await refusal(connector, code)
    assert reused.problem is ExchangeProblem.CODE_REJECTED and "already used" in reused.detail
    wrong_uri = await refusal(connector, await code_for(session, connector), redirect="https://other.example/cb")
    assert wrong_uri.problem is ExchangeProblem.REDIRECT_URI_MISMATCH
    instagram_sandbox.config.authorization_code_ttl = 0
    assert (await refusal(connector, await code_for(session, connector))).problem is ExchangeProblem.CODE_REJECTED


async def test_the_consent_screens_refuse_a_request_without_its_parameters(session, instagram_sandbox,
                                                                           tiktok_sandbox):
    async with session.get(f"{instagram_sandbox.origin}/oauth/authorize?client_id=1") as response:
        body = await response.json()
        assert response.status == 400 and body["error_type"] == "OAuthException"
        assert "redirect_uri" in body["error_message"]
    async with session.get(f"{tiktok_sandbox.origin}/v2/auth/authorize/?client_key=k") as response:
        body = await response.json()
        assert response.status == 400 and body["error"] == "invalid_request" and body["log_id"]
