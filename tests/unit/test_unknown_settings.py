"""DISTRIBUTION_* variables that are no setting (server/config/unknown.py): found by name,
with the setting a typo or an old name probably meant; the tooling's DISTRIBUTION_TEST_*
never. The start's WARNING lines: tests/e2e/test_start_banner_and_logs.py."""

from __future__ import annotations

import pytest

from server.config import SETTINGS, TOOLING_PREFIX, UnknownVariable, unknown_variables

NAMES = [s.env for s in SETTINGS]


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        pytest.param("DISTRIBUTION_WEBHOOK_DISABLE_AFTER", "DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS", id="old-name"),
        pytest.param("DISTRIBUTION_LOGLEVEL", "DISTRIBUTION_LOG_LEVEL", id="typo"),
        pytest.param("DISTRIBUTION_API_KEY", "DISTRIBUTION_API_KEYS", id="one-letter-short"),
        pytest.param("DISTRIBUTION_HTTP_LISTN", "DISTRIBUTION_HTTP_LISTEN", id="letter-missing"),
        pytest.param("distribution_db", "DISTRIBUTION_DB", id="lower-case"),
        pytest.param("DISTRIBUTION_COLOUR", None, id="nothing-close"),
    ],
)
def test_an_unknown_variable_is_named_with_the_setting_it_probably_meant(name: str, meant: str | None) -> None:
    assert unknown_variables([name, "PATH"], NAMES) == [UnknownVariable(name, meant)]


def test_settings_the_tooling_and_other_namespaces_are_not_reported() -> None:
    env = [*NAMES, "PATH", "GRPC_VERBOSITY", "MY_DISTRIBUTION_DB", f"{TOOLING_PREFIX}POSTGRES",
           f"{TOOLING_PREFIX}FUZZ_EXAMPLES", f"{TOOLING_PREFIX}ANYTHING"]
    assert unknown_variables(env, NAMES) == []


def test_every_unknown_variable_is_reported_once_in_name_order() -> None:
    found = unknown_variables(["DISTRIBUTION_ZZZ", "DISTRIBUTION_LISTN", "DISTRIBUTION_ZZZ", "DISTRIBUTION_DB"], NAMES)
    assert [u.name for u in found] == ["DISTRIBUTION_LISTN", "DISTRIBUTION_ZZZ"]


def test_the_message_names_the_variable_and_the_likely_setting() -> None:
    assert UnknownVariable("DISTRIBUTION_LOGLEVEL", "DISTRIBUTION_LOG_LEVEL").message() == (
        "DISTRIBUTION_LOGLEVEL is not a setting of this service and is ignored; did you mean DISTRIBUTION_LOG_LEVEL?"
    )
    assert UnknownVariable("DISTRIBUTION_COLOUR", None).message() == (
        "DISTRIBUTION_COLOUR is not a setting of this service and is ignored"
    )


def test_no_setting_is_named_in_the_tooling_namespace() -> None:
    assert [name for name in NAMES if name.startswith(TOOLING_PREFIX)] == []
