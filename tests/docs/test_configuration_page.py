"""docs/configuration.md is the page the settings table writes (`make generate`), naming
every variable and marking the secrets."""

from __future__ import annotations

from scripts import settings_page
from server.config import SETTINGS
from tests.support.paths import ROOT


def test_the_configuration_page_is_the_one_the_table_writes() -> None:
    page = (ROOT / settings_page.PAGE).read_text(encoding="utf-8")
    assert page == settings_page.render(), "docs/configuration.md is stale: run `make generate`"
    for setting in SETTINGS:
        assert f"| `{setting.env}` |" in page
    secret = [s.env for s in SETTINGS if s.secret]
    assert {"DISTRIBUTION_SECRET_KEYS", "DISTRIBUTION_API_KEYS", "DISTRIBUTION_TIKTOK_CLIENT_SECRET"} <= set(secret)
