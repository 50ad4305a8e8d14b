"""DISTRIBUTION_LATE_FACT_DELAY: when the reconciler first looks for what a run left pending."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings
from server.services.workflow.polling import ReconcileSchedule


def test_the_default_first_look_is_30_seconds_after_the_run() -> None:
    assert load_settings({}).late_facts == ReconcileSchedule()
    assert ReconcileSchedule().first_delay == 30.0


def test_the_first_delay_is_read_and_the_rest_of_the_schedule_kept() -> None:
    schedule = load_settings({"DISTRIBUTION_LATE_FACT_DELAY": "2.5"}).late_facts
    assert schedule.first_delay == 2.5
    assert schedule.delay(0) == 2.5 and schedule.delay(1) == 5.0
    default = ReconcileSchedule()
    assert (schedule.max_interval, schedule.horizons) == (default.max_interval, default.horizons)


@pytest.mark.parametrize("value", ["soon", "-1", "0", "0.05"])
def test_a_bad_value_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"DISTRIBUTION_LATE_FACT_DELAY": value})
    message = str(info.value)
    assert "DISTRIBUTION_LATE_FACT_DELAY" in message and "\n" not in message
