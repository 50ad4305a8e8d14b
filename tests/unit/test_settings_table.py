"""The settings table (server/config/table.py): each setting once, the same defaults in code
and from the environment (the page written from it: tests/docs/test_configuration_page.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from server.config import SETTINGS, ConfigError, Settings, load_settings


def test_settings_built_in_code_equal_settings_read_from_an_empty_environment() -> None:
    assert load_settings({}) == Settings()


def test_an_empty_variable_takes_the_default_like_an_unset_one() -> None:
    empty = {s.env: "  " for s in SETTINGS if s.env != "DISTRIBUTION_DB"}
    assert load_settings(empty) == Settings()


def test_each_variable_and_each_value_is_named_once() -> None:
    envs = [s.env for s in SETTINGS]
    keys = [s.key for s in SETTINGS]
    assert len(set(envs)) == len(envs)
    assert len(set(keys)) == len(keys)
    assert all(env.startswith("DISTRIBUTION_") for env in envs)
    assert all(s.meaning.endswith(".") and s.parse.bounds() for s in SETTINGS)


def test_every_field_read_from_the_environment_has_a_row() -> None:
    """A field whose default comes from the table is one the table reads."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    keys = {s.key for s in SETTINGS}
    flat = keys & fields
    assert flat >= {"listen", "http_listen", "media_fetch", "webhook_timeout", "secret_keys"}
    for key in flat:
        assert getattr(Settings(), key) == next(s.default for s in SETTINGS if s.key == key), key


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISTRIBUTION_WEBHOOK_TIMEOUT", "0"),
        ("DISTRIBUTION_MEDIA_FETCH_TIMEOUT", "0"),
        ("DISTRIBUTION_EVENT_RETENTION_DAYS", "0"),
    ],
)
def test_a_time_of_zero_is_refused_where_it_would_leave_no_time(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})
    assert str(caught.value).startswith(f"{variable}={value!r} ")


def test_a_short_webhook_timeout_is_kept_as_given() -> None:
    assert load_settings({"DISTRIBUTION_WEBHOOK_TIMEOUT": "0.5"}).webhook_timeout == 0.5


def test_the_http_gateway_and_media_fetch_have_one_default_wherever_settings_are_built() -> None:
    for settings in (Settings(), load_settings({})):
        assert settings.http_listen == "127.0.0.1:8080"
        assert (settings.media_fetch, settings.media_fetch_mode) == ("auto", "sandbox")
    real = Settings(tiktok_api_base="https://open.tiktokapis.com")
    assert real.media_fetch_mode == "direct"  # a real platform never gets a made-up inspection
    assert Settings(media_fetch="off", tiktok_api_base="https://open.tiktokapis.com").media_fetch_mode == "off"


def test_the_key_file_sits_beside_the_database_unless_named() -> None:
    assert Settings(db_path=Path("/data/main.db")).key_file == Path("/data/secret.key")
    assert load_settings({"DISTRIBUTION_DB": "/data/main.db"}).key_file == Path("/data/secret.key")
    named = load_settings({"DISTRIBUTION_SECRET_KEY_FILE": "/run/keys/seal"})
    assert named.key_file == Path("/run/keys/seal")
