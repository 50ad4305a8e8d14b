"""An Instagram first comment: its own checkpointed step, after the carousel is live.

`POST /{ig-media-id}/comments` posts something people see, so it is treated like
media_publish: the comment is marked SENDING in the record before the call, and a call whose
answer never came (a lost answer, or a crash between the mark and the answer) is never sent
again blindly. The media's comments decide, as the container's status decides for
media_publish: Graph creates a comment within the call, so a comment that was posted is
listed by `GET /{ig-media-id}/comments` once the call has returned, and one that is not
listed was not posted. While that list cannot be read for a passing reason (a transient
error), the comment stays SENDING and the reconciler asks again later; when Instagram refuses
the read, or the reconciler's horizon passes, it ends UNCONFIRMED and is not sent again.
Whatever happens here, the publish stays PUBLISHED: the comment has its own state and error
in the record, and its own events in the timeline.

The run that published the carousel posts the comment right away. Should that run stop
before the comment reached a final state (a crash), the comment is listed in the record's
pending facts and the reconciler finishes it once no run holds the publish.
"""

from __future__ import annotations

import logging

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo
from server.domain.models import FirstComment, FirstCommentState, Publish, PublishError
from server.domain.options import InstagramOptions
from server.domain.platforms import PlatformFailure
from server.domain.ports import InstagramApi
from server.services.workflow.polling import FIRST_COMMENT
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.retry import Retrier

log = logging.getLogger("distribution.workflow.first_comment")

# How many times one first comment may be sent in all. A second send happens only after the
# media's comments showed that the first never arrived.
MAX_SENDS = 2


def first_comment_text(publish: Publish) -> str:
    return publish.options.first_comment if isinstance(publish.options, InstagramOptions) else ""


def needs_first_comment(publish: Publish) -> bool:
    """Whether the publish asked for a first comment that has not reached a final state."""
    return publish.first_comment is not None and not publish.first_comment.state.final


class FirstCommentStep:
    def __init__(self, client: InstagramApi, publish_log: PublishLog, retrier: Retrier | None = None) -> None:
        self._client = client
        self._log = publish_log
        # Retries the comments read (a read is safe to repeat); the comment itself never.
        self._retrier = retrier

    async def run(self, publish: Publish, token: str, ig_user_id: str) -> Publish:
        """Drives the first comment from its saved state to a final one; returns the record."""
        with self._log.tracer.span(
            "step first_comment", {"distribution.publish_id": publish.id, "distribution.step": "first_comment"},
            links=[publish.traceparent] if publish.traceparent else [],
        ):
            return await self._run(publish, token, ig_user_id)

    async def _run(self, publish: Publish, token: str, ig_user_id: str) -> Publish:
        state = publish.first_comment
        text = first_comment_text(publish)
        if state is None or state.state.final:
            return publish
        if not publish.ig_media_id or not text:
            return await self._final(publish, FirstComment(
                FirstCommentState.FAILED, sends=state.sends,
                error=PublishError(
                    code="FAILED_PRECONDITION", reason="INSTAGRAM_FIRST_COMMENT_NO_MEDIA_ID",
                    message="The post is live, but its IG media id could not be found, so the first comment "
                    "was not posted; post it by hand",
                ),
            ), "FIRST_COMMENT_FAILED")
        media_id = publish.ig_media_id
        while True:
            if state.state == FirstCommentState.SENDING:
                # An earlier send got no answer: the media's comments tell whether it arrived.
                found = await self._find(publish, token, ig_user_id, media_id, text)
                if isinstance(found, PlatformFailure) and found.retryable:
                    # Unknown for now, and recorded so (SENDING): the reconciler looks again later.
                    return await self._log.record(
                        publish.id, "FIRST_COMMENT_CHECK_PENDING",
                        f"Whether the first comment arrived cannot be read yet ({found.error.message}); "
                        "it is looked for again later, and not sent meanwhile",
                        details=found.summary(),
                    )
                if isinstance(found, PlatformFailure):
                    return await self._unconfirmed(publish, state, found.error.message, found.summary())
                if found:
                    return await self._posted(publish, state, found, "found among the post's comments")
                log.info("first comment not found after an unanswered send", extra={"publish_id": publish.id})
            if state.sends >= MAX_SENDS:
                return await self._final(publish, FirstComment(
                    FirstCommentState.FAILED, sends=state.sends,
                    error=PublishError(
                        code="UNAVAILABLE", reason="INSTAGRAM_FIRST_COMMENT_FAILED",
                        message=f"The first comment was sent {state.sends} times without an answer and is not "
                        "among the post's comments; it was not posted",
                        retryable=True,
                    ),
                ), "FIRST_COMMENT_FAILED")
            state = FirstComment(FirstCommentState.SENDING, sends=state.sends + 1)
            publish = await self._log.record(
                publish.id, "FIRST_COMMENT_SENT", f"Posting the first comment on IG media {media_id}",
                PublishChange(first_comment=SetTo(state)), details={"ig_media_id": media_id, "send": state.sends},
            )
            try:
                comment_id = await self._client.comment(token, media_id, text)
            except PlatformFailure as failure:
                if failure.maybe_applied:
                    # Unknown outcome: loop to the SENDING branch, which looks before sending again.
                    await self._log.record(
                        publish.id, "FIRST_COMMENT_OUTCOME_UNKNOWN",
                        f"The comment call may have gone through ({failure.error.message}); checking the "
                        "post's comments before anything else",
                        details=failure.summary(),
                    )
                    continue
                return await self._final(publish, FirstComment(
                    FirstCommentState.FAILED, sends=state.sends, error=failure.error,
                ), "FIRST_COMMENT_FAILED", details=failure.summary())
            return await self._posted(publish, state, comment_id, "posted")

    async def _find(
        self, publish: Publish, token: str, ig_user_id: str, media_id: str, text: str
    ) -> str | PlatformFailure:
        """Our comment's id among the media's comments ("" when absent), or why they could not be read."""
        try:
            if self._retrier is not None:
                comments = await self._retrier.run(lambda: self._client.comments(token, media_id))
            else:
                comments = await self._client.comments(token, media_id)
        except PlatformFailure as failure:
            return failure
        ours = [c for c in comments if c.text == text and c.from_id in ("", ig_user_id)]
        return ours[0].id if ours else ""

    async def _posted(self, publish: Publish, state: FirstComment, comment_id: str, how: str) -> Publish:
        return await self._final(
            publish, FirstComment(FirstCommentState.POSTED, comment_id=comment_id, sends=state.sends),
            "FIRST_COMMENT_POSTED", details={"comment_id": comment_id}, message=f"First comment {comment_id} {how}",
        )

    async def give_up(self, publish: Publish, why: str) -> Publish:
        """The reconciler stops waiting: a comment still SENDING ends UNCONFIRMED (it may be
        posted), one never sent ends FAILED."""
        state = publish.first_comment
        if state is None or state.state.final:
            return publish
        if state.state == FirstCommentState.SENDING:
            return await self._unconfirmed(publish, state, why)
        return await self._final(publish, FirstComment(
            FirstCommentState.FAILED, sends=state.sends,
            error=PublishError(code="UNAVAILABLE", reason="INSTAGRAM_FIRST_COMMENT_FAILED",
                               message=f"The first comment was not posted: {why}", retryable=True),
        ), "FIRST_COMMENT_FAILED")

    async def _unconfirmed(
        self, publish: Publish, state: FirstComment, why: str, details: dict[str, str] | None = None
    ) -> Publish:
        error = PublishError(
            code="DEADLINE_EXCEEDED", reason="INSTAGRAM_FIRST_COMMENT_UNCONFIRMED",
            message="The first comment was sent but its answer was lost, and the post's comments could not be "
            f"read to check ({why}); it may be posted: check the post before commenting again",
        )
        return await self._final(
            publish, FirstComment(FirstCommentState.UNCONFIRMED, sends=state.sends, error=error),
            "FIRST_COMMENT_UNCONFIRMED", details=details,
        )

    async def _final(
        self, publish: Publish, comment: FirstComment, type: str,
        *, details: dict[str, str] | None = None, message: str = "",
    ) -> Publish:
        """Records the comment's final state; it no longer waits among the pending facts."""
        still = tuple(f for f in publish.pending_facts if f != FIRST_COMMENT)
        return await self._log.record(
            publish.id, type, message or (comment.error.message if comment.error else type),
            PublishChange(first_comment=SetTo(comment), pending_facts=still, reconcile_at=KEEP if still else CLEAR),
            details=details,
        )
