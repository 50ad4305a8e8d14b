"""TikTok photo carousel workflow, one checkpointed step at a time.

init (saves publish_id) -> poll status/fetch -> PUBLISH_COMPLETE | SEND_TO_USER_INBOX | FAILED

`init` is the step that changes the platform. Its publish_id is saved before the
first status poll; a restart polls the saved id and never calls init again. An init
whose answer was lost (reset, timeout, or an error that may come after the post was
accepted) cannot be looked up on TikTok, so the publish ends UNCONFIRMED rather than
risk a second post.
"""

from __future__ import annotations

from typing import NoReturn

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo, edit_of
from server.domain.ending import ending
from server.domain.errors import DomainError
from server.domain.media import public_url
from server.domain.models import Publish, PublishError, PublishState
from server.domain.options import TikTokOptions
from server.domain.platforms import PhotoPost, PlatformFailure, PublishStatus
from server.domain.ports import TikTokApi
from server.domain.post_options import COMMENTS_OFF_BY_CREATOR
from server.domain.tiktok_text import TikTokText, utf16_units
from server.services.workflow.checkpoint import CheckpointedWorkflow, PublishTarget, step
from server.services.workflow.polling import TIKTOK_POST_ID

POST_MODES = {"DIRECT": "DIRECT_POST", "INBOX": "MEDIA_UPLOAD"}
INIT = "tiktok_init"


def _options(publish: Publish) -> TikTokOptions:
    options = publish.options
    assert isinstance(options, TikTokOptions), f"publish {publish.id} has no TikTok options"
    return options


def photo_post(publish: Publish, target: PublishTarget) -> PhotoPost:
    """The init body for a publish, from the options saved on its record."""
    options = _options(publish)
    return PhotoPost(
        post_mode=POST_MODES[options.post_mode],
        photo_urls=[public_url(m) for m in target.media],
        cover_index=options.cover_index,
        # A caption longer than TikTok's title goes whole into the description; the title
        # and description sent are then on the record (post_options.tiktok_options).
        title=options.platform_title or publish.caption,
        description=options.platform_description or options.description,
        privacy_level=options.privacy_level,
        disable_comment=options.disable_comment,
        auto_add_music=options.auto_add_music,
        brand_content_toggle=options.brand_content_toggle,
        brand_organic_toggle=options.brand_organic_toggle,
    )


def sent_as_changed(publish: Publish) -> list[str]:
    """Why what is sent differs from what the request said, in words for the timeline."""
    options = _options(publish)
    notes = []
    if options.text_fitted:
        # The text as fitted when the publish was recorded, which photo_post sends: the note
        # describes what goes out, never a cut made again here.
        sent = TikTokText(options.platform_title, options.platform_description, options.text_fitted)
        notes.append(sent.explained(publish.caption))
    if options.comments_disabled_by_creator:
        notes.append(f"comments are off: {COMMENTS_OFF_BY_CREATOR}")
    return notes


def _sent(post: PhotoPost, notes: list[str]) -> dict[str, object]:
    """The timeline's record of the text sent: its title, the lengths as TikTok counts them."""
    details: dict[str, object] = {
        "title": post.title,
        "title_utf16_units": utf16_units(post.title),
        "description_utf16_units": utf16_units(post.description),
    }
    if notes:
        details["changed"] = notes
    return details


class TikTokCarouselWorkflow(CheckpointedWorkflow[TikTokApi]):
    started_message = "Sending the photo post to TikTok"

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.tiktok_publish_id is None:
            publish = await self._init(publish, target)
        return await self._wait(publish, target)

    @step("init")
    async def _init(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.call_in_flight == INIT:
            # The service stopped while init was in flight: TikTok may have accepted the post,
            # and offers no way to look it up. Sending init again could post twice.
            await self._end(
                publish, PublishState.UNCONFIRMED,
                unconfirmed("the service stopped while TikTok's init call was in flight, and TikTok "
                             "offers no lookup to tell whether it was accepted"),
            )
        post = photo_post(publish, target)
        await target.token()  # a token refused before anything is sent leaves nothing in flight
        notes = sent_as_changed(publish)
        await self._log.record(
            publish.id, "TIKTOK_INIT_SENT",
            f"Sending the post to TikTok ({len(post.photo_urls)} photos)" + "".join(f"; {n}" for n in notes),
            PublishChange(call_in_flight=SetTo(INIT)), details=_sent(post, notes),
        )
        try:
            # The adapter marks retryable only the init failures that prove nothing was
            # created (a rate-limit answer, a connection never made).
            # A rejected token (which proves nothing was created) is replaced and init sent
            # once more; an init whose outcome is unknown never is.
            publish_id = await self._send(
                publish, target, "init",
                lambda token: self._retrier.run(lambda: self._client.init_photo_post(token, post)),
            )
        except (DomainError, PlatformFailure) as exc:
            await self._init_failed(publish, exc)
        return await self._log.record(
            publish.id, "TIKTOK_INIT_ACCEPTED", f"TikTok accepted the post as {publish_id}",
            PublishChange(tiktok_publish_id=SetTo(publish_id), call_in_flight=CLEAR),
            details={"publish_id": publish_id, "post_mode": post.post_mode, "photo_count": len(post.photo_urls)},
        )

    async def _init_failed(self, publish: Publish, exc: DomainError | PlatformFailure) -> NoReturn:
        """Ends a publish whose init did not come back accepted: FAILED when nothing can have
        been created (a token rejected and not replaced, a refusal that proves it), else
        UNCONFIRMED, as TikTok offers no lookup and init is never sent twice."""
        if isinstance(exc, DomainError):
            # The token was rejected, so nothing was posted, and could not be replaced.
            await self._end(publish, PublishState.FAILED, PublishError(
                code=exc.code, reason=exc.reason, message=exc.message, retry_after=exc.retry_after,
            ))
        elif not exc.maybe_applied:
            await self._end(publish, PublishState.FAILED, exc.error)
        elif exc.answered:
            await self._end(publish, PublishState.UNCONFIRMED, unconfirmed(
                f"TikTok answered init with {exc.error.platform_code or exc.http_status}, which may come after the "
                "post was accepted; TikTok offers no lookup, so it was not sent again"))
        else:
            await self._end(publish, PublishState.UNCONFIRMED, unconfirmed(
                f"TikTok's answer to the init call was lost ({exc.error.message}); TikTok offers no lookup, so it "
                "was not sent again"))
        raise AssertionError("unreachable")

    @step("wait_status")
    async def _wait(self, publish: Publish, target: PublishTarget) -> Publish:
        publish_id = publish.tiktok_publish_id
        assert publish_id
        last: PublishStatus | None = None
        last_failure: PlatformFailure | None = None
        token = await target.token()
        refreshed = False
        async for attempt in self._poll.ticks(self._clock):
            try:
                with self.poll_span(publish, attempt, "status"):
                    status = await self._client.fetch_status(token, publish_id)
            except PlatformFailure as failure:
                if failure.retryable:
                    last_failure = failure
                    if failure.retry_after:
                        await self._clock.sleep(failure.retry_after)
                    continue
                if failure.error.token_rejected and not refreshed:
                    # The token expired while we waited: refresh it and keep polling the same
                    # publish_id. The publish is never restarted.
                    refreshed = True
                    try:
                        fresh = await target.token(refresh=True)
                    except DomainError as err:
                        await self._end(publish, PublishState.UNCONFIRMED, unconfirmed(err.message))
                    if fresh != token:
                        token = fresh
                        await self._log.record(publish.id, "TOKEN_REFRESHED", "Access token refreshed while polling")
                        continue
                    # No new token could be had (no refresh token, or the refresh is down for now).
                await self._end(publish, PublishState.UNCONFIRMED, unconfirmed(failure.error.message))
            if last is None or status.status != last.status:
                await self._log.record(
                    publish.id, "TIKTOK_STATUS", f"TikTok status {status.status}",
                    details={"status": status.status, "fail_reason": status.fail_reason, "log_id": status.log_id},
                )
            last = status
            if status.status == "FAILED":
                await self._end(publish, PublishState.FAILED, status.failure or _failed_without_reason(status))
            if status.status == "SEND_TO_USER_INBOX":
                delivered = ending(publish, PublishState.DELIVERED_TO_INBOX)
                return await self._log.record(
                    publish.id, "DELIVERED_TO_INBOX", "Delivered to the creator's TikTok inbox to finish and post",
                    delivered.then(PublishChange(published_at=SetTo(self._clock.now()))), last=True,
                )
            if status.status == "PUBLISH_COMPLETE":
                return await self._published(publish, status)
        seen = last.status if last else f"unknown ({last_failure})"
        await self._end(
            publish, PublishState.UNCONFIRMED,
            unconfirmed(f"TikTok still reported {seen} after {self._poll.timeout:.0f}s"),
        )
        raise AssertionError("unreachable")

    async def _published(self, publish: Publish, status: PublishStatus) -> Publish:
        post_id = status.post_ids[0] if status.post_ids else None
        # Only public posts ever get a post id, after moderation: wait for it in the background.
        expect_id = not post_id and _options(publish).public
        if post_id:
            message = f"Published; public post id {post_id}"
        elif expect_id:
            message = ("Published; TikTok has not reported a public post id yet (it does after "
                       "moderation); it will be asked again later")
        else:
            message = "Published; TikTok gives no public post id for posts that are not public"
        found = PublishChange(
            published_at=SetTo(self._clock.now()), tiktok_post_id=edit_of(post_id),
            pending_facts=(TIKTOK_POST_ID,) if expect_id else None,
            reconcile_at=SetTo(self._log.first_late_check()) if expect_id else KEEP,
        )
        return await self._log.record(
            publish.id, "PUBLISHED", message, ending(publish, PublishState.PUBLISHED).then(found),
            details={"post_ids": list(status.post_ids)}, last=True,
        )


def _failed_without_reason(status: PublishStatus) -> PublishError:
    return PublishError(
        code="FAILED_PRECONDITION", reason="TIKTOK_PUBLISH_FAILED",
        message=f"TikTok failed the post: {status.fail_reason or 'no reason given'}",
        platform_code=status.fail_reason, platform_trace_id=status.log_id,
    )


def unconfirmed(why: str) -> PublishError:
    return PublishError(
        code="DEADLINE_EXCEEDED",
        reason="PUBLISH_UNCONFIRMED",
        message=f"The outcome of the TikTok publish could not be established: {why}. "
        "It may still go live; do not publish it again without checking.",
    )
