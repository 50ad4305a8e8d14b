"""docs/configuration.md is the page the settings table writes (`make generate`), naming
every variable and marking the secrets; the variables the tests and tools read are where
the page says (DISTRIBUTION_TEST_*), so the service never warns about them."""

from __future__ import annotations

import re

from scripts import settings_page
from server.config import SETTINGS, TOOLING_PREFIX
from tests.support.paths import ROOT


def test_the_configuration_page_is_the_one_the_table_writes() -> None:
    page = (ROOT / settings_page.PAGE).read_text(encoding="utf-8")
    assert page == settings_page.render(), "docs/configuration.md is stale: run `make generate`"
    for setting in SETTINGS:
        assert f"| `{setting.env}` |" in page
    secret = [s.env for s in SETTINGS if s.secret]
    assert {"DISTRIBUTION_SECRET_KEYS", "DISTRIBUTION_API_KEYS", "DISTRIBUTION_TIKTOK_CLIENT_SECRET"} <= set(secret)


# How Python code and the Makefile read a variable.
_READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\(|\$\()["']?(DISTRIBUTION_[A-Z0-9_]+)""")


def test_every_variable_the_tests_and_tools_read_is_a_setting_or_the_toolings() -> None:
    """A developer's shell that exports them for the tests starts `make run` without a warning."""
    sources = [ROOT / "Makefile", *(p for d in ("tests", "bench", "scripts") for p in (ROOT / d).rglob("*.py"))]
    read = {name for path in sources for name in _READ.findall(path.read_text(encoding="utf-8"))}
    assert read >= {f"{TOOLING_PREFIX}POSTGRES", f"{TOOLING_PREFIX}FUZZ_EXAMPLES", f"{TOOLING_PREFIX}MODEL_EXAMPLES"}
    settings = {s.env for s in SETTINGS}
    assert {name for name in read if name not in settings and not name.startswith(TOOLING_PREFIX)} == set()
