"""Pages in a developer's browser against an open service, over a real socket: what a page
of another site can send (a forged Host after DNS rebinding, a cross-site POST that needs no
preflight) is refused with 403 google.rpc.Status before anything runs, while curl-like
clients, the service's own origin and the operator's extra hosts are served. With API keys
neither rule applies; with mutual TLS the Origin rule does. (The rules themselves:
tests/unit/test_browser_rules.py; in Chromium: tests/browser/test_other_sites.py.)"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.support.client import INSTAGRAM_USER_ID, images
from tests.support.http import HttpApi
from tests.support.raw_http import Answer, assert_aip193, raw, request
from tests.support.tls import make_pki

KEY = "browsers-test-key-0123456789"
INSTAGRAM = "/api/v1/publish/instagram/carousel"
ATTACKER = "attacker.example"


@pytest.fixture
async def open_service(start_service):
    return await start_service(http_listen="127.0.0.1:0")


def _port(origin: str) -> int:
    port = urlsplit(origin).port
    assert port is not None
    return port


async def _scheduled_publish(origin: str, context: ssl.SSLContext | None = None) -> str:
    async with HttpApi(origin, ssl_context=context) as http:
        account = await http.post("/api/v1/accounts", {"platform": "INSTAGRAM", "externalAccountId": INSTAGRAM_USER_ID,
                                                       "username": "demo", "accessToken": "t"})
        media = [(await http.post("/api/v1/media", {"url": url})).body["media"]["id"] for url in images(2)]
        later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        scheduled = await http.post(INSTAGRAM, {"mediaIds": media, "instagramAccountId": account.body["account"]["id"],
                                                "publishTime": later})
        assert scheduled.status == 200, scheduled.body
        return str(scheduled.body["instagramPublishId"])


async def _state(origin: str, publish_id: str) -> str:
    async with HttpApi(origin) as http:
        return str((await http.get(f"/api/v1/publishes/{publish_id}")).body["publish"]["state"])


def _refused(answer: Answer, reason: str, header: str) -> None:
    assert_aip193(answer, 403, "PERMISSION_DENIED", reason)
    info = next(d for d in answer.error["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["metadata"] == {"header": header}
    assert answer.headers["x-request-id"]


# --- DNS rebinding: a Host that is not this machine ----------------------------------------------


@pytest.mark.parametrize(("verb", "path"), [
    ("GET", "/api/v1/publishes"), ("GET", "/api/v1/accounts"), ("GET", "/api/v1/publishes:watch"),
    ("GET", "/api/v1/openapi.json"), ("GET", "/console/"), ("GET", "/console/js/api.js"), ("GET", "/nowhere"),
    ("POST", "/api/v1/publishes/9b2f8c1e-0000-4000-8000-000000000000:cancel"),
])
async def test_a_rebound_page_is_refused_on_every_path(open_service, no_traceback, verb, path):
    """After DNS rebinding the browser sends the attacker's name as Host, and no Origin on a
    same-origin GET: the name alone refuses it, before any route, file or body."""
    port = _port(open_service.http.origin)
    answer = await raw(open_service.http.origin, request(verb, path, host=f"{ATTACKER}:{port}"))
    _refused(answer, "HOST_NOT_ALLOWED", "Host")
    assert ATTACKER in answer.error["message"] and "DISTRIBUTION_HTTP_ALLOWED_HOSTS" in answer.error["message"]


async def test_the_names_and_addresses_of_this_machine_are_served(open_service, no_traceback):
    port = _port(open_service.http.origin)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"console.localhost:{port}",
                 f"127.0.0.2:{port}", "localhost"):
        answer = await raw(open_service.http.origin, request("GET", "/api/v1/accounts", host=host))
        assert answer.status == 200, (host, answer.data)
        page = await raw(open_service.http.origin, request("GET", "/console/", host=host))
        assert page.status == 200 and b"<title>Distribution console</title>" in page.data, host


async def test_without_host_http_1_1_is_refused_by_the_parser_and_http_1_0_is_served(open_service, no_traceback):
    """No browser sends a request without Host: HTTP/1.1 requires one (aiohttp's parser
    refuses its absence, as JSON), and an HTTP/1.0 client without one is not a browser."""
    missing = await raw(open_service.http.origin, request("GET", "/api/v1/accounts", host=None))
    assert_aip193(missing, 400, "INVALID_ARGUMENT", "MALFORMED_HTTP")
    old_client = await raw(open_service.http.origin, b"GET /api/v1/accounts HTTP/1.0\r\n\r\n")
    assert old_client.status == 200, old_client.data


async def test_the_operators_extra_hosts_are_served_and_no_other(start_service, no_traceback):
    service = await start_service(http_listen="127.0.0.1:0", http_allowed_hosts=("dev-box.lan", "10.0.0.0/8"))
    port = _port(service.http.origin)
    for host, status in ((f"dev-box.lan:{port}", 200), (f"10.20.30.40:{port}", 200), (f"other.lan:{port}", 403),
                         (f"192.168.0.5:{port}", 403)):
        answer = await raw(service.http.origin, request("GET", "/api/v1/accounts", host=host))
        assert answer.status == status, (host, answer.data)


# --- cross-site requests: an Origin that is not the service's own ------------------------------


async def test_a_cross_site_cancel_without_preflight_is_refused_and_cancels_nothing(open_service, no_traceback):
    """`POST ...:cancel` with an empty body is a CORS simple request: the browser sends it from
    any page, with the page's Origin, and only hides the answer. It must not act."""
    origin = open_service.http.origin
    publish_id = await _scheduled_publish(origin)
    cancel = f"/api/v1/publishes/{publish_id}:cancel"
    port = _port(origin)
    for foreign in ("https://attacker.example", "null", f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}",
                    f"http://localhost:{port}"):
        answer = await raw(origin, request("POST", cancel, host=f"127.0.0.1:{port}",
                                           headers=(("Origin", foreign), ("Content-Type", "text/plain"))))
        _refused(answer, "CROSS_ORIGIN_REFUSED", "Origin")
        assert await _state(origin, publish_id) == "PUBLISH_STATE_SCHEDULED", foreign
    # A cross-site read of the event stream is refused as well (the answer would be hidden
    # from the page anyway, but the stream is not opened for it).
    watch = await raw(origin, request("GET", "/api/v1/publishes:watch", headers=(("Origin", "https://attacker.example"),)))
    _refused(watch, "CROSS_ORIGIN_REFUSED", "Origin")


async def test_the_services_own_origin_and_no_origin_are_served(open_service, no_traceback):
    """The console's own POSTs carry its origin; curl and backend clients send none."""
    origin = open_service.http.origin
    port = _port(origin)
    first, second = await _scheduled_publish(origin), await _scheduled_publish(origin)
    own = await raw(origin, request("POST", f"/api/v1/publishes/{first}:cancel", host=f"127.0.0.1:{port}",
                                    headers=(("Origin", f"http://127.0.0.1:{port}"),)))
    assert own.status == 200, own.data
    assert await _state(origin, first) == "PUBLISH_STATE_CANCELLED"
    by_name = await raw(origin, request("POST", f"/api/v1/publishes/{second}:cancel", host=f"localhost:{port}",
                                        headers=(("Origin", f"http://localhost:{port}"),)))
    assert by_name.status == 200, by_name.data
    curl_like = await raw(origin, request("GET", "/api/v1/publishes"))
    assert curl_like.status == 200 and len(curl_like.body["publishes"]) == 2


async def test_host_or_origin_sent_twice_is_a_400(open_service, no_traceback):
    port = _port(open_service.http.origin)
    for headers in ((("Origin", f"http://127.0.0.1:{port}"), ("Origin", "https://attacker.example")),
                    (("Host", f"{ATTACKER}:{port}"),)):
        answer = await raw(open_service.http.origin, request("GET", "/api/v1/accounts", headers=headers))
        assert answer.status == 400, answer.data
        assert answer.error["code"] == 400 and answer.error["status"] == "INVALID_ARGUMENT"


# --- with authentication ------------------------------------------------------------------------


async def test_with_api_keys_neither_rule_applies(start_service, no_traceback):
    """A key is sent only by a caller that holds it, in a header a cross-site page cannot set
    without a preflight this service never grants: the key decides, whatever Host or Origin."""
    service = await start_service(http_listen="127.0.0.1:0", api_keys=f"alpha={KEY}")
    bearer = ("Authorization", f"Bearer {KEY}")
    port = _port(service.http.origin)
    proxied = await raw(service.http.origin, request("GET", "/api/v1/accounts", host=f"distribution.corp:{port}",
                                                     headers=(bearer, ("Origin", "https://console.corp.example"))))
    assert proxied.status == 200, proxied.data
    without_key = await raw(service.http.origin, request("GET", "/api/v1/accounts", host=f"{ATTACKER}:{port}",
                                                         headers=(("Origin", "https://attacker.example"),)))
    assert_aip193(without_key, 401, "UNAUTHENTICATED", "CREDENTIALS_MISSING")


async def test_with_mutual_tls_a_cross_site_origin_is_refused(start_service, tmp_path, no_traceback):
    """A browser presents its client certificate on cross-site requests, as it sends cookies:
    the certificate alone must not let another site's page act."""
    pki = make_pki(tmp_path)
    service = await start_service(
        http_listen="127.0.0.1:0", tls_cert=str(pki.server_cert), tls_key=str(pki.server_key),
        tls_client_ca=str(pki.ca_cert), tls_client_workspaces="billing-service=billing",
    )
    origin = service.http.origin
    trusting = ssl.create_default_context(cafile=str(pki.ca_cert))
    trusting.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    publish_id = await _scheduled_publish(origin, trusting)
    async with HttpApi(origin, ssl_context=trusting) as billing:
        foreign = await billing.post(f"/api/v1/publishes/{publish_id}:cancel",
                                     headers={"Origin": "https://attacker.example"})
        assert foreign.status == 403 and foreign.reason == "CROSS_ORIGIN_REFUSED", foreign.body
        kept = await billing.get(f"/api/v1/publishes/{publish_id}")
        assert kept.body["publish"]["state"] == "PUBLISH_STATE_SCHEDULED"
        # Any Host is served (names are the operator's with authentication on); its own origin too.
        own = await billing.post(f"/api/v1/publishes/{publish_id}:cancel",
                                 headers={"Host": f"distribution.internal:{_port(origin)}",
                                          "Origin": f"https://distribution.internal:{_port(origin)}"})
        assert own.status == 200, own.body

