"""Five hand-written mutants: small, meaningful changes to the publish logic
that once left every non-sandbox test green. Each is a duplicate post or a lost outcome
waiting to happen, so the fast layer (tests/unit) must fail for every one of them.

A mutant is a textual replacement in one source file: `original` must occur exactly once
(so a refactor that moves the code makes the smoke test fail loudly, not pass vacuously).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the checkout's root
    original: str
    mutated: str
    why: str  # what a user would suffer if it shipped
    killed_by: str  # a unit test that fails on it (documentation; the smoke test runs the whole layer)


MUTANTS = (
    Mutant(
        name="5xx-boundary-moved",
        path="server/adapters/instagram/errors.py",
        original='graph_transient = bool(error.get("is_transient", False)) or status >= 500',
        mutated='graph_transient = bool(error.get("is_transient", False)) or status > 500',
        why="a bare HTTP 500 from media_publish would read as a final refusal: FAILED although it may be live",
        killed_by="tests/unit/test_error_tables.py::test_media_publish_answered_a_bare_500_after_posting_is_found_not_resent",
    ),
    Mutant(
        name="one-extra-retry",
        path="server/services/workflow/retry.py",
        original="if not failure.retryable or attempt + 1 >= policy.max_attempts:",
        mutated="if not failure.retryable or attempt >= policy.max_attempts:",
        why="one more call than the policy allows (more load on a platform that is already failing)",
        killed_by="tests/unit/test_retry_and_polling.py::test_attempts_are_bounded_and_the_last_failure_raised",
    ),
    Mutant(
        name="in-flight-marker-not-saved",
        path="server/services/workflow/instagram.py",
        original=(
            'f"Publishing {what} container {container_id}",\n'
            "                PublishChange(call_in_flight=SetTo(MEDIA_PUBLISH)),"
        ),
        mutated='f"Publishing {what} container {container_id}",',
        why="a crash during media_publish would resume as if nothing was sent: a second post",
        killed_by="tests/unit/test_instagram_workflow.py::test_media_publish_in_flight_is_saved_before_the_call",
    ),
    Mutant(
        name="init-5xx-failed-not-unconfirmed",
        path="server/services/workflow/tiktok.py",
        original="elif not exc.maybe_applied:",
        mutated="elif not exc.maybe_applied or exc.answered:",
        why="an init answered 5xx (TikTok may have accepted the post) reported FAILED: the caller posts again",
        killed_by="tests/unit/test_error_tables.py::test_tiktok_init_answered_a_bare_500_is_unconfirmed_and_never_resent",
    ),
    Mutant(
        name="any-matching-recent-post-taken",
        path="server/services/workflow/instagram.py",
        original="if len(candidates) == 1:",
        mutated="if candidates:",
        why="a recovered publish would claim another app's post as its own",
        killed_by="tests/unit/test_instagram_workflow.py::test_two_matching_recent_posts_leave_the_media_id_unknown",
    ),
)
