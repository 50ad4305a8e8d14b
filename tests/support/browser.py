"""Debian's Chromium (/usr/bin/chromium, installed by `make test`) driven by Playwright's
Python API, for the console's browser tests, its screenshots and its benchmark.

Playwright's own browser downloads are never used (`executable_path` names the system
browser). Each launch gets a fresh, temporary profile (Playwright passes a new
--user-data-dir and removes it at close), and the flags keep Chromium from reaching
anything but the pages it is sent to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium(*flags: str) -> Iterator[Browser]:
    """A headless Chromium for the block, with `flags` beside FLAGS; closed (its profile
    removed) after it."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*FLAGS, *flags]
        )
        try:
            yield browser
        finally:
            browser.close()
