"""The media fetch settings: defaults, and one line naming the variable for a bad value
(over the real command line: tests/e2e/test_service_process.py)."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


def test_defaults_follow_the_api_bases() -> None:
    sandbox = load_settings({})
    assert (sandbox.media_fetch_mode, sandbox.media_fetch_timeout, sandbox.media_fetch_max_bytes) == (
        "sandbox", 10.0, 1 << 20)
    assert (sandbox.media_fetch_concurrency, sandbox.media_fetch_allow, sandbox.media_inspection_max_age) == (
        16, (), 3600.0)
    real = load_settings({"DISTRIBUTION_INSTAGRAM_API_BASE": "https://graph.facebook.com/v23.0"})
    assert real.media_fetch_mode == "direct"  # a real platform never gets a made-up inspection


def test_every_setting_is_read() -> None:
    settings = load_settings({
        "DISTRIBUTION_MEDIA_FETCH": "OFF",
        "DISTRIBUTION_MEDIA_FETCH_TIMEOUT": "2.5",
        "DISTRIBUTION_MEDIA_FETCH_MAX_BYTES": "65536",
        "DISTRIBUTION_MEDIA_FETCH_CONCURRENCY": "4",
        "DISTRIBUTION_MEDIA_FETCH_ALLOW": "10.20.0.0/16, media.corp.example",
        "DISTRIBUTION_MEDIA_INSPECTION_MAX_AGE": "0",
    })
    assert settings.media_fetch == "off"
    assert (settings.media_fetch_timeout, settings.media_fetch_max_bytes, settings.media_fetch_concurrency) == (
        2.5, 65536, 4)
    assert settings.media_fetch_allow == ("10.20.0.0/16", "media.corp.example")
    assert settings.media_inspection_max_age == 0.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISTRIBUTION_MEDIA_FETCH", "sometimes"),
        ("DISTRIBUTION_MEDIA_FETCH_TIMEOUT", "soon"),
        ("DISTRIBUTION_MEDIA_FETCH_TIMEOUT", "0"),
        ("DISTRIBUTION_MEDIA_FETCH_MAX_BYTES", "100"),
        ("DISTRIBUTION_MEDIA_FETCH_CONCURRENCY", "0"),
        ("DISTRIBUTION_MEDIA_FETCH_ALLOW", "10.0.0.0/8,not a host!"),
        ("DISTRIBUTION_MEDIA_INSPECTION_MAX_AGE", "-1"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        load_settings({variable: value})
    assert "\n" not in str(caught.value)
