"""What ending a publish changes: the one rule every path that ends one applies.

A publish ends PUBLISHED or DELIVERED_TO_INBOX (the post is live, or in the creator's inbox),
or FAILED, UNCONFIRMED, CANCELLED or MISSED (no post is known to be live). Whatever ends it,
a workflow step, the runner after an error, a cancel, or the scheduler finding it too late,
the same fields change the same way; a path that wrote its end by hand was how a MISSED
publish kept its first comment PENDING forever.
"""

from __future__ import annotations

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo
from server.domain.models import FirstComment, FirstCommentState, Publish, PublishError, PublishState

# Ends at which the post exists on the platform: what waits for a live post still waits.
LIVE_ENDS = frozenset({PublishState.PUBLISHED, PublishState.DELIVERED_TO_INBOX})

FIRST_COMMENT_NOT_POSTED = "INSTAGRAM_FIRST_COMMENT_NOT_POSTED"


def ending(publish: Publish, state: PublishState, error: PublishError | None = None) -> PublishChange:
    """What changes when `publish` ends in `state` (with its `error`), for the caller to
    write with the end's timeline event (adding what its own step found, `then`):

    - `state`, and `error` when one is given;
    - at a live end, what waits for the live post waits on: a PENDING first comment is
      posted next, facts the platform gives later are still awaited;
    - at any other end, nothing that waits for a live post can happen: a PENDING first
      comment ends FAILED saying why, and facts still awaited are no longer (their
      reconcile schedule is cleared).
    """
    if not state.terminal:
        raise ValueError(f"{state.value} does not end a publish")
    change = PublishChange(state=state, error=SetTo(error) if error is not None else KEEP)
    if state in LIVE_ENDS:
        return change
    comment = publish.first_comment
    if comment is not None and comment.state == FirstCommentState.PENDING:
        not_posted = PublishError(
            code="FAILED_PRECONDITION", reason=FIRST_COMMENT_NOT_POSTED,
            message=f"The first comment was not posted: the publish ended {state.value} before the post was "
            "known to be live",
        )
        failed = FirstComment(FirstCommentState.FAILED, error=not_posted)
        change = change.then(PublishChange(first_comment=SetTo(failed)))
    if publish.pending_facts:
        change = change.then(PublishChange(pending_facts=(), reconcile_at=CLEAR))
    return change
