"""Every RESOURCE_EXHAUSTED says how it frees (server/domain/errors.py ResourceExhausted):
a limit that frees with time carries RetryInfo with its delay; a cap only the caller's own
action frees carries none (a client would retry it on a timer forever) and names the cap in
a QuotaFailure. Each limit the service or a platform adapter can answer is classified here.
"""

from __future__ import annotations

import grpc
import pytest

from server.adapters.instagram import errors as ig_errors
from server.adapters.tiktok import errors as tt_errors
from server.domain.errors import QuotaViolation, ResourceExhausted
from server.domain.limits import ROLLING_DAY_RETRY_AFTER_SECONDS
from server.domain.models import PublishError
from server.grpc_api.interceptors.limits import CallerLimits
from server.services.events import StreamPolicy, _too_slow
from server.services.quota import _used_up
from tests.support.errors import rich_error_of

DAY = ROLLING_DAY_RETRY_AFTER_SECONDS


def test_a_cap_the_caller_frees_carries_a_quota_failure_and_no_retry_info() -> None:
    cap = ResourceExhausted.cap_reached(
        reason="SOME_CAP", message="at the cap",
        violation=QuotaViolation(
            subject="workspace:alpha", description="delete one", quota_id="SOME_CAP", quota_value=3
        ),
        metadata={"limit": "3"},
    )
    sent = rich_error_of(cap)
    assert sent.code == grpc.StatusCode.RESOURCE_EXHAUSTED and sent.metadata == {"limit": "3"}
    assert sent.retry_delay_seconds is None
    assert sent.quota_violations == [("workspace:alpha", "SOME_CAP", 3, "delete one")]


def test_a_limit_that_frees_with_time_carries_its_delay_and_no_quota_failure() -> None:
    sent = rich_error_of(ResourceExhausted.frees_with_time("SOME_RATE", "slow down", retry_after=2.5))
    assert sent.retry_delay_seconds == 2.5 and sent.quota_violations == []


def test_a_resource_exhausted_that_says_nothing_gets_no_invented_delay() -> None:
    # No default delay: an error built without saying how it frees gets no RetryInfo.
    sent = rich_error_of(ResourceExhausted(reason="UNSAID", message="unsaid"))
    assert sent.retry_delay_seconds is None and sent.quota_violations == []


def _call_refused() -> ResourceExhausted:
    with pytest.raises(ResourceExhausted) as caught:
        CallerLimits(0)._acquire()
    return caught.value


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        pytest.param(_call_refused(), 1.0, id="calls-in-flight"),
        pytest.param(_too_slow("e1", StreamPolicy()), 0.0, id="stream-consumer-too-slow"),
        pytest.param(_used_up(50, 50), DAY, id="instagram-publishing-quota"),
    ],
)
def test_the_services_own_limits_free_with_time(error: ResourceExhausted, delay: float) -> None:
    sent = rich_error_of(error)
    assert sent.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (sent.retry_delay_seconds, sent.quota_violations) == (delay, [])


def _rows(table: dict[str, tuple[str, str, bool]]) -> list[tuple[str, str]]:
    return [(key, reason) for key, (code, reason, _) in table.items() if code == "RESOURCE_EXHAUSTED"]


IG_WINDOWS = {"INSTAGRAM_RATE_LIMITED": 300.0, "INSTAGRAM_PUBLISH_LIMIT_REACHED": DAY}
TT_WINDOWS = {
    "TIKTOK_RATE_LIMITED": 60.0, "TIKTOK_DAILY_POST_CAP": DAY, "TIKTOK_PENDING_SHARE_CAP": DAY,
    "TIKTOK_ACTIVE_USER_CAP": DAY,
}


def test_every_platform_limit_is_classified() -> None:
    ig = {reason for _, reason in _rows(ig_errors._BY_CODE) + _rows(ig_errors._BY_SUBCODE)}
    tt = {reason for _, reason in _rows(tt_errors._TABLE)}
    assert (ig, tt) == (set(IG_WINDOWS), set(TT_WINDOWS))


def _graph(code: str, subcode: str = "", headers: dict[str, str] | None = None) -> PublishError:
    payload = {"error": {"code": int(code), "error_subcode": int(subcode) if subcode else None, "message": "m"}}
    return ig_errors.graph_failure("create_container", 400, payload, headers or {}).error


@pytest.mark.parametrize(("code", "reason"), _rows(ig_errors._BY_CODE))
def test_an_instagram_limit_frees_with_its_window_or_what_graph_states(code: str, reason: str) -> None:
    error = _graph(code)
    assert (error.code, error.reason, error.retry_after) == ("RESOURCE_EXHAUSTED", reason, IG_WINDOWS[reason])
    assert _graph(code, headers={"retry-after": "42"}).retry_after == 42.0
    assert rich_error_of(error.as_exception("p1")).retry_delay_seconds == IG_WINDOWS[reason]


def test_instagram_publishing_limit_by_subcode_and_in_a_container_status() -> None:
    assert _graph("9", "2207042").retry_after == DAY
    in_status = ig_errors.container_error("Error: error code 2207042")
    assert (in_status.reason, in_status.retry_after) == ("INSTAGRAM_PUBLISH_LIMIT_REACHED", DAY)


@pytest.mark.parametrize(("code", "reason"), _rows(tt_errors._TABLE))
def test_a_tiktok_limit_frees_with_its_window_or_what_tiktok_states(code: str, reason: str) -> None:
    answered = tt_errors.api_failure("init", 429 if code == "rate_limit_exceeded" else 403, code, "", "log1", {})
    assert (answered.error.reason, answered.error.retry_after) == (reason, TT_WINDOWS[reason])
    stated = tt_errors.api_failure("init", 429, code, "", "log1", {"retry-after": "7"})
    assert stated.error.retry_after == 7.0 and stated.retry_after == 7.0
    assert rich_error_of(answered.error.as_exception("p1")).retry_delay_seconds == TT_WINDOWS[reason]
    # The same reasons as a post's fail_reason (status/fetch) free alike.
    assert tt_errors.fail_reason_error(code, "log1").retry_after == TT_WINDOWS[reason]


def test_other_platform_errors_carry_no_retry_info() -> None:
    for error in (
        _graph("190"), _graph("2"), tt_errors.api_failure("init", 500, "internal_error", "", "", {}).error,
        tt_errors.api_failure("init", 401, "access_token_invalid", "", "", {"retry-after": "5"}).error,
    ):
        assert error.retry_after is None, error.reason
        assert rich_error_of(error.as_exception()).retry_delay_seconds is None
