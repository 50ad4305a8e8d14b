"""The HTTP gateway's errors and rules over a real socket: every error is google.rpc.Status
in AIP-193's JSON form with the standard HTTP status; API keys, workspaces, TLS and mutual
TLS as on the gRPC port; idempotency keys; bad requests of every kind are 400, never 500."""

from __future__ import annotations

import asyncio
import logging
import ssl

import aiohttp
import pytest

from server.http_gateway.gateway import MAX_REQUEST_BYTES
from server.services.webhooks import WebhookPolicy
from tests.support.client import images
from tests.support.http import HttpApi
from tests.support.processing import LONG, finish_instagram_processing
from tests.support.tls import make_pki
from tests.support.waiting import eventually

INSTAGRAM = "/api/v1/publish/instagram/carousel"
TIKTOK = "/api/v1/publish/tiktok/carousel"
KEY_A = "alpha-key-0123456789abcdef"
KEY_B = "beta-key-0123456789abcdef0"
UNKNOWN_ID = "9b2f8c1e-0000-4000-8000-000000000000"


@pytest.fixture
async def service(start_service):
    return await start_service(http_listen="127.0.0.1:0")


@pytest.fixture
async def http(service):
    async with HttpApi(service.http.origin) as api:
        yield api


async def connect(http: HttpApi, platform: str = "INSTAGRAM", external: str = "17841400000000001") -> str:
    reply = await http.post(
        "/api/v1/accounts", {"platform": platform, "externalAccountId": external, "username": "u", "accessToken": "t"}
    )
    assert reply.status == 200, reply.body
    return str(reply.body["account"]["id"])


async def register(http: HttpApi, *urls: str) -> list[str]:
    return [(await http.post("/api/v1/media", {"url": url})).body["media"]["id"] for url in urls]


def assert_status(reply, http_status: int, status: str, reason: str | None = None) -> None:
    assert reply.status == http_status, reply.body
    assert reply.error["code"] == http_status
    assert reply.error["status"] == status
    assert reply.error["message"]
    if reason is not None:
        assert reply.reason == reason
    assert reply.detail("ErrorInfo")["domain"] == "distribution"


async def test_validation_names_every_item_with_bad_request_details(http, instagram_sandbox):
    account = await connect(http)
    reply = await http.post(INSTAGRAM, {"mediaIds": await register(http, *images(1)), "instagramAccountId": account})
    assert_status(reply, 400, "INVALID_ARGUMENT")
    assert "got 1" in reply.violations["media_ids"]
    assert instagram_sandbox.calls.total() == 0


async def test_not_found(http):
    assert_status(await http.get(f"/api/v1/publishes/{UNKNOWN_ID}"), 404, "NOT_FOUND")
    assert_status(await http.get(f"/api/v1/media/{UNKNOWN_ID}"), 404, "NOT_FOUND")
    account = await connect(http)
    ids = await register(http, *images(2))
    reply = await http.post(INSTAGRAM, {"mediaIds": [*ids, UNKNOWN_ID], "instagramAccountId": account})
    assert_status(reply, 404, "NOT_FOUND")
    assert reply.detail("ErrorInfo")["metadata"]["field"] == "media_ids[2]"


async def test_failed_precondition_for_a_disconnected_account(http):
    account = await connect(http)
    await http.post(f"/api/v1/accounts/{account}:disconnect")
    reply = await http.post(INSTAGRAM, {"mediaIds": await register(http, *images(2)), "instagramAccountId": account})
    assert_status(reply, 400, "FAILED_PRECONDITION")


async def test_duplicate_publish_is_409(http, instagram_sandbox):
    account = await connect(http)
    body = {"mediaIds": await register(http, *images(2)), "instagramAccountId": account, "caption": "once"}
    first = await http.post(INSTAGRAM, body)
    assert first.status == 200
    again = await http.post(INSTAGRAM, body)
    assert_status(again, 409, "ALREADY_EXISTS", "DUPLICATE_PUBLISH")
    assert again.detail("ErrorInfo")["metadata"]["publish_id"] == first.body["instagramPublishId"]
    assert len(instagram_sandbox.posts()) == 1


async def test_idempotency_key_header_is_the_request_id(http, instagram_sandbox):
    account = await connect(http)
    body = {"mediaIds": await register(http, *images(2)), "instagramAccountId": account}
    key = "0b7d6c1e-8a63-4c55-9d4e-3f1a2b3c4d5e"
    replies = await asyncio.gather(*(http.post(INSTAGRAM, body, headers={"Idempotency-Key": key}) for _ in range(3)))
    assert {r.status for r in replies} == {200}
    assert len({r.body["instagramPublishId"] for r in replies}) == 1
    assert instagram_sandbox.calls.counts["media_publish"] == 1
    other = {**body, "caption": "something else"}
    assert_status(await http.post(INSTAGRAM, other, headers={"Idempotency-Key": key}), 409, "ALREADY_EXISTS",
                  "REQUEST_ID_REUSED")
    # The body's requestId and the header must agree when both are sent.
    clash = await http.post(INSTAGRAM, {**body, "requestId": UNKNOWN_ID}, headers={"Idempotency-Key": key})
    assert_status(clash, 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
    assert "Idempotency-Key" in clash.error["message"]
    assert instagram_sandbox.calls.counts["media_publish"] == 1


async def test_quota_used_up_is_429_with_retry_after(http, instagram_sandbox):
    instagram_sandbox.config.publish_quota = 1
    account = await connect(http)
    first = await http.post(INSTAGRAM, {"mediaIds": await register(http, *images(2)), "instagramAccountId": account})
    assert first.status == 200
    ids = await register(http, *images(2, prefix="gs://b/next"))
    reply = await http.post(INSTAGRAM, {"mediaIds": ids, "instagramAccountId": account})
    assert_status(reply, 429, "RESOURCE_EXHAUSTED", "INSTAGRAM_PUBLISH_LIMIT_REACHED")
    # A rolling 24-hour quota frees with time: a first wait of an hour, the same in both forms.
    assert reply.detail("RetryInfo")["retryDelay"] == "3600s"
    assert reply.headers["Retry-After"] == "3600"


async def test_a_cap_only_the_caller_frees_is_429_without_retry_after_and_names_the_cap(start_service):
    service = await start_service(http_listen="127.0.0.1:0", webhooks=WebhookPolicy(per_workspace=1))
    async with HttpApi(service.http.origin) as http:
        first = await http.post("/api/v1/webhooks", {"url": "https://hooks.example.com/0"})
        assert first.status == 200, first.body
        reply = await http.post("/api/v1/webhooks", {"url": "https://hooks.example.com/1"})
    assert_status(reply, 429, "RESOURCE_EXHAUSTED", "WEBHOOK_LIMIT_REACHED")
    # Waiting frees nothing (deleting a webhook does): no Retry-After, no RetryInfo.
    assert "Retry-After" not in reply.headers
    assert [d["@type"].rsplit(".", 1)[1] for d in reply.error["details"]] == [
        "ErrorInfo", "QuotaFailure", "RequestInfo"
    ]
    # Which call it was: the request id the response's header gives (no trace: tracing is off).
    assert reply.detail("RequestInfo") == {
        "@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": reply.headers["X-Request-ID"]
    }
    assert reply.detail("QuotaFailure")["violations"] == [{
        "subject": "workspace:default",
        "description": "webhooks per workspace: at most 1; delete one with DeleteWebhook to add another",
        "quotaId": "DISTRIBUTION_WEBHOOKS_PER_WORKSPACE",
        "quotaValue": "1",
    }]


async def test_platform_failing_transiently_is_503(http, instagram_sandbox):
    account = await connect(http)
    instagram_sandbox.fail_next("create_container", status=500, code=2, is_transient=True, count=100)
    reply = await http.post(INSTAGRAM, {"mediaIds": await register(http, *images(2)), "instagramAccountId": account})
    assert_status(reply, 503, "UNAVAILABLE")


async def test_unconfirmed_publish_is_504(http, tiktok_sandbox):
    account = await connect(http, "TIKTOK", "oid")
    tiktok_sandbox.faults.set("init", "error_after_live", 1.0)
    reply = await http.post(TIKTOK, {"mediaIds": await register(http, *images(2)), "tiktokAccountId": account,
                                     "creatorConsentObtained": True})
    assert_status(reply, 504, "DEADLINE_EXCEEDED", "PUBLISH_UNCONFIRMED")
    assert tiktok_sandbox.calls.counts["init"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b'{"mediaIds": ["a",', "application/json", "not valid JSON"),
        (b'["a", "b"]', "application/json", "must be a JSON object"),
        (b'{"mediaIds": "not-a-list"}', "application/json", "mediaIds"),
        (b'{"imageCount": 3}', "application/json", "imageCount"),
        (b'{"coverIndex": 1.5}', "application/json", "coverIndex"),
        (b'{"privacyLevel": "EVERYBODY"}', "application/json", "privacyLevel"),
        (b"\xff\xfe{}", "application/json", "UTF-8"),
        (b"mediaIds=a&mediaIds=b", "application/x-www-form-urlencoded", "Content-Type: application/json"),
        (b'{"mediaIds": []}', "text/plain", "Content-Type: application/json"),
    ],
)
async def test_malformed_requests_are_400_with_a_clear_message(http, tiktok_sandbox, body, content_type, says):
    reply = await http.call("POST", TIKTOK, data=body, headers={"Content-Type": content_type})
    assert_status(reply, 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
    assert says in reply.error["message"]
    assert "Traceback" not in reply.error["message"] and "Available Fields" not in reply.error["message"]
    assert tiktok_sandbox.calls.total() == 0


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"pageSize": "ten"}, "whole number"),
        ({"colour": "blue"}, "Unknown query parameter 'colour'"),
        ({"state": "SOMEWHERE"}, "state"),
        ({"createTimeAfter": "yesterday"}, "createTimeAfter"),
        ({"pageSize": "-1"}, "page_size"),
    ],
)
async def test_bad_query_parameters_are_400(http, query, says):
    reply = await http.get("/api/v1/publishes", params=query)
    assert_status(reply, 400, "INVALID_ARGUMENT")
    assert says in reply.error["message"] or says in str(reply.body), reply.body


async def test_a_body_on_a_get_is_400(http):
    reply = await http.call(
        "GET", "/api/v1/publishes", data=b'{"pageSize": 1}', headers={"Content-Type": "application/json"}
    )
    assert_status(reply, 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")


async def test_a_body_over_the_limit_is_413(http, tiktok_sandbox):
    body = b'{"caption": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    reply = await http.call("POST", TIKTOK, data=body, headers={"Content-Type": "application/json"})
    assert reply.status == 413
    assert reply.error["code"] == 413  # AIP-193: the code is the HTTP status
    assert reply.error["status"] == "INVALID_ARGUMENT" and reply.reason == "REQUEST_TOO_LARGE"


async def test_unknown_paths_are_404_and_wrong_verbs_405(http):
    missing = await http.get("/api/v1/nothing-here")
    assert_status(missing, 404, "NOT_FOUND", "ROUTE_NOT_FOUND")
    wrong = await http.call("DELETE", INSTAGRAM)
    assert wrong.status == 405 and wrong.headers["Allow"] == "POST"
    assert (wrong.error["code"], wrong.error["status"]) == (405, "UNIMPLEMENTED")


async def test_request_id_header_is_echoed_and_logged(http, caplog):
    caplog.set_level(logging.INFO, logger="distribution.rpc")
    reply = await http.get(f"/api/v1/publishes/{UNKNOWN_ID}", headers={"X-Request-Id": "trace-abc-123"})
    assert reply.headers["X-Request-Id"] == "trace-abc-123"
    lines = [r for r in caplog.records if getattr(r, "method", "") == "/distribution.v1.PublishingService/GetPublish"]
    assert lines and lines[-1].code == "NOT_FOUND"
    caplog.set_level(logging.INFO, logger="distribution.http")
    refused = await http.post(INSTAGRAM, data=b"{", headers={"Content-Type": "application/json", "X-Request-Id": "r-2"})
    assert refused.status == 400
    [line] = [r for r in caplog.records if r.getMessage() == "http request refused"]
    assert (line.request_id, line.path, line.status) == ("r-2", INSTAGRAM, 400)
    made_up = await http.get("/api/v1/accounts")
    assert made_up.status == 200, made_up.body
    assert len(made_up.headers["X-Request-Id"]) == 32


async def test_api_keys_and_workspaces_as_on_grpc(start_service, caplog):
    service = await start_service(http_listen="127.0.0.1:0", api_keys=f"alpha={KEY_A},beta={KEY_B}")
    async with HttpApi(service.http.origin) as anonymous:
        assert_status(await anonymous.get("/api/v1/accounts"), 401, "UNAUTHENTICATED", "CREDENTIALS_MISSING")
        wrong = await anonymous.get("/api/v1/accounts", headers={"Authorization": "Bearer not-a-key-at-all-xx"})
        assert_status(wrong, 401, "UNAUTHENTICATED", "API_KEY_INVALID")
        assert "not-a-key-at-all-xx" not in str(wrong.body) + caplog.text
        malformed = await anonymous.get("/api/v1/accounts", headers={"Authorization": "Basic abc"})
        assert_status(malformed, 401, "UNAUTHENTICATED", "API_KEY_MALFORMED")
    async with HttpApi(service.http.origin, {"Authorization": f"Bearer {KEY_A}"}) as alpha, \
            HttpApi(service.http.origin, {"Authorization": f"Bearer {KEY_B}"}) as beta:
        account = await connect(alpha)
        assert (await alpha.get(f"/api/v1/accounts/{account}")).status == 200
        assert_status(await beta.get(f"/api/v1/accounts/{account}"), 404, "NOT_FOUND")
        assert (await beta.get("/api/v1/accounts")).body["accounts"] == []
        # The OpenAPI document is public, like reflection on the gRPC port.
        assert (await beta.get("/api/v1/openapi.json")).status == 200


async def test_per_caller_limit_is_shared_with_grpc_and_429(start_service, instagram_sandbox):
    instagram_sandbox.config.processing_delay = LONG  # the publishes stay in flight until finished below
    service = await start_service(http_listen="127.0.0.1:0", max_concurrent_per_caller=2)
    async with HttpApi(service.http.origin) as http:
        account = await connect(http)
        ids = await register(http, *images(2))
        body = {"mediaIds": ids, "instagramAccountId": account, "allowDuplicate": True}
        calls = [asyncio.ensure_future(http.post(INSTAGRAM, body)) for _ in range(3)]
        [refused] = await eventually(lambda: [c for c in calls if c.done()], "one publish to be refused at once")
        assert_status(refused.result(), 429, "RESOURCE_EXHAUSTED", "CALLER_CONCURRENCY_LIMIT")
        assert refused.result().headers["Retry-After"] == "1"

        def admitted_done() -> bool:
            finish_instagram_processing(instagram_sandbox)  # the carousel containers too, once made
            return all(c.done() for c in calls)

        await eventually(admitted_done, "the admitted publishes to finish")
    assert [c.result().status for c in calls if c is not refused] == [200, 200]


async def test_tls_and_mutual_tls(start_service, tmp_path):
    pki = make_pki(tmp_path)
    service = await start_service(
        http_listen="127.0.0.1:0", tls_cert=str(pki.server_cert), tls_key=str(pki.server_key),
        tls_client_ca=str(pki.ca_cert), tls_client_workspaces="billing-service=billing",
    )
    assert service.http.origin.startswith("https://")
    trusting = ssl.create_default_context(cafile=str(pki.ca_cert))
    trusting.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    async with HttpApi(service.http.origin, ssl_context=trusting) as billing:
        account = await connect(billing)
        assert (await billing.get(f"/api/v1/accounts/{account}")).status == 200
    assert await service.services.accounts.get("billing", account)  # the certificate's workspace
    anonymous = ssl.create_default_context(cafile=str(pki.ca_cert))
    async with HttpApi(service.http.origin, ssl_context=anonymous) as stranger:
        with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):  # the handshake needs one
            await stranger.get("/api/v1/accounts")
