"""The console's static files on the HTTP gateway's port: served at /console/ without a key
(they hold no data) while every API route keeps its authentication; each answer carries the
page's security headers; gzip and revalidation; only the shipped files, whatever the path."""

from __future__ import annotations

import gzip
import re

import pytest
from aiohttp import ClientSession

from server.http_gateway.console import CONTENT_SECURITY_POLICY, STATIC_DIR, Console, load_files
from server.http_gateway.gateway import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES
from tests.support.http import HttpApi
from tests.support.raw_http import assert_aip193, raw, request

KEY = "console-test-key-0123456789"


@pytest.fixture
async def service(start_service):
    return await start_service(http_listen="127.0.0.1:0", api_keys=f"alpha={KEY}")


@pytest.fixture
async def http():
    async with ClientSession(auto_decompress=False) as session:
        yield session


def _security_headers_of(headers) -> None:
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_policy_allows_this_origin_only_and_no_inline_code():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "img-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_the_files_hold_no_inline_script_or_style_and_nothing_from_elsewhere():
    for path in STATIC_DIR.rglob("*"):
        if path.suffix not in (".html", ".js", ".css"):
            continue
        text = path.read_text()
        assert not re.search(r"https?://", text), f"{path}: the console loads nothing from another origin"
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{path}: inline script"
            assert "<style" not in text and " style=" not in text and not re.search(r"\son[a-z]+=", text), path
        if path.suffix == ".js":
            # Values reach the page as text: no HTML string sink anywhere in the console.
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
                assert sink not in text, f"{path}: {sink}"
            # The key is kept for the tab only (sessionStorage), never where it outlives it.
            assert not re.search(r"\blocalStorage\s*[.\[]|document\.cookie|indexedDB\.", text), path


async def test_the_console_is_served_without_a_key_while_the_api_asks_for_one(service, http):
    origin = service.http.origin
    async with http.get(origin + "/console/") as page:
        assert page.status == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        _security_headers_of(page.headers)
        assert "<title>Distribution console</title>" in gzip.decompress(await page.read()).decode()
    async with http.get(origin + "/api/v1/publishes") as api:
        assert api.status == 401
        assert (await api.json())["error"]["status"] == "UNAUTHENTICATED"
    async with http.get(origin + "/api/v1/publishes", headers={"Authorization": f"Bearer {KEY}"}) as api:
        assert api.status == 200


async def test_every_file_answers_with_its_type_gzip_and_a_validator(service, http):
    origin = service.http.origin
    files = load_files()
    assert {"index.html", "console.css", "js/app.js", "js/api.js", "js/views/publishes.js"} <= set(files)
    for name, shipped in files.items():
        url = f"{origin}/console/{name}"
        async with http.get(url, headers={"Accept-Encoding": "gzip, br"}) as response:
            assert response.status == 200, name
            _security_headers_of(response.headers)
            body = await response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            assert body == shipped.body, name
            assert response.headers["Content-Type"].split(";")[0] in (
                "text/html", "text/javascript", "text/css", "image/svg+xml"), name
            assert response.headers["Cache-Control"] == "no-cache"
            etag = response.headers["ETag"]
        async with http.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status == 304 and not await again.read(), name
    async with http.get(origin + "/console/js/app.js", headers={"Accept-Encoding": "identity"}) as plain:
        assert "Content-Encoding" not in plain.headers
        assert await plain.read() == files["js/app.js"].body


async def test_console_redirects_to_its_slash_and_takes_only_get_and_head(service, http):
    origin = service.http.origin
    async with http.get(origin + "/console", allow_redirects=False) as bare:
        assert bare.status == 308 and bare.headers["Location"] == "/console/"
    async with http.head(origin + "/console/") as head:
        assert head.status == 200 and not await head.read()
    for path in ("/console/", "/console", "/console/js/app.js"):
        async with http.post(origin + path, data=b"x", allow_redirects=False) as posted:
            assert posted.status == 405 and posted.headers["Allow"] == "GET, HEAD", path
            assert (await posted.json())["error"]["code"] == 405


@pytest.mark.parametrize("path", [
    "/console/nope.js", "/console/../pyproject.toml", "/console/%2e%2e/%2e%2e/pyproject.toml",
    "/console/js/../../__init__.py", "/console/__init__.py", "/console/static/index.html", "/console//etc/passwd",
])
async def test_only_the_shipped_files_are_served_whatever_the_path(service, http, path):
    async with http.get(service.http.origin + path) as response:
        text = await response.text()
        if response.status == 200:  # a path that normalises to a shipped file
            assert text in {f.body.decode() for f in load_files().values()}
        else:
            assert response.status == 404, (path, response.status)
            assert "import" not in text and "[tool" not in text


async def test_the_console_can_be_turned_off(start_service, http):
    service = await start_service(http_listen="127.0.0.1:0", console=False)
    assert service.facts()["console"] == "off"
    async with http.get(service.http.origin + "/console/") as response:
        assert response.status == 404
        assert (await response.json())["error"]["details"][0]["reason"] == "ROUTE_NOT_FOUND"


def test_an_install_without_the_files_says_so_and_answers_404(tmp_path, caplog):
    assert load_files(tmp_path / "missing") == {}
    console = Console(load_files(tmp_path))
    assert console.files == {}
    assert "the console's files are missing" in caplog.text
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 4)
    files = load_files(tmp_path)
    assert files["index.html"].gzipped is None  # too small to be worth it
    assert files["data.bin"].content_type == "application/octet-stream"
    assert gzip.decompress(files["data.bin"].gzipped) == files["data.bin"].body


# --- the gateway's edge holds for console paths too ---------------------------------------------


async def test_console_paths_over_the_parser_limits_get_the_gateways_json(service, no_traceback):
    origin = service.http.origin
    long_line = await raw(origin, request("GET", "/console/?q=" + "a" * MAX_REQUEST_LINE_BYTES))
    assert_aip193(long_line, 414, "INVALID_ARGUMENT", "REQUEST_LINE_TOO_LONG")
    padding = ("X-Pad", "p" * (MAX_HEADER_FIELD_BYTES + 1))
    long_header = await raw(origin, request("GET", "/console/", headers=(padding,)))
    assert_aip193(long_header, 431, "INVALID_ARGUMENT", "HEADERS_TOO_LARGE")
    many = await raw(origin, request("GET", "/console/js/app.js", headers=tuple((f"X-H{i}", "v") for i in range(200))))
    assert_aip193(many, 431, "INVALID_ARGUMENT", "HEADERS_TOO_LARGE")
    control = await raw(origin, b"GET /console/ HTTP/1.1\r\nHost: 127.0.0.1\r\nBad\x01Header: v\r\n\r\n")
    assert_aip193(control, 400, "INVALID_ARGUMENT", "MALFORMED_HTTP")


@pytest.mark.parametrize("verb", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PURGE"])
async def test_console_paths_refuse_other_methods_as_json_naming_get_and_head(service, no_traceback, verb):
    for path in ("/console", "/console/", "/console/js/app.js", "/console/nope"):
        answer = await raw(service.http.origin, request(verb, path, body=b'{"a": 1}' if verb == "POST" else b""))
        assert_aip193(answer, 405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED")
        assert answer.headers["allow"] == "GET, HEAD"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-request-id"]


@pytest.mark.parametrize("path", [
    b"/console/%00", b"/console/js/app.js%00", b"/console/%0D%0ASet-Cookie:%20a=b", b"/console/%E2%80%AE",
    b"/console/\xff\xfe", b"/console/%ff", b"/console/js/%1B%5B31m", b"/console/" + b"x" * 4000,
])
async def test_console_names_holding_control_or_invalid_bytes_get_a_json_404(service, no_traceback, path):
    answer = await raw(service.http.origin, request("GET", path))
    if answer.status == 400:  # bytes aiohttp's parser refuses before any handler
        assert_aip193(answer, 400, "INVALID_ARGUMENT", "MALFORMED_HTTP")
    else:
        assert_aip193(answer, 404, "NOT_FOUND", "CONSOLE_FILE_NOT_FOUND")
        assert "set-cookie" not in answer.headers
        assert "\x00" not in answer.error["message"] and "Set-Cookie" not in answer.error["message"]


@pytest.mark.parametrize("path", [
    "/console/../api/v1/accounts", "/console/%2e%2e/api/v1/accounts", "/console/..%2Fapi%2Fv1%2Faccounts",
    "/console//api/v1/accounts", "/console/api/v1/accounts", "/console/./../api/v1/accounts",
    "/api/v1/accounts/../../../console/", "/api/v1/%2e%2e/%2e%2e/console/../api/v1/accounts",
    "/console/../api/v1/openapi.json/../accounts", "/console%2F../api/v1/accounts", "/CONSOLE/../api/v1/accounts",
])
async def test_no_console_path_reaches_the_api_without_a_key(service, no_traceback, path):
    """The console answers its own files and nothing else: a path that names it on the way to
    an API route gets a console 404, a shipped file, or the API's own 401, never data."""
    async with HttpApi(service.http.origin, {"Authorization": f"Bearer {KEY}"}) as api:
        made = await api.post("/api/v1/accounts", {"platform": "INSTAGRAM", "externalAccountId": "178414777",
                                                   "username": "only-with-the-key", "accessToken": "t"})
        assert made.status == 200, made.body
    answer = await raw(service.http.origin, request("GET", path))
    assert b"only-with-the-key" not in answer.data
    if answer.status == 200:
        assert answer.data in {f.body for f in load_files().values()}
    else:
        assert answer.error["code"] == answer.status
        assert answer.reason() in {"CONSOLE_FILE_NOT_FOUND", "ROUTE_NOT_FOUND", "CREDENTIALS_MISSING"}, answer.body
