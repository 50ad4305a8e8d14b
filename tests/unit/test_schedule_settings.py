"""The scheduling settings: defaults, each read, and one line naming the variable for a bad
value (DISTRIBUTION_SCHEDULE_TOLERANCE, _HORIZON, _MAX_LATENESS)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.config import ConfigError, load_settings
from server.domain.schedule import SchedulePolicy


def test_defaults_are_a_few_seconds_a_year_and_an_hour() -> None:
    assert load_settings({}).schedule == SchedulePolicy(
        tolerance=timedelta(seconds=5), horizon=timedelta(days=365), max_lateness=timedelta(hours=1)
    )


def test_every_setting_is_read() -> None:
    settings = load_settings({
        "DISTRIBUTION_SCHEDULE_TOLERANCE": "0.5",
        "DISTRIBUTION_SCHEDULE_HORIZON": "86400",
        "DISTRIBUTION_SCHEDULE_MAX_LATENESS": "0",
    })
    assert settings.schedule == SchedulePolicy(
        tolerance=timedelta(seconds=0.5), horizon=timedelta(days=1), max_lateness=timedelta(0)
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISTRIBUTION_SCHEDULE_TOLERANCE", "soon"),
        ("DISTRIBUTION_SCHEDULE_TOLERANCE", "61"),
        ("DISTRIBUTION_SCHEDULE_HORIZON", "-1"),
        ("DISTRIBUTION_SCHEDULE_HORIZON", "3"),  # not beyond the 5 s tolerance
        ("DISTRIBUTION_SCHEDULE_MAX_LATENESS", "an hour"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        load_settings({variable: value})
    assert "\n" not in str(caught.value)
