"""Other sites' pages in Chromium against an open service (no API keys, as under `make run`):
a page of another site that sends a cross-site cancel (a CORS simple request, no preflight)
cancels nothing, and a page whose name was re-pointed at 127.0.0.1 (DNS rebinding, made here
with Chromium's --host-resolver-rules) reads neither the console nor the API; the console
opened by another name of this machine (localhost) still works, cancel included. The
rules: server/http_gateway/browsers.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import chromium
from tests.support.console import Api, console_service, later, origin_of

pytestmark = pytest.mark.timeout(300)

ATTACKER = "attacker.test"  # another site, served from this machine (loopback to loopback)
REBOUND = "rebound.test"  # a site whose name now points at 127.0.0.1
# Cross-site, without a preflight: a POST with no body and no custom header, whose answer
# the page may not read (mode no-cors). The browser still sends it, with the page's Origin.
_OTHER_SITE_PAGE = b"""<!doctype html><title>another site</title>
<script>
const target = new URLSearchParams(location.search).get("target");
fetch(target, {method: "POST", mode: "no-cors"}).then(
  () => { document.title = "sent"; }, (error) => { document.title = "not sent: " + error; });
</script>"""


class _OtherSite(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_OTHER_SITE_PAGE)))
        self.end_headers()
        self.wfile.write(_OTHER_SITE_PAGE)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium resolving the two sites' names to this machine (no DNS is asked)."""
    with chromium(f"--host-resolver-rules=MAP {ATTACKER} 127.0.0.1, MAP {REBOUND} 127.0.0.1") as opened:
        yield opened


@pytest.fixture(scope="module")
def other_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{ATTACKER}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    with console_service(tmp_path_factory.mktemp("other-sites")) as (_process, url):
        yield Api(origin_of(url)), url


def _scheduled(api: Api) -> str:
    account = api.instagram_account("other.sites")
    return str(api.instagram(account, api.images(2, "other-sites"), "not yours to cancel",
                             publishTime=later(90))["instagramPublishId"])


def test_another_sites_page_cannot_cancel_a_publish(service: tuple[Api, str], other_site: str, page: Page) -> None:
    api, _url = service
    publish_id = _scheduled(api)
    target = f"{api.origin}/api/v1/publishes/{publish_id}:cancel"
    with page.expect_response(lambda r: r.url == target) as answered:
        page.goto(f"{other_site}/?target={quote(target, safe='')}")
    expect(page).to_have_title("sent")  # the browser sent it: the service is what refused it
    assert answered.value.status == 403
    assert api.get(f"/publishes/{publish_id}")["publish"]["state"] == "PUBLISH_STATE_SCHEDULED"


def test_a_rebound_name_reads_neither_the_console_nor_the_api(service: tuple[Api, str], page: Page) -> None:
    api, url = service
    publish_id = _scheduled(api)
    rebound = url.replace("127.0.0.1", REBOUND)
    answer = page.goto(rebound)
    assert answer is not None and answer.status == 403
    assert answer.json()["error"]["details"][0]["reason"] == "HOST_NOT_ALLOWED"
    # The page is now same-origin with the service in the browser's eyes; the service is not
    # fooled: what it would read is refused too.
    read = page.evaluate("""async () => {
        const answer = await fetch('/api/v1/publishes');
        return {status: answer.status, text: await answer.text()};
    }""")
    assert read["status"] == 403 and publish_id not in read["text"]
    assert api.get(f"/publishes/{publish_id}")["publish"]["state"] == "PUBLISH_STATE_SCHEDULED"


def test_the_console_by_another_name_of_this_machine_works_cancel_included(
    service: tuple[Api, str], page: Page
) -> None:
    api, url = service
    publish_id = _scheduled(api)
    page.goto(url.replace("127.0.0.1", "localhost") + "#/scheduled")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    row = page.locator(f"main tr[data-id='{publish_id}']")
    row.get_by_role("button", name=f"Cancel publish {publish_id}").click()
    row.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator(f"main tr[data-id='{publish_id}']")).to_have_count(0)
    assert api.get(f"/publishes/{publish_id}")["publish"]["state"] == "PUBLISH_STATE_CANCELLED"
