"""TikTok photo carousel workflow, one checkpointed step at a time.

init (saves publish_id) -> poll status/fetch -> PUBLISH_COMPLETE | SEND_TO_USER_INBOX | FAILED

`init` is the step that changes the platform. Its publish_id is saved before the
first status poll; a restart polls the saved id and never calls init again. An init
whose answer was lost (reset, timeout) cannot be looked up on TikTok, so the publish
ends UNCONFIRMED rather than risk a second post.
"""

from __future__ import annotations

import asyncio

from server.domain.errors import DomainError
from server.domain.media import public_url
from server.domain.models import Publish, PublishError, PublishState, utcnow
from server.domain.platform_errors import (
    connection_error,
    is_transient,
    proves_nothing_created,
    tiktok_error,
    tiktok_fail_reason,
)
from server.domain.workflow.base import CheckpointedWorkflow, PublishTarget, StepFailed
from server.domain.workflow.log import PublishLog
from server.domain.workflow.polling import TIKTOK_POST_ID, TIKTOK_STATUS, PollPolicy
from server.domain.workflow.retry import Retrier
from server.platforms.errors import PlatformConnectionError, PlatformError
from server.platforms.tiktok import PhotoPost, PublishStatus, TikTokClient

POST_MODES = {"DIRECT": "DIRECT_POST", "INBOX": "MEDIA_UPLOAD"}
INIT = "tiktok_init"


def photo_post(publish: Publish, target: PublishTarget) -> PhotoPost:
    """The init body for a publish, from the options saved on its record."""
    options = publish.options
    return PhotoPost(
        post_mode=POST_MODES[options["post_mode"]],
        photo_urls=[public_url(m) for m in target.media],
        cover_index=int(options.get("cover_index", 0)),
        title=publish.caption,
        description=options.get("description", ""),
        privacy_level=options.get("privacy_level"),
        disable_comment=bool(options.get("disable_comment", False)),
        auto_add_music=bool(options.get("auto_add_music", False)),
    )


class TikTokCarouselWorkflow(CheckpointedWorkflow[TikTokClient]):
    started_message = "Sending the photo post to TikTok"

    def __init__(
        self,
        client: TikTokClient,
        publish_log: PublishLog,
        poll: PollPolicy = TIKTOK_STATUS,
        retrier: Retrier | None = None,
    ) -> None:
        super().__init__(client, publish_log, poll, retrier)

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.tiktok_publish_id is None:
            publish = await self._init(publish, target)
        return await self._wait(publish, target)

    async def _init(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.call_in_flight == INIT:
            # The service stopped while init was in flight: TikTok may have accepted the post,
            # and offers no way to look it up. Sending init again could post twice.
            await self._end(
                publish, PublishState.UNCONFIRMED,
                _unconfirmed("the service stopped while TikTok's init call was in flight, and TikTok "
                             "offers no lookup to tell whether it was accepted"),
            )
        post = photo_post(publish, target)
        token = await target.token()
        await self._log.record(
            publish.id, "TIKTOK_INIT_SENT", f"Sending the post to TikTok ({len(post.photo_urls)} photos)",
            call_in_flight=INIT,
        )
        try:
            # Only a rate-limit answer proves nothing was created, so only it is retried: a 5xx
            # or a lost answer (reset, timeout) may hide an accepted post. See below.
            publish_id = await self._retrier.run(
                lambda: self._client.init_photo_post(token, post), read_only=False, retryable=proves_nothing_created
            )
        except PlatformConnectionError as exc:
            if exc.maybe_sent:
                await self._end(
                    publish, PublishState.UNCONFIRMED,
                    PublishError(
                        code="DEADLINE_EXCEEDED",
                        reason="PUBLISH_UNCONFIRMED",
                        message=f"TikTok's answer to the init call was lost ({exc.detail}); the post may "
                        "exist. TikTok offers no lookup, so it was not sent again.",
                    ),
                )
            await self._end(publish, PublishState.FAILED, connection_error(exc))
            raise AssertionError("unreachable")
        except PlatformError as exc:
            if exc.http_status >= 500 or exc.code == "internal_error":
                await self._end(
                    publish, PublishState.UNCONFIRMED,
                    _unconfirmed(f"TikTok answered init with {exc.code or exc.http_status}, which may come after "
                                 "the post was accepted; TikTok offers no lookup, so it was not sent again"),
                )
            await self._end(publish, PublishState.FAILED, tiktok_error(exc))
            raise AssertionError("unreachable")
        return await self._log.record(
            publish.id, "TIKTOK_INIT_ACCEPTED", f"TikTok accepted the post as {publish_id}",
            details={"publish_id": publish_id, "post_mode": post.post_mode, "photo_count": len(post.photo_urls)},
            tiktok_publish_id=publish_id, call_in_flight=None,
        )

    async def _wait(self, publish: Publish, target: PublishTarget) -> Publish:
        assert publish.tiktok_publish_id
        last: PublishStatus | None = None
        last_error: Exception | None = None
        token = await target.token()
        refreshed = False
        async for _ in self._poll.ticks():
            try:
                status = await self._client.fetch_status(token, publish.tiktok_publish_id)
            except PlatformError as exc:
                if is_transient(exc, read_only=True):
                    last_error = exc
                    if exc.retry_after:
                        await asyncio.sleep(exc.retry_after)
                    continue
                if exc.code == "access_token_invalid" and not refreshed:
                    # The token expired while we waited: refresh it and keep polling the same
                    # publish_id. The publish is never restarted.
                    refreshed = True
                    try:
                        token = await target.token(refresh=True)
                    except DomainError as err:
                        await self._end(publish, PublishState.UNCONFIRMED, _unconfirmed(err.message))
                    await self._log.record(publish.id, "TOKEN_REFRESHED", "Access token refreshed while polling")
                    continue
                await self._end(publish, PublishState.UNCONFIRMED, _unconfirmed(tiktok_error(exc).message))
                raise AssertionError("unreachable")
            except PlatformConnectionError as exc:
                last_error = exc
                continue
            if last is None or status.status != last.status:
                await self._log.record(
                    publish.id, "TIKTOK_STATUS", f"TikTok status {status.status}",
                    details={"status": status.status, "fail_reason": status.fail_reason, "log_id": status.log_id},
                )
            last = status
            if status.status == "FAILED":
                await self._end(publish, PublishState.FAILED, tiktok_fail_reason(status.fail_reason, status.log_id))
            if status.status == "SEND_TO_USER_INBOX":
                return await self._log.record(
                    publish.id, "DELIVERED_TO_INBOX", "Delivered to the creator's TikTok inbox to finish and post",
                    state=PublishState.DELIVERED_TO_INBOX, published_at=utcnow(),
                )
            if status.status == "PUBLISH_COMPLETE":
                post_id = status.post_ids[0] if status.post_ids else None
                # Only public posts ever get a post id, after moderation: wait for it in the background.
                expect_id = not post_id and publish.options.get("privacy_level") == "PUBLIC_TO_EVERYONE"
                if post_id:
                    message = f"Published; public post id {post_id}"
                elif expect_id:
                    message = ("Published; TikTok has not reported a public post id yet (it does after "
                               "moderation); it will be asked again later")
                else:
                    message = "Published; TikTok gives no public post id for posts that are not public"
                return await self._log.record(
                    publish.id, "PUBLISHED", message, state=PublishState.PUBLISHED,
                    published_at=utcnow(), tiktok_post_id=post_id,
                    details={"post_ids": list(status.post_ids)},
                    **({"pending_facts": [TIKTOK_POST_ID], "reconcile_at": self._log.late_facts.first_check()}
                       if expect_id else {}),
                )
        seen = last.status if last else f"unknown ({last_error})"
        await self._end(
            publish, PublishState.UNCONFIRMED,
            _unconfirmed(f"TikTok still reported {seen} after {self._poll.timeout:.0f}s"),
        )
        raise AssertionError("unreachable")

    async def _end(self, publish: Publish, state: PublishState, error: PublishError) -> None:
        await self._log.record(
            publish.id, state.value, error.message, state=state, error=error,
            details={"platform_code": error.platform_code, "log_id": error.platform_trace_id},
        )
        raise StepFailed()


def _unconfirmed(why: str) -> PublishError:
    return PublishError(
        code="DEADLINE_EXCEEDED",
        reason="PUBLISH_UNCONFIRMED",
        message=f"The outcome of the TikTok publish could not be established: {why}. "
        "It may still go live; do not publish it again without checking.",
    )
