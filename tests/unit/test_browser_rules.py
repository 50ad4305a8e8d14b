"""The Host and Origin rules for browsers (server/http_gateway/browsers.py), on requests
built in memory: which hosts an open service answers, which Origin is its own, which mode
turns which rule on. (Over a real socket and in Chromium: tests/api/test_http_browsers.py,
tests/browser/test_other_sites.py.)"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from server.http_gateway.browsers import BrowserGuard
from server.http_gateway.errors import Refused
from server.http_gateway.transcode import BadRequest

OPEN = BrowserGuard.for_port(open_service=True, mutual_tls=False, tls=False, listen_host="127.0.0.1")


def _check(guard: BrowserGuard, *headers: tuple[str, str], method: str = "GET") -> str | None:
    """None when the request passes, else the refusal's reason."""
    request = make_mocked_request(method, "/api/v1/publishes", headers=CIMultiDict(headers))
    try:
        guard.check(request)
    except Refused as refused:
        assert (refused.status, refused.code) == (403, 7)  # PERMISSION_DENIED
        assert refused.metadata["header"] in ("Host", "Origin")
        return refused.reason
    return None


@pytest.mark.parametrize("host", [
    "127.0.0.1:8080", "127.0.0.1", "127.9.8.7:8080", "localhost:8080", "LOCALHOST", "localhost.:8080",
    "console.localhost:8080", "[::1]:8080", "[::1]", "[::ffff:127.0.0.1]:8080",
])
def test_an_open_service_answers_the_names_and_addresses_of_this_machine(host):
    assert _check(OPEN, ("Host", host)) is None


@pytest.mark.parametrize("host", [
    "attacker.example:8080", "attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io:8080",
    "192.168.1.20:8080", "[2001:db8::1]:8080", "0.0.0.0:8080", "2130706433:8080", "localhost:8080@evil",
    "local host", "", "[::1", "127.0.0.1:99999999",
])
def test_an_open_service_refuses_any_other_host(host):
    assert _check(OPEN, ("Host", host)) == "HOST_NOT_ALLOWED"


def test_the_listen_address_and_the_operators_hosts_are_answered_too():
    guard = BrowserGuard.for_port(open_service=True, mutual_tls=False, tls=False, listen_host="192.168.1.20",
                                  allowed=("dev-box.lan", "10.0.0.0/8", "Build.Example.", " "))
    for host in ("192.168.1.20:8080", "dev-box.lan:8080", "DEV-BOX.LAN", "10.200.3.4:8080", "build.example"):
        assert _check(guard, ("Host", host)) is None, host
    for host in ("192.168.1.21:8080", "sub.dev-box.lan", "11.0.0.1", "example", ""):
        assert _check(guard, ("Host", host)) == "HOST_NOT_ALLOWED", host


def test_a_request_without_host_is_no_browsers_and_passes():
    assert _check(OPEN) is None


@pytest.mark.parametrize(("host", "origin"), [
    ("127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("localhost:8080", "http://LOCALHOST:8080"),
    ("[::1]:8080", "http://[::1]:8080"),
    ("localhost", "http://localhost"),
    ("localhost:80", "http://localhost"),
])
def test_the_services_own_origin_passes(host, origin):
    assert _check(OPEN, ("Host", host), ("Origin", origin), method="POST") is None


@pytest.mark.parametrize(("host", "origin"), [
    ("127.0.0.1:8080", "https://attacker.example"),
    ("127.0.0.1:8080", "null"),
    ("127.0.0.1:8080", "http://127.0.0.1:8081"),  # another port of this machine is another origin
    ("127.0.0.1:8080", "https://127.0.0.1:8080"),  # served over http, not https
    ("127.0.0.1:8080", "http://localhost:8080"),  # another name, another origin
    ("127.0.0.1:8080", "http://127.0.0.1:8080/console/"),
    ("127.0.0.1:8080", "http://127.0.0.1:notaport"),
    ("127.0.0.1:8080", "http://user@127.0.0.1:8080"),
    ("127.0.0.1:8080", "http://:8080"),
    ("127.0.0.1:8080", ""),
    (None, "http://127.0.0.1:8080"),
])
def test_any_other_origin_is_refused(host, origin):
    headers = (("Host", host),) if host is not None else ()
    assert _check(OPEN, *headers, ("Origin", origin), method="POST") == "CROSS_ORIGIN_REFUSED"


def test_the_origin_is_compared_with_the_scheme_the_port_is_served_with():
    tls = BrowserGuard.for_port(open_service=True, mutual_tls=False, tls=True, listen_host="127.0.0.1")
    assert _check(tls, ("Host", "localhost:8443"), ("Origin", "https://localhost:8443")) is None
    assert _check(tls, ("Host", "localhost"), ("Origin", "https://localhost:443")) is None
    assert _check(tls, ("Host", "localhost:8443"), ("Origin", "http://localhost:8443")) == "CROSS_ORIGIN_REFUSED"


def test_which_mode_turns_on_which_rule():
    keys = BrowserGuard.for_port(open_service=False, mutual_tls=False, tls=False, listen_host="0.0.0.0")
    assert not keys.active  # API keys alone: a page cannot send a key cross-site without a preflight
    assert _check(keys, ("Host", "attacker.example"), ("Origin", "https://attacker.example")) is None
    mtls = BrowserGuard.for_port(open_service=False, mutual_tls=True, tls=True, listen_host="0.0.0.0")
    host = ("Host", "distribution.internal:8443")
    assert _check(mtls, host) is None  # names are the operator's
    # A browser's client certificate goes with cross-site requests, as cookies do.
    assert _check(mtls, host, ("Origin", "https://attacker.example")) == "CROSS_ORIGIN_REFUSED"
    assert _check(mtls, host, ("Origin", "https://distribution.internal:8443")) is None


@pytest.mark.parametrize("name", ["Host", "Origin"])
def test_either_header_sent_twice_is_a_bad_request(name):
    values = {"Host": ("127.0.0.1:8080", "attacker.example"), "Origin": ("http://127.0.0.1:8080", "null")}[name]
    others = () if name == "Host" else (("Host", "127.0.0.1:8080"),)
    request = make_mocked_request("POST", "/", headers=CIMultiDict([*others, *((name, v) for v in values)]))
    with pytest.raises(BadRequest) as bad:
        OPEN.check(request)
    assert bad.value.field == name


def test_the_refusal_quotes_the_header_cut_and_names_the_setting():
    request = make_mocked_request("GET", "/", headers=CIMultiDict([("Host", "a" * 300 + ".example")]))
    with pytest.raises(Refused) as refused:
        OPEN.check(request)
    assert "DISTRIBUTION_HTTP_ALLOWED_HOSTS" in refused.value.message
    assert "a" * 100 + "..." in refused.value.message and "a" * 101 not in refused.value.message
