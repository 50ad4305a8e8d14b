"""The console on an open loopback service (no API keys, as under `make run`): a publish made
over the API appears live and changes state, its page shows the timeline, ids and media;
the history filters and keyset paging; cancel and reschedule; markup in a caption stays
text; accounts without tokens; webhook deliveries, the redeliver button sending one again
and only where the API has the route; a phone-sized screen; the screenshot script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from scripts import console_screenshots
from tests.support.browser import PHONE
from tests.support.console import Api, ApiError, console_service, later, origin_of
from tests.support.paths import ROOT
from tests.support.receiver import Receiver, receiving
from tests.support.waiting import eventually_sync

pytestmark = pytest.mark.timeout(300)


class World:
    def __init__(self, url: str, receiver: Receiver) -> None:
        self.url = url
        self.api = Api(origin_of(url))
        self.receiver = receiver
        self.instagram = self.api.instagram_account("studio.north")
        self.tiktok = self.api.tiktok_account("studio_north_tt")
        self.photos = self.api.images(2, "browser")

    def open(self, page: Page, route: str = "/publishes") -> None:
        page.goto(self.url + "#" + route)
        expect(page.locator("#live")).to_have_attribute("data-state", "live")

    def failed_tiktok(self) -> str:
        with pytest.raises(ApiError) as refused:  # TikTok's spam check: the record keeps why
            self.api.tiktok(self.tiktok, self.photos, "spam offer")
        return str(refused.value.body["error"]["details"][0]["metadata"]["publish_id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with receiving() as receiver, console_service(
        tmp_path_factory.mktemp("console"),
        # A second per container or post: long enough to see a publish in PROCESSING.
        DISTRIBUTION_SANDBOX_PROCESSING_DELAY="1.0",
        DISTRIBUTION_WEBHOOK_ALLOW="127.0.0.0/8",
        DISTRIBUTION_WEBHOOK_ALLOW_HTTP="true",
    ) as (_service, url):
        yield World(url, receiver)


def rows(page: Page) -> Any:
    return page.locator("main table.rows tbody tr[data-id]")


def test_a_publish_appears_live_changes_state_and_its_page_shows_the_timeline(world: World, page: Page) -> None:
    world.open(page)
    caption = "Live from the console test"
    # Every state the row shows while it lives in the table, without the page reloading.
    page.evaluate("""(caption) => {
        window.seen = []; window.samePage = true;
        const look = () => {
          for (const row of document.querySelectorAll('main tr[data-id]')) {
            if (!row.textContent.includes(caption)) continue;
            if (window.seen[window.seen.length - 1] !== row.dataset.state) window.seen.push(row.dataset.state);
          }
        };
        new MutationObserver(look).observe(document.getElementById('main'), { subtree: true, childList: true });
    }""", caption)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(world.api.instagram, world.instagram, world.photos, caption, firstComment="first!")
        row = page.locator("main tr[data-id]", has_text=caption)
        expect(row).to_have_attribute("data-state", re.compile("PENDING|PROCESSING"))
        expect(row).to_have_attribute("data-state", "PUBLISHED")
        answer = call.result(timeout=60)
    publish_id = answer["instagramPublishId"]
    expect(row).to_have_attribute("data-id", publish_id)
    seen = page.evaluate("window.seen")
    assert seen[0] in ("PENDING", "PROCESSING") and seen[-1] == "PUBLISHED", seen
    assert page.evaluate("window.samePage") is True  # updated in place, never reloaded
    expect(row).to_contain_text("✓ Published")
    expect(row).to_contain_text(answer["igMediaId"])

    # By keyboard: the newest row, then its page.
    page.keyboard.press("ArrowDown")
    expect(page.locator("main a.row-link").first).to_be_focused()
    expect(page.locator("main a.row-link").first).to_have_attribute("href", f"#/publishes/{publish_id}")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(publish_id)
    expect(page.locator("main")).to_be_focused()  # the keyboard follows to the new view

    record = world.api.get(f"/publishes/{publish_id}")
    publish, events = record["publish"], record["events"]
    expect(page.locator(".headline [data-state]")).to_have_attribute("data-state", "PUBLISHED")
    timeline = page.locator("table.timeline tbody tr")
    expect(timeline).to_have_count(len(events))
    assert timeline.evaluate_all("rows => rows.map(r => r.dataset.type)") == [e["type"] for e in events]
    assert {"CREATED", "PUBLISHED", "PERMALINK_READ"} <= {e["type"] for e in events}
    shown_times = timeline.locator("time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert [_ms(t) for t in shown_times] == [_ms(e["time"]) for e in events]
    # Each step's platform response, as the API gives it, in that step's row.
    for row, event in zip(timeline.all(), events, strict=True):
        response = row.locator("td[data-label='Platform response']").inner_text()
        for name, value in (event.get("details") or {}).items():
            assert name in response and (not isinstance(value, str) or value in response), (event, response)
    assert any(e["type"] == "CHILD_CONTAINER_CREATED" and e["details"]["container_id"] for e in events)
    ids = page.locator("section[aria-label='Platform ids']")
    expect(ids).to_contain_text(publish["igMediaId"])
    expect(ids).to_contain_text(publish["instagramContainerId"])
    for child in publish["instagramChildContainerIds"]:
        expect(ids).to_contain_text(child)
    expect(ids.locator("a.url")).to_have_attribute("href", publish["permalink"])
    comment = page.locator("section[aria-label='First comment']")
    expect(comment).to_contain_text("first!")
    expect(comment.locator("[data-state]")).to_have_attribute("data-state", "POSTED")
    expect(comment).to_contain_text(publish["firstComment"]["commentId"])
    cards = page.locator("figure.media-card")
    expect(cards).to_have_count(2)
    for card in cards.all():
        expect(card).to_contain_text("image/jpeg")
        expect(card).to_contain_text("1080×1080 px")
        expect(card.locator("[data-state]")).to_have_attribute("data-state", "READ")


def _ms(text: str) -> datetime:
    """An RFC 3339 time to the millisecond (the page shows milliseconds)."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_the_failed_filter_shows_only_failed_publishes_with_their_reason(world: World, page: Page) -> None:
    failed = world.failed_tiktok()
    world.api.instagram(world.instagram, world.photos, "a good one")
    world.open(page)
    expect(rows(page).first).to_be_visible()
    page.keyboard.press("/")
    expect(page.locator("form.filters select[name=accountId]")).to_be_focused()
    page.select_option("form.filters select[name=state]", "FAILED")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/publishes\?state=FAILED$"))
    expected = [p["id"] for p in world.api.publishes(state="FAILED")]
    expect(rows(page)).to_have_count(len(expected))
    assert rows(page).evaluate_all("rs => rs.map(r => r.dataset.id)") == expected
    assert set(rows(page).evaluate_all("rs => rs.map(r => r.dataset.state)")) == {"FAILED"}
    failed_row = page.locator(f"main tr[data-id='{failed}']")
    expect(failed_row).to_contain_text("✗ Failed")
    expect(failed_row).to_contain_text("TIKTOK_SPAM_RISK_TEXT")

    page.click(f"main tr[data-id='{failed}'] a.row-link")
    error = page.locator("section[aria-label='Error']")
    expect(error).to_contain_text("TIKTOK_SPAM_RISK_TEXT")
    expect(error).to_contain_text("spam_risk_text")  # the platform's own code
    trace = world.api.get(f"/publishes/{failed}")["publish"]["error"]["platformTraceId"]
    expect(error).to_contain_text(trace)


def test_keyset_paging_follows_the_api_s_pages_both_ways(world: World, page: Page) -> None:
    for n in range(5 - len(world.api.publishes())):
        world.api.instagram(world.instagram, world.photos, f"page filler {n}")
    first, second = _pages(world.api, 2)
    world.open(page, "/publishes?pageSize=2")
    expect(rows(page)).to_have_count(2)
    assert rows(page).evaluate_all("rs => rs.map(r => r.dataset.id)") == first
    page.click("text=Older →")
    expect(page.locator(".page-status")).to_have_text("Page 2: 2 publishes")
    assert rows(page).evaluate_all("rs => rs.map(r => r.dataset.id)") == second
    page.click("text=← Newer")
    expect(page.locator(".page-status")).to_have_text("Page 1: 2 publishes")
    assert rows(page).evaluate_all("rs => rs.map(r => r.dataset.id)") == first


def _pages(api: Api, size: int) -> tuple[list[str], list[str]]:
    page1 = api.get(f"/publishes?pageSize={size}")
    page2 = api.get(f"/publishes?pageSize={size}&pageToken={page1['nextPageToken']}")
    return [p["id"] for p in page1["publishes"]], [p["id"] for p in page2["publishes"]]


def test_scheduled_publishes_in_time_order_with_cancel_and_reschedule(world: World, page: Page) -> None:
    later_one = world.api.instagram(world.instagram, world.photos, "in two hours", publishTime=later(120))
    sooner_one = world.api.instagram(world.instagram, world.photos, "in one hour", publishTime=later(60))
    later_id, sooner_id = later_one["instagramPublishId"], sooner_one["instagramPublishId"]
    world.open(page, "/scheduled")
    expect(rows(page)).to_have_count(len(world.api.publishes(state="SCHEDULED")))
    order = rows(page).evaluate_all("rs => rs.map(r => r.dataset.id)")
    assert order.index(sooner_id) < order.index(later_id)

    row = page.locator(f"main tr[data-id='{later_id}']")
    row.get_by_role("button", name=f"Cancel publish {later_id}").click()
    expect(row).to_contain_text("Cancel this publish?")
    row.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator(f"main tr[data-id='{later_id}']")).to_have_count(0)
    assert world.api.get(f"/publishes/{later_id}")["publish"]["state"] == "PUBLISH_STATE_CANCELLED"

    new_time = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)
    row = page.locator(f"main tr[data-id='{sooner_id}']")
    row.get_by_role("button", name=f"Reschedule publish {sooner_id}").click()
    row.locator("input[name=publishTime]").fill(new_time.strftime("%Y-%m-%dT%H:%M:%S"))
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"main tr[data-id='{sooner_id}'] time").first).to_have_attribute(
        "datetime", new_time.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    moved = world.api.get(f"/publishes/{sooner_id}")["publish"]
    assert moved["state"] == "PUBLISH_STATE_SCHEDULED"
    assert datetime.fromisoformat(moved["scheduleTime"].replace("Z", "+00:00")) == new_time

    # A time in the past is the API's to refuse: its words are shown, nothing changes.
    row = page.locator(f"main tr[data-id='{sooner_id}']")
    row.get_by_role("button", name=f"Reschedule publish {sooner_id}").click()
    row.locator("input[name=publishTime]").fill("2001-01-01T00:00:00")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".notice.error")).to_contain_text("publish_time")
    assert world.api.get(f"/publishes/{sooner_id}")["publish"]["scheduleTime"] == moved["scheduleTime"]

    page.goto(f"{world.url}#/publishes/{later_id}")
    expect(page.locator(".headline [data-state]")).to_have_attribute("data-state", "CANCELLED")
    expect(page.get_by_role("button", name=re.compile("Cancel publish"))).to_have_count(0)


def test_markup_in_a_caption_is_shown_as_text_and_never_runs(world: World, page: Page) -> None:
    caption = '<script>window.pwned = "script"</script><img src=x onerror="window.pwned = \'img\'"> & <b>bold</b>'
    publish_id = world.api.instagram(world.instagram, world.photos, caption)["instagramPublishId"]
    world.open(page)
    row = page.locator(f"main tr[data-id='{publish_id}']")
    expect(row.locator(".caption")).to_have_text(caption[:79] + "…")
    page.goto(f"{world.url}#/publishes/{publish_id}")
    expect(page.locator("blockquote.caption-full")).to_have_text(caption)
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img, main b").count() == 0


def test_accounts_and_media_show_what_the_api_gives_and_never_a_token(world: World, page: Page) -> None:
    token = "sandbox-token-never-shown-7f3a"
    world.api.post("/accounts", {"platform": "INSTAGRAM", "externalAccountId": "17841400000000777",
                                 "username": "token.check", "accessToken": token})
    world.open(page, "/accounts")
    expect(page.locator("main")).to_contain_text("token.check")
    accounts = world.api.get("/accounts?showDisconnected=true")["accounts"]
    expect(page.locator("main table.rows tbody tr")).to_have_count(len(accounts))
    assert token not in page.content()

    page.click("nav >> text=Media")
    media = world.api.get("/media")["media"]
    expect(page.locator("main table.rows tbody tr")).to_have_count(len(media))
    for item in media:
        expect(page.locator("main")).to_contain_text(item["url"])


def test_webhook_deliveries_and_a_redeliver_button_only_where_the_api_has_the_route(
    world: World, page: Page
) -> None:
    webhook = world.api.post("/webhooks", {"url": world.receiver.url, "description": "browser test"})["webhook"]
    world.api.instagram(world.instagram, world.photos, "for the webhook")
    eventually_sync(lambda: world.api.get(f"/webhooks/{webhook['id']}/deliveries")["deliveries"], "deliveries")
    world.open(page, "/webhooks")
    page.click(f"main tr[data-id='{webhook['id']}'] a.row-link")
    expect(page.locator("h1")).to_contain_text(webhook["id"])
    delivery_rows = rows(page)
    expect(delivery_rows.first).to_be_visible()
    expect(page.locator("main")).to_contain_text("publish.state_changed")

    # This API has the route (RedeliverWebhookEvents): the button sends the delivery again,
    # through the API, and the receiver gets that event once more, under the same id.
    assert any(op.get("operationId") == "WebhookService_RedeliverWebhookEvents" for op in _operations(world.api))
    first = delivery_rows.first
    delivery_id = first.get_attribute("data-id")
    delivery = next(d for d in world.api.get(f"/webhooks/{webhook['id']}/deliveries")["deliveries"]
                    if d["id"] == delivery_id)
    eventually_sync(lambda: _received(world.receiver, delivery["eventId"]) >= 1, "the first delivery")
    before = delivery_rows.count()
    with page.expect_request(lambda r: r.url.endswith(f"/api/v1/webhooks/{webhook['id']}:redeliver")) as sent:
        first.get_by_role("button", name=f"Redeliver delivery {delivery_id}").click()
    assert sent.value.method == "POST" and json.loads(sent.value.post_data or "{}") == {"deliveryId": delivery_id}
    expect(page.locator("main .outcome")).to_contain_text(f"Redeliver: delivery {delivery_id} queued again.")
    expect(delivery_rows).to_have_count(before + 1)
    eventually_sync(lambda: _received(world.receiver, delivery["eventId"]) >= 2, "the event delivered again")

    # Where the OpenAPI document has no such route (an older service), there is no button.
    def without_redelivery(route: Route) -> None:
        document = world.api.get("/openapi.json")
        document["paths"] = {path: item for path, item in document["paths"].items() if ":redeliver" not in path}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(document))

    page.route("**/api/v1/openapi.json", without_redelivery)
    page.reload()
    expect(delivery_rows.first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Redeliver"))).to_have_count(0)


def _received(receiver: Receiver, event_id: str) -> int:
    """How many POSTs the receiver got for `event_id` (the Standard Webhooks `webhook-id`)."""
    return sum(1 for r in receiver.received if {k.lower(): v for k, v in r["headers"].items()}.get("webhook-id")
               == event_id)


def _operations(api: Api) -> list[dict[str, Any]]:
    return [op for item in api.get("/openapi.json")["paths"].values() for op in item.values()]


def test_a_malformed_link_shows_the_api_s_answer_and_nothing_breaks(world: World, page: Page) -> None:
    world.open(page, "/publishes/%E0%A4%A")
    expect(page.locator("main .notice.error")).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("s")
    expect(page.locator("main h1")).to_have_text("Scheduled")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Scheduled")


def test_on_a_phone_every_view_fits_the_screen(world: World, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        publish_id = world.api.publishes()[0]["id"]
        for route in ("/publishes", f"/publishes/{publish_id}", "/scheduled", "/accounts", "/media", "/webhooks"):
            page.goto(f"{world.url}#{route}")
            expect(page.locator("main h1")).to_be_visible()
            expect(page.locator("main[aria-busy]")).to_have_count(0)  # drawn
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (route, overflow)
        page.goto(f"{world.url}#/publishes")
        cell = page.locator("main tr[data-id] td[data-label='State']").first
        # A card per row: each cell names its column.
        assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"State"'
    finally:
        context.close()


def test_the_screenshot_command_writes_every_picture(tmp_path: Path) -> None:
    """What `make console-screenshots` runs, into a scratch folder (docs/images stays as committed)."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.console_screenshots", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"console-{view}.png" for view in console_screenshots.VIEWS)
    for path in tmp_path.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
