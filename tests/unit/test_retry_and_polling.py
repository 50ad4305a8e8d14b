"""Retries with backoff within a budget, polling schedules, and the reconcile schedule
(server/services/workflow/retry.py, polling.py)."""

from __future__ import annotations

import random

import pytest

from server.domain.platforms import PlatformFailure
from server.services.workflow.polling import PERMALINK, TIKTOK_POST_ID, PollPolicy, ReconcileSchedule
from server.services.workflow.retry import Retrier, RetryPolicy
from tests.fakes import FakeClock, IgFailure, TikTokFailure


class Flaky:
    """A call that fails with the given failures, then answers "ok"."""

    def __init__(self, *failures: PlatformFailure) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def retrier(clock: FakeClock, retried: list[PlatformFailure] | None = None, **policy: float) -> Retrier:
    on_retry = retried.append if retried is not None else None
    return Retrier(RetryPolicy(**policy), clock, on_retry, random.Random(7))  # type: ignore[arg-type]


async def test_a_call_that_succeeds_is_made_once() -> None:
    clock = FakeClock()
    call = Flaky()
    assert await retrier(clock).run(call) == "ok"
    assert (call.calls, clock.sleeps) == (1, [])


async def test_transient_failures_are_retried_with_growing_jittered_waits() -> None:
    clock, retried = FakeClock(), []
    failure = IgFailure.server_error("media")
    call = Flaky(*[failure] * 5)
    assert await retrier(clock, retried).run(call) == "ok"
    assert call.calls == 6
    assert retried == [failure] * 5
    bounds = [0.5 * 2**attempt for attempt in range(5)]
    assert all(0 <= slept <= bound for slept, bound in zip(clock.sleeps, bounds, strict=True))


async def test_a_final_failure_is_raised_at_once() -> None:
    clock = FakeClock()
    failure = TikTokFailure.answered("init_photo_post", code="invalid_params")
    call = Flaky(failure)
    with pytest.raises(PlatformFailure) as caught:
        await retrier(clock).run(call)
    assert caught.value is failure
    assert (call.calls, clock.sleeps) == (1, [])


async def test_attempts_are_bounded_and_the_last_failure_raised() -> None:
    clock = FakeClock()
    failures = [IgFailure.timed_out("media") for _ in range(10)]
    call = Flaky(*failures)
    with pytest.raises(PlatformFailure) as caught:
        await retrier(clock, max_attempts=4).run(call)
    assert caught.value is failures[3]
    assert call.calls == 4


async def test_retry_after_is_honoured_within_the_budget() -> None:
    clock = FakeClock()
    call = Flaky(*[TikTokFailure.rate_limited("fetch_status", retry_after=25)] * 6)
    with pytest.raises(PlatformFailure):
        await retrier(clock, budget=60.0).run(call)
    assert clock.sleeps == [25, 25]  # a third wait would pass the 60 s budget
    assert call.calls == 3


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=3)
    rng = random.Random(1)
    assert all(policy.backoff(10, rng) <= 3 for _ in range(100))


async def test_polling_checks_at_once_then_backs_off_until_the_timeout() -> None:
    clock = FakeClock()
    policy = PollPolicy(initial_interval=1, multiplier=2, max_interval=5, timeout=12)
    ticks = [tick async for tick in policy.ticks(clock)]
    assert ticks == [0, 1, 2, 3, 4]
    assert clock.sleeps == [1, 2, 4, 5]


async def test_polling_stops_asking_once_the_caller_is_done() -> None:
    clock = FakeClock()
    async for tick in PollPolicy(1, 2, 5, 100).ticks(clock):
        if tick == 2:
            break
    assert clock.sleeps == [1, 2]


def test_the_reconcile_schedule() -> None:
    schedule = ReconcileSchedule()
    assert [schedule.delay(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert schedule.horizon(PERMALINK) == 86400
    assert schedule.horizon(TIKTOK_POST_ID) == 3 * 86400
    assert schedule.horizon("anything else") == 86400


class UpperBound(random.Random):
    """Jitter that always picks the top of its range, so each wait is the policy's bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_each_backoff_bound_doubles_until_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=20.0)
    assert [policy.backoff(attempt, UpperBound()) for attempt in range(8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0,
    ]


async def test_waits_that_add_up_to_exactly_the_budget_are_all_made() -> None:
    clock = FakeClock()
    call = Flaky(*[TikTokFailure.rate_limited("fetch_status", retry_after=25)] * 2)
    assert await retrier(clock, budget=50.0).run(call) == "ok"
    assert clock.sleeps == [25, 25]  # 25 + 25 is the budget itself, not past it
    assert call.calls == 3


async def test_each_retry_is_logged_with_its_failure_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="distribution.retry")
    failure = TikTokFailure.rate_limited("fetch_status", retry_after=1.23456)
    await retrier(FakeClock(), base_delay=0.001).run(Flaky(failure))
    [record] = caplog.records
    assert record.getMessage() == "retrying platform call"
    assert (record.error, record.delay_s) == (str(failure), 1.235)  # type: ignore[attr-defined]
