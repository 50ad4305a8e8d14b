"""The browser layer: the console in Debian's headless Chromium (Playwright), against
`python -m server` started as `make run` starts it (tests/support/console.py). One browser
and one service per module; each test gets a fresh browser context (its own tab storage),
and fails if the page threw or broke its Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import LAPTOP, chromium

# Waits for what a person would see (a row, a state) give up after this long: generous for
# a loaded two-core machine; nothing here measures time.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def _is_policy_breach(text: str) -> bool:
    return "Content Security Policy" in text or "Trusted Type" in text or "TrustedHTML" in text


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A tab in a context of its own, failing the test on a script error or a CSP breach."""
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("console", lambda message: problems.append(message.text)
           if message.type == "error" and _is_policy_breach(message.text) else None)
    yield tab
    context.close()
    assert not problems, problems
