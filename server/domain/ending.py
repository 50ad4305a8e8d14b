"""What ending a publish changes: the one rule every path that ends one applies.

A publish ends PUBLISHED or DELIVERED_TO_INBOX (the post is live, or in the creator's inbox),
or FAILED, UNCONFIRMED, CANCELLED or MISSED (no post is known to be live). Whatever ends it,
a workflow step, the runner after an error, a cancel, or the scheduler finding it too late,
the same fields change the same way; a path that wrote its end by hand was how a MISSED
publish kept its first comment PENDING forever.
"""

from __future__ import annotations

from typing import Any

from server.domain.models import FirstComment, FirstCommentState, Publish, PublishError, PublishState

# Ends at which the post exists on the platform: what waits for a live post still waits.
LIVE_ENDS = frozenset({PublishState.PUBLISHED, PublishState.DELIVERED_TO_INBOX})

FIRST_COMMENT_NOT_POSTED = "INSTAGRAM_FIRST_COMMENT_NOT_POSTED"


def ending(publish: Publish, state: PublishState, error: PublishError | None = None) -> dict[str, Any]:
    """The fields that change when `publish` ends in `state` (with its `error`), named as
    publish_changes names them, for the caller to write with the end's timeline event:

    - `state`, and `error` when one is given;
    - at a live end, what waits for the live post waits on: a PENDING first comment is
      posted next, facts the platform gives later are still awaited;
    - at any other end, nothing that waits for a live post can happen: a PENDING first
      comment ends FAILED saying why, and facts still awaited are no longer (their
      reconcile schedule is cleared).
    """
    if not state.terminal:
        raise ValueError(f"{state.value} does not end a publish")
    changes: dict[str, Any] = {"state": state}
    if error is not None:
        changes["error"] = error
    if state in LIVE_ENDS:
        return changes
    comment = publish.first_comment
    if comment is not None and comment.state == FirstCommentState.PENDING:
        changes["first_comment"] = FirstComment(FirstCommentState.FAILED, error=PublishError(
            code="FAILED_PRECONDITION", reason=FIRST_COMMENT_NOT_POSTED,
            message=f"The first comment was not posted: the publish ended {state.value} before the post was "
            "known to be live",
        ))
    if publish.pending_facts:
        changes["pending_facts"] = []
        changes["reconcile_at"] = None
    return changes
