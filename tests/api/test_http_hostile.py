"""Hostile bytes a schema cannot express, sent over a raw socket to the HTTP gateway: non-UTF-8
headers and bodies, two Authorization headers, JSON nested 100,000 deep, integers of
thousands of digits, NUL in every string field (on SQLite and PostgreSQL), request lines and
headers over aiohttp's limits, unknown methods (CONNECT included), ids holding control
characters. Every answer is a 4xx whose body is google.rpc.Status JSON with `code` equal to
the HTTP status (AIP-193), the key is checked before the body is read, and the log holds no
traceback. (The schema-driven fuzzing is test_http_fuzz.py's.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.http_gateway.gateway import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES
from server.http_gateway.transcode import MAX_JSON_DEPTH
from tests.support.client import images
from tests.support.http import HttpApi
from tests.support.postgres import fresh_database
from tests.support.raw_http import assert_aip193, raw, request

KEY = "hostile-key-0123456789abcdef"
UNKNOWN_ID = "9b2f8c1e-0000-4000-8000-000000000000"
INSTAGRAM = "/api/v1/publish/instagram/carousel"
TIKTOK = "/api/v1/publish/tiktok/carousel"


@pytest.fixture
async def keyed(start_service):
    return await start_service(http_listen="127.0.0.1:0", api_keys=f"hostile={KEY}")


@pytest.fixture
async def open_service(start_service, tmp_path):
    return await start_service(http_listen="127.0.0.1:0", db_path=tmp_path / "open" / "distribution.db")


BEARER = ("Authorization", f"Bearer {KEY}")


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe\xfd", b"\xc3\x28", b"Bearer caf\xc3\xa9-key-0123456789"])
async def test_non_utf8_or_non_ascii_authorization_is_401_not_500(keyed, no_traceback, value):
    answer = await raw(keyed.http.origin, request("GET", "/api/v1/accounts", headers=(("Authorization", value),)))
    assert_aip193(answer, 401, "UNAUTHENTICATED", "API_KEY_MALFORMED")


async def test_two_authorization_headers_are_refused(keyed, open_service, no_traceback):
    for service in (keyed, open_service):
        answer = await raw(service.http.origin, request(
            "GET", "/api/v1/accounts", headers=(BEARER, ("Authorization", "Bearer someone-elses-key-000000"))))
        assert_aip193(answer, 400, "INVALID_ARGUMENT", "MALFORMED_REQUEST")
        assert answer.violations().keys() == {"Authorization"}


async def test_the_key_is_checked_before_the_body_or_query_is_read(keyed, no_traceback):
    """Without a key a caller learns no field name: not from the body, nor the query."""
    for verb, path, body in [
        ("POST", INSTAGRAM, b'{"nosuchField": 1}'),
        ("POST", INSTAGRAM, b"{" * 100_000),
        ("POST", INSTAGRAM, b'{"caption": ' + b"9" * 5000 + b"}"),
        ("GET", "/api/v1/publishes?colour=blue", b""),
    ]:
        answer = await raw(keyed.http.origin, request(verb, path, body))
        assert_aip193(answer, 401, "UNAUTHENTICATED", "CREDENTIALS_MISSING")
        assert "nosuchField" not in json.dumps(answer.body) and "colour" not in json.dumps(answer.body)


# --- bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, f"nested deeper than {MAX_JSON_DEPTH}"),
        (b'{"mediaIds": ' + b"[" * 100_000, f"nested deeper than {MAX_JSON_DEPTH}"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, f"nested deeper than {MAX_JSON_DEPTH}"),
        (b'{"coverIndex": ' + b"1" * 4301 + b"}", "number of 4301 characters"),
        (b'{"coverIndex": -' + b"9" * 100_000 + b"}", "number of 100001 characters"),
        (b'{"coverIndex": 1' + b"0" * 500 + b".5}", "number of 503 characters"),
        (b'{"caption": "\xff\xfe"}', "not UTF-8"),
        (b'{"caption": "\\ud800"}', "caption"),
    ],
)
async def test_hostile_bodies_are_400_with_a_clear_message(keyed, tiktok_sandbox, no_traceback, body, says):
    answer = await raw(keyed.http.origin, request("POST", TIKTOK, body, (BEARER,)))
    assert_aip193(answer, 400, "INVALID_ARGUMENT")
    if says is not None:
        assert says in answer.error["message"], answer.error["message"]
    else:
        assert "caption" in answer.violations()
    assert tiktok_sandbox.calls.total() == 0


async def _nul_in_every_string_field(origin: str) -> None:
    async with HttpApi(origin, {"Authorization": f"Bearer {KEY}"}) as http:
        account = (await http.post("/api/v1/accounts", {"platform": "INSTAGRAM", "externalAccountId": "178414001",
                                                        "username": "nul", "accessToken": "t"})).body["account"]["id"]
        media = [(await http.post("/api/v1/media", {"url": url})).body["media"]["id"] for url in images(2)]
        cases: list[tuple[str, str, dict[str, Any], set[str]]] = [
            ("POST", "/api/v1/accounts", {"platform": "INSTAGRAM", "externalAccountId": "1\x00", "username": "a\x00b",
                                          "accessToken": "t\x00"}, {"external_account_id", "username", "access_token"}),
            ("POST", "/api/v1/media", {"url": "gs://b/a\x00.jpg", "mimeType": "image/jpeg\x00"}, {"url", "mime_type"}),
            ("POST", INSTAGRAM, {"mediaIds": [media[0], media[1] + "\x00"], "instagramAccountId": account,
                                 "caption": "Autumn\x00", "firstComment": "\x00", "locationId": "1\x00",
                                 "collaborators": ["ok", "b\x00"],
                                 "images": [{"altText": "x\x00", "userTags": [{"username": "u\x00", "x": 0.5,
                                                                               "y": 0.5}]}, {}]},
             {"media_ids[1]", "caption", "first_comment", "location_id", "collaborators[1]", "images[0].alt_text",
              "images[0].user_tags[0].username"}),
            ("POST", TIKTOK, {"mediaIds": media, "tiktokAccountId": account, "caption": "a\x00",
                              "description": "\x00", "requestId": "\x00"}, {"caption", "description", "request_id"}),
            ("POST", "/api/v1/webhooks", {"url": "https://h.example/\x00", "description": "d\x00"},
             {"url", "description"}),
            ("GET", f"/api/v1/publishes?accountId={account}%00&pageToken=%00", {}, {"account_id", "page_token"}),
            ("GET", f"/api/v1/accounts/{account}%00", {}, {"id"}),
            ("POST", f"/api/v1/publishes/{UNKNOWN_ID}%00:cancel", {}, {"id"}),
        ]
        for verb, path, body, fields in cases:
            reply = await http.call(verb, path, body or None)
            assert reply.status == 400, (path, reply.body)
            assert reply.error["code"] == 400 and reply.error["status"] == "INVALID_ARGUMENT", reply.body
            assert set(reply.violations) == fields, (path, reply.violations)
            assert all("NUL" in text for text in reply.violations.values()), reply.violations
        # Nothing was written: the account is as it was, no media or publish was added.
        listed = await http.get("/api/v1/publishes")
        assert listed.body["publishes"] == []
        assert len((await http.get("/api/v1/media")).body["media"]) == 2


async def test_nul_in_every_string_field_is_refused_naming_it_on_sqlite(keyed, no_traceback):
    await _nul_in_every_string_field(keyed.http.origin)


@pytest.fixture
async def postgres_url():
    """A database of its own, dropped only after the services a test started have stopped
    (a fixture set up before start_service is torn down after it): dropped under a running
    service, its last writes at stop would fail the test's teardown."""
    async with fresh_database() as url:
        yield url


async def test_nul_in_every_string_field_is_refused_naming_it_on_postgresql(postgres_url, start_service, no_traceback):
    service = await start_service(http_listen="127.0.0.1:0", api_keys=f"hostile={KEY}", database_url=postgres_url,
                                  secret_keys="")
    await _nul_in_every_string_field(service.http.origin)


# --- what aiohttp's parser refuses, and what no route serves ------------------------------------


async def test_a_request_line_over_the_limit_is_414_json(keyed, no_traceback):
    path = "/api/v1/publishes?pageToken=" + "a" * MAX_REQUEST_LINE_BYTES
    answer = await raw(keyed.http.origin, request("GET", path, headers=(BEARER,)))
    assert_aip193(answer, 414, "INVALID_ARGUMENT", "REQUEST_LINE_TOO_LONG")


async def test_headers_over_the_limits_are_431_json(keyed, no_traceback):
    long_header = await raw(keyed.http.origin, request(
        "GET", "/api/v1/accounts", headers=(BEARER, ("X-Padding", "p" * (MAX_HEADER_FIELD_BYTES + 1)))))
    assert_aip193(long_header, 431, "INVALID_ARGUMENT", "HEADERS_TOO_LARGE")
    many = await raw(keyed.http.origin, request(
        "GET", "/api/v1/accounts", headers=(BEARER, *((f"X-H{i}", "v") for i in range(200)))))
    assert_aip193(many, 431, "INVALID_ARGUMENT", "HEADERS_TOO_LARGE")


async def test_bytes_that_are_not_http_are_400_json(keyed, no_traceback):
    for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
                    b"GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\nBad\x01Header: v\r\n\r\n",
                    b"G\xffT / HTTP/1.1\r\n\r\n"):
        answer = await raw(keyed.http.origin, garbage)
        assert_aip193(answer, 400, "INVALID_ARGUMENT", "MALFORMED_HTTP")


@pytest.mark.parametrize("verb", ["CONNECT", "TRACE", "PURGE", "DELETE", "PUT", "PATCH", "OPTIONS"])
async def test_methods_no_route_takes_are_405_or_404_json(keyed, no_traceback, verb):
    target = "127.0.0.1:443" if verb == "CONNECT" else INSTAGRAM
    answer = await raw(keyed.http.origin, request(verb, target, headers=(BEARER,)))
    if verb == "CONNECT":  # an authority, not a path of this API
        assert_aip193(answer, 404, "NOT_FOUND", "ROUTE_NOT_FOUND")
    else:
        assert_aip193(answer, 405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED")
        assert answer.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/publishes/6%0A", "/api/v1/publishes/%0D%0A:watch", "/api/v1/accounts/%00", "/api/v1/media/a%09b",
     "/api/v1/webhooks/%1B%5B31m/deliveries", "/api/v1/publishes/%E2%80%AE"],
)
async def test_ids_holding_control_characters_get_a_json_4xx(keyed, no_traceback, path):
    answer = await raw(keyed.http.origin, request("GET", path, headers=(BEARER,)))
    assert 400 <= answer.status < 500, answer.body
    assert answer.error["code"] == answer.status
    assert answer.headers["content-type"].startswith("application/json")


async def test_no_route_and_a_body_over_the_limit_carry_their_own_status_as_code(keyed, no_traceback):
    missing = await raw(keyed.http.origin, request("GET", "/api/v2/nothing", headers=(BEARER,)))
    assert_aip193(missing, 404, "NOT_FOUND", "ROUTE_NOT_FOUND")
    big = b'{"caption": "' + b"x" * (1 << 20) + b'"}'
    too_large = await raw(keyed.http.origin, request("POST", TIKTOK, big, (BEARER,)))
    assert_aip193(too_large, 413, "INVALID_ARGUMENT", "REQUEST_TOO_LARGE")
