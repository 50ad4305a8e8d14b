"""The end of a publish (server/domain/ending.py): one rule for every path that ends one,
tested per end state. A pure function: no store, no clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.changes import CLEAR, PublishChange, SetTo
from server.domain.ending import FIRST_COMMENT_NOT_POSTED, ending
from server.domain.models import (
    FirstComment,
    FirstCommentState,
    Platform,
    Publish,
    PublishError,
    PublishKind,
    PublishState,
)
from server.domain.options import InstagramOptions

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ERROR = PublishError(code="FAILED_PRECONDITION", reason="WHY", message="it failed")


def publish(comment: FirstCommentState | None = FirstCommentState.PENDING, pending: tuple[str, ...] = ()) -> Publish:
    return Publish(
        id="p", workspace_id="w", platform=Platform.INSTAGRAM, kind=PublishKind.CAROUSEL, account_id="a",
        media_ids=["m1", "m2"], caption="c", options=InstagramOptions(first_comment="hi"),
        state=PublishState.PROCESSING,
        request_id=None, created_at=T0, updated_at=T0,
        first_comment=FirstComment(comment) if comment is not None else None, pending_facts=list(pending),
        reconcile_at=T0 if pending else None,
    )


@pytest.mark.parametrize("state", [PublishState.PUBLISHED, PublishState.DELIVERED_TO_INBOX])
def test_a_live_end_leaves_what_waits_for_the_live_post_waiting(state: PublishState) -> None:
    assert ending(publish(pending=("permalink",)), state) == PublishChange(state=state)


@pytest.mark.parametrize(
    "state", [PublishState.FAILED, PublishState.UNCONFIRMED, PublishState.CANCELLED, PublishState.MISSED]
)
def test_an_end_without_a_live_post_fails_a_pending_first_comment_saying_why(state: PublishState) -> None:
    change = ending(publish(), state, ERROR)
    assert isinstance(change.first_comment, SetTo)
    comment = change.first_comment.value
    assert comment.state == FirstCommentState.FAILED and comment.error is not None
    assert comment.error.reason == FIRST_COMMENT_NOT_POSTED
    assert f"ended {state.value}" in comment.error.message
    assert change == PublishChange(state=state, error=SetTo(ERROR), first_comment=SetTo(comment))


@pytest.mark.parametrize(
    "comment", [FirstCommentState.SENDING, FirstCommentState.POSTED, FirstCommentState.FAILED, None]
)
def test_a_first_comment_that_is_not_pending_or_absent_is_left_as_it_is(comment: FirstCommentState | None) -> None:
    assert ending(publish(comment), PublishState.UNCONFIRMED, ERROR) == PublishChange(
        state=PublishState.UNCONFIRMED, error=SetTo(ERROR)
    )


def test_facts_awaited_from_a_post_that_never_went_live_are_no_longer_awaited() -> None:
    change = ending(publish(None, pending=("tiktok_post_id",)), PublishState.FAILED, ERROR)
    assert (change.pending_facts, change.reconcile_at) == ((), CLEAR)


def test_a_cancel_without_an_error_and_a_state_that_ends_nothing() -> None:
    assert ending(publish(None), PublishState.CANCELLED) == PublishChange(state=PublishState.CANCELLED)
    with pytest.raises(ValueError, match="does not end"):
        ending(publish(), PublishState.PROCESSING)
