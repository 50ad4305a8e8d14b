"""The console on a service with API keys: it asks for a key, refuses a wrong one, keeps the
right one for the tab only (never in a URL, a cookie or local storage), sends it only in
the Authorization header, and each workspace sees only its own publishes, live too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.support.browser import LAPTOP
from tests.support.console import Api, console_service, origin_of

pytestmark = pytest.mark.timeout(300)

KEY_A = "alpha-key-for-the-console-0001"
KEY_B = "beta-key-for-the-console-00002"
WRONG = "not-a-key-of-this-service-0003"


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self.a = Api(origin_of(url), KEY_A)
        self.b = Api(origin_of(url), KEY_B)
        self.account_a = self.a.instagram_account("alpha.studio")
        self.photos_a = self.a.images(2, "alpha")
        self.first_a = self.a.instagram(self.account_a, self.photos_a, "alpha's first")["instagramPublishId"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    keys = f"alpha={KEY_A},beta={KEY_B}"
    with console_service(tmp_path_factory.mktemp("keys"), DISTRIBUTION_API_KEYS=keys) as (_service, url):
        yield World(url)


def watch_requests(page: Page) -> list[Request]:
    seen: list[Request] = []

    def record(request: Request) -> None:  # Playwright wants a Python function, not a bound builtin
        seen.append(request)

    page.on("request", record)
    return seen


def sign_in(page: Page, key: str) -> None:
    page.fill("#api-key", key)
    page.click("form.key-form button[type=submit]")


def rows(page: Page) -> Any:
    return page.locator("main table.rows tbody tr[data-id]")


def test_a_wrong_key_is_refused_and_the_right_one_opens_the_workspace(world: World, page: Page) -> None:
    requests = watch_requests(page)
    page.goto(world.url)
    expect(page.locator("form.key-form")).to_be_visible()
    expect(page.locator("#api-key")).to_be_focused()
    assert rows(page).count() == 0

    sign_in(page, WRONG)
    expect(page.locator("form.key-form .notice.error")).to_contain_text("That key was refused")
    assert page.evaluate("sessionStorage.length") == 0

    sign_in(page, KEY_A)
    expect(page.locator(f"main tr[data-id='{world.first_a}']")).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    expect(page.locator("#forget-key")).to_be_visible()

    # The key: in the Authorization header of API calls only; never in a URL or stored beyond the tab.
    api_calls = [r for r in requests if "/api/v1/" in r.url]
    assert api_calls
    for request in requests:
        assert KEY_A not in request.url and WRONG not in request.url, request.url
        assert KEY_A not in (request.post_data or "")
    authorised = [r for r in api_calls if r.headers.get("authorization") == f"Bearer {KEY_A}"]
    assert any(r.url.endswith("/api/v1/publishes:watch") for r in authorised)
    assert all("authorization" not in r.headers for r in requests if "/console/" in r.url)
    assert page.context.cookies() == []
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("Object.values(sessionStorage)") == [KEY_A]
    assert KEY_A not in page.url

    # A reload keeps the tab's key; another tab asks again; "Forget key" drops it.
    page.reload()
    expect(page.locator(f"main tr[data-id='{world.first_a}']")).to_be_visible()
    other = page.context.new_page()
    other.goto(world.url)
    expect(other.locator("form.key-form")).to_be_visible()
    other.close()
    page.click("#forget-key")
    expect(page.locator("form.key-form")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_workspace_b_sees_none_of_workspace_a_s_publishes_even_live(world: World, browser: Browser) -> None:
    tab_a = browser.new_context(viewport=LAPTOP).new_page()
    tab_b = browser.new_context(viewport=LAPTOP).new_page()
    try:
        for tab, key in ((tab_a, KEY_A), (tab_b, KEY_B)):
            tab.goto(world.url)
            sign_in(tab, key)
            expect(tab.locator("#live")).to_have_attribute("data-state", "live")
        expect(tab_b.locator("main table.rows")).to_contain_text("No publishes yet.")

        made = world.a.instagram(world.account_a, world.photos_a, "alpha, live")["instagramPublishId"]
        expect(tab_a.locator(f"main tr[data-id='{made}']")).to_have_attribute("data-state", "PUBLISHED")
        assert rows(tab_b).count() == 0  # B's stream carried none of it
        expect(tab_b.locator("main table.rows")).to_contain_text("No publishes yet.")

        tab_b.goto(f"{world.url}#/publishes/{made}")
        expect(tab_b.locator("main .notice.error")).to_be_visible()
        assert "alpha, live" not in tab_b.content()
        for view in ("/accounts", "/media"):
            tab_b.goto(f"{world.url}#{view}")
            expect(tab_b.locator("main table.rows")).to_be_visible()
            assert "alpha" not in tab_b.locator("main").inner_text()
    finally:
        tab_a.context.close()
        tab_b.context.close()
