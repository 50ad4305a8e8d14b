"""Instagram workflow, one checkpointed step at a time.

carousel: create children -> wait children -> create carousel -> wait carousel -> publish -> read permalink
image or Reel: create the container -> wait for it -> publish -> read permalink

A Reel's container processes its video for far longer than an image's: it is polled on its
own, longer schedule, and its processing is recorded in the timeline as it is seen.

Every platform id is saved before the next step begins, so a retry or a restart
resumes from the record and never creates a second carousel or publishes twice.
`media_publish` is the one step that changes what people see: after an ambiguous
failure it is never repeated blindly; the container's status decides.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, timedelta

from server.domain.changes import CLEAR, KEEP, PublishChange, SetTo
from server.domain.ending import ending
from server.domain.media import public_url
from server.domain.models import Publish, PublishError, PublishKind, PublishState
from server.domain.options import InstagramOptions
from server.domain.platforms import PlatformFailure
from server.domain.ports import Clock, InstagramApi, PublishRecords, SingleMediaPost
from server.services.workflow.checkpoint import CheckpointedWorkflow, PublishTarget, step
from server.services.workflow.first_comment import FirstCommentStep, needs_first_comment
from server.services.workflow.polling import FIRST_COMMENT, INSTAGRAM_REELS, PERMALINK, PollPolicy
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.retry import Retrier

log = logging.getLogger("distribution.workflow.instagram")

# The call in flight while media_publish is sent and not answered.
MEDIA_PUBLISH = "media_publish"
# How many times media_publish may be sent after the container was seen unpublished.
MAX_PUBLISH_ATTEMPTS = 3
# How many of the account's newest posts are searched for a publish whose media id was lost.
RECENT_MEDIA_SEARCHED = 25


def _after_live(publish: Publish, facts: tuple[str, ...]) -> tuple[str, ...]:
    """What remains to do once the post is live: the facts to read, and the first comment."""
    return (*facts, FIRST_COMMENT) if needs_first_comment(publish) else facts


def _what(publish: Publish) -> str:
    """The container's name in messages: carousel, image or Reel."""
    return {PublishKind.IMAGE: "image", PublishKind.REEL: "Reel"}.get(publish.kind, "carousel")


def _options(publish: Publish) -> InstagramOptions:
    options = publish.options
    assert isinstance(options, InstagramOptions), f"publish {publish.id} has no Instagram options"
    return options


class InstagramCarouselWorkflow(CheckpointedWorkflow[InstagramApi]):
    started_message = "Creating Instagram containers"

    def __init__(
        self, client: InstagramApi, publish_log: PublishLog, records: PublishRecords, poll: PollPolicy,
        retrier: Retrier, clock: Clock, *, reel_poll: PollPolicy = INSTAGRAM_REELS,
    ) -> None:
        super().__init__(client, publish_log, poll, retrier, clock)
        # Which media ids other publishes recorded (finding a post whose media id was lost).
        self._records = records
        self._reel_poll = reel_poll

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.ig_media_id is None:
            if publish.container_id is None and publish.kind == PublishKind.CAROUSEL:
                publish = await self._create_children(publish, target)
                await self._wait_children(publish, target)
                publish = await self._create_carousel(publish, target)
            elif publish.container_id is None:
                publish = await self._create_single(publish, target)
            # Once the carousel exists, its status alone tells where we are (its items
            # turn PUBLISHED with it, so they are not looked at again).
            publish = await self._wait_carousel_then_publish(publish, target)
        elif publish.state != PublishState.PUBLISHED:
            # The media id is known, so the post is live; no write records one without
            # PUBLISHED today, but a record so found must not be left running.
            publish = await self._log.record(
                publish.id, "PUBLISHED", f"Published as IG media {publish.ig_media_id}",
                ending(publish, PublishState.PUBLISHED).then(PublishChange(
                    published_at=SetTo(self._clock.now()), call_in_flight=CLEAR,
                    pending_facts=_after_live(publish, (PERMALINK,)),
                    reconcile_at=SetTo(self._log.first_late_check()),
                )),
            )
        if publish.state == PublishState.PUBLISHED and needs_first_comment(publish):
            # Its own step: whatever happens to it, the publish stays PUBLISHED.
            step = FirstCommentStep(self._client, self._log, self._retrier)
            publish = await step.run(publish, await target.token(), target.account.external_account_id)
        if publish.state == PublishState.PUBLISHED and not publish.permalink and publish.ig_media_id:
            publish = await self._read_permalink(publish, target)
        return publish

    # --- steps ---------------------------------------------------------------

    @step("create_children")
    async def _create_children(self, publish: Publish, target: PublishTarget) -> Publish:
        missing = [i for i, cid in enumerate(publish.child_container_ids) if not cid]
        missing += list(range(len(publish.child_container_ids), len(target.media)))
        if not missing:
            return publish
        token = await target.token()

        async def create(index: int) -> Publish:
            url = public_url(target.media[index])
            image = _options(publish).image(index)
            # Creating a container is safe to repeat: an orphan container is never seen and expires.
            container_id = await self._retrier.run(
                lambda: self._client.create_image_container(
                    token, target.account.external_account_id, url, alt_text=image.alt_text,
                    user_tags=image.user_tags,
                )
            )
            return await self._log.record_child(publish.id, index, container_id)

        results = await asyncio.gather(*(create(i) for i in missing), return_exceptions=True)
        for index, result in zip(missing, results, strict=True):
            if isinstance(result, PlatformFailure):
                await self._end(publish, PublishState.FAILED, result.error.for_item(index))
            if isinstance(result, BaseException):
                raise result
        # Each save returned the record as it stood after it; ids only ever get added, so the
        # fullest one is the latest.
        saved = [r for r in results if isinstance(r, Publish)]
        return max(saved, key=lambda p: sum(1 for cid in p.child_container_ids if cid))

    @step("wait_children")
    async def _wait_children(self, publish: Publish, target: PublishTarget) -> None:
        ids = [cid for cid in publish.child_container_ids if cid]
        statuses = await self._wait_finished(publish, target, ids, "children")
        self._log.note(
            publish.id, "CHILDREN_FINISHED", f"All {len(ids)} item containers are FINISHED",
            details=dict(statuses),
        )

    @step("create_carousel")
    async def _create_carousel(self, publish: Publish, target: PublishTarget) -> Publish:
        children = [cid for cid in publish.child_container_ids if cid]
        try:
            container_id = await self._send(publish, target, "the carousel container", lambda token: self._retrier.run(
                lambda: self._client.create_carousel_container(
                    token, target.account.external_account_id, children, publish.caption,
                    collaborators=_options(publish).collaborators, location_id=_options(publish).location_id,
                )
            ))
        except PlatformFailure as failure:
            await self._end(publish, PublishState.FAILED, failure.error)
        return await self._log.record(
            publish.id, "CAROUSEL_CONTAINER_CREATED", f"Carousel container {container_id} created",
            PublishChange(container_id=SetTo(container_id)), details={"container_id": container_id},
        )

    @step("create_container")
    async def _create_single(self, publish: Publish, target: PublishTarget) -> Publish:
        """The image's or Reel's container, with the caption and every option; its id is
        saved at once, so no run ever creates a second one for this publish."""
        options = _options(publish)
        reel = publish.kind == PublishKind.REEL
        image = options.image(0)
        post = SingleMediaPost(
            url=public_url(target.media[0]), reel=reel, caption=publish.caption, alt_text=image.alt_text,
            user_tags=image.user_tags, collaborators=options.collaborators, location_id=options.location_id,
            cover_url=options.cover_url, thumb_offset_ms=options.thumb_offset_ms, share_to_feed=options.share_to_feed,
        )
        what = _what(publish)
        try:
            container_id = await self._send(publish, target, f"the {what} container", lambda token: self._retrier.run(
                lambda: self._client.create_media_container(token, target.account.external_account_id, post)
            ))
        except PlatformFailure as failure:
            await self._end(publish, PublishState.FAILED, failure.error)
        return await self._log.record(
            publish.id, "CONTAINER_CREATED", f"{what.capitalize()} container {container_id} created",
            PublishChange(container_id=SetTo(container_id)), details={"container_id": container_id},
        )

    @step("publish")
    async def _wait_carousel_then_publish(self, publish: Publish, target: PublishTarget) -> Publish:
        container_id = publish.container_id
        assert container_id
        what = _what(publish)
        # A run resumed after a crash with media_publish in flight does not know its outcome.
        outcome_unknown = publish.call_in_flight == MEDIA_PUBLISH
        for attempt in range(MAX_PUBLISH_ATTEMPTS + 1):
            statuses = await self._wait_finished(
                publish, target, [container_id], what,
                accept_published=True, outcome_unknown=outcome_unknown,
            )
            if statuses[container_id] == "PUBLISHED":
                # A previous attempt (or a run before a crash) already published it.
                return await self._recover_published(publish, target)
            if attempt == MAX_PUBLISH_ATTEMPTS:
                break  # the last look at the container found it unpublished
            started = self._clock.now()
            await self._log.record(
                publish.id, "PUBLISH_SENT", f"Publishing {what} container {container_id}",
                PublishChange(call_in_flight=SetTo(MEDIA_PUBLISH)),
            )
            try:
                # A token rejected (e.g. replaced by a reconnect meanwhile) proves nothing was
                # published: sent once more with the stored token.
                media_id = await self._send(
                    publish, target, "media_publish",
                    lambda token: self._client.publish(token, target.account.external_account_id, container_id),
                )
            except PlatformFailure as failure:
                if failure.maybe_applied:
                    outcome_unknown = True
                    await self._log.record(
                        publish.id, "PUBLISH_OUTCOME_UNKNOWN",
                        f"media_publish may have gone through ({failure.error.message}); checking the "
                        "container before anything else",
                        details=failure.summary(),
                    )
                    continue
                if failure.retryable:
                    # Nothing was published (the container is not ready yet): wait for it, then publish.
                    await self._log.record(
                        publish.id, "PUBLISH_NOT_READY", f"Instagram says the {what} is not ready yet; waiting",
                        details=failure.summary(),
                    )
                    continue
                await self._end(publish, PublishState.FAILED, failure.error)
            return await self._log.record(
                publish.id, "PUBLISHED", f"Published as IG media {media_id}",
                ending(publish, PublishState.PUBLISHED).then(PublishChange(
                    ig_media_id=SetTo(media_id), published_at=SetTo(started), call_in_flight=CLEAR,
                    # Read next (after the first comment, if any); should the service stop
                    # before, the reconciler does both after the restart.
                    pending_facts=_after_live(publish, (PERMALINK,)),
                    reconcile_at=SetTo(self._log.first_late_check()),
                )),
                details={"ig_media_id": media_id, "creation_id": container_id},
            )
        # Every attempt failed and the container, looked at after each, was never published.
        await self._end(
            publish,
            PublishState.FAILED,
            PublishError(
                code="UNAVAILABLE",
                reason="INSTAGRAM_PUBLISH_FAILED",
                message=f"Instagram failed media_publish {MAX_PUBLISH_ATTEMPTS} times and the {what} "
                f"container {container_id} is still unpublished; nothing was posted",
                retryable=True,
            ),
        )
        raise AssertionError("unreachable")

    async def _recover_published(self, publish: Publish, target: PublishTarget) -> Publish:
        """The carousel container is PUBLISHED but we never saved the media id: look for our
        post among the account's recent media (the container does not name its media). Only a
        post that is ours beyond doubt is taken: exactly one candidate, unclaimed by any other
        publish; otherwise the publish is PUBLISHED without its media id."""
        media_id = ""
        try:
            recent = await self._client.recent_media(
                await target.token(), target.account.external_account_id, limit=RECENT_MEDIA_SEARCHED
            )
            since = (publish.created_at - timedelta(minutes=1)).astimezone(UTC)
            candidates = [
                m for m in recent
                if m.timestamp[:19] >= since.strftime("%Y-%m-%dT%H:%M:%S")
                and (m.caption is None or m.caption == publish.caption)
            ]
            claimed = await self._records.claimed_ig_media_ids(publish.account_id, [m.id for m in candidates])
            candidates = [m for m in candidates if m.id not in claimed]
            if len(candidates) == 1:
                media_id = candidates[0].id
        except PlatformFailure as failure:
            log.warning("recent media read failed", extra={"publish_id": publish.id, "error": str(failure)})
        what = _what(publish)
        message = (
            f"The {what} container is PUBLISHED; found IG media {media_id}"
            if media_id
            else f"The {what} container is PUBLISHED; its IG media id could not be told apart among the "
            "account's recent posts"
        )
        # With its media id known, the permalink is read next (by the reconciler after a restart).
        found = PublishChange(
            published_at=SetTo(self._clock.now()), call_in_flight=CLEAR,
            ig_media_id=SetTo(media_id) if media_id else KEEP,
            pending_facts=_after_live(publish, (PERMALINK,)) if media_id else None,
            reconcile_at=SetTo(self._log.first_late_check()) if media_id else KEEP,
        )
        return await self._log.record(
            publish.id, "PUBLISHED", message, ending(publish, PublishState.PUBLISHED).then(found),
            # With no media id there is no permalink to read (nor a post to comment on): the
            # run is over (the runner releases it) once the first comment, if any, is marked FAILED.
            last=not media_id and not needs_first_comment(publish),
        )

    @step("read_permalink")
    async def _read_permalink(self, publish: Publish, target: PublishTarget) -> Publish:
        assert publish.ig_media_id
        try:
            media = await self._client.media(await target.token(), publish.ig_media_id)
        except PlatformFailure as failure:
            # The post is live: a failed read-back never turns it into a failure.
            return await self._log.record(
                publish.id, "PERMALINK_PENDING",
                f"The post is live but its permalink could not be read yet ({failure.error.message}); "
                "it will be read again later",
                self._read_later(publish), details=failure.summary(), last=True,
            )
        if not media.permalink:
            return await self._log.record(
                publish.id, "PERMALINK_PENDING", "The post is live; Instagram has not given its permalink yet",
                self._read_later(publish), last=True,
            )
        # A first comment whose check is still pending stays with the reconciler.
        still = _after_live(publish, ())
        return await self._log.record(
            publish.id, "PERMALINK_READ", f"Permalink {media.permalink}",
            PublishChange(
                permalink=SetTo(media.permalink), pending_facts=still,
                reconcile_at=SetTo(self._log.first_late_check()) if still else CLEAR,
            ),
            details={"permalink": media.permalink, "shortcode": media.shortcode}, last=True,
        )

    def _read_later(self, publish: Publish) -> PublishChange:
        """The permalink (and the first comment, if any) left to the reconciler."""
        return PublishChange(
            pending_facts=_after_live(publish, (PERMALINK,)), reconcile_at=SetTo(self._log.first_late_check())
        )

    # --- helpers -------------------------------------------------------------

    async def _wait_finished(
        self,
        publish: Publish,
        target: PublishTarget,
        ids: list[str],
        what: str,
        accept_published: bool = False,
        outcome_unknown: bool = False,
    ) -> dict[str, str]:
        """Polls until every container is FINISHED; fails the publish on ERROR/EXPIRED.

        With outcome_unknown (a media_publish call got no clear answer), a status that
        cannot be read ends the publish UNCONFIRMED instead of FAILED: it may be live.
        """
        index_of = {cid: i for i, cid in enumerate(publish.child_container_ids) if cid}
        done = {"FINISHED", "PUBLISHED"} if accept_published else {"FINISHED"}
        last_failure: PlatformFailure | None = None
        codes: dict[str, str] = {}
        token = await target.token()
        reel = publish.kind == PublishKind.REEL
        poll = self._reel_poll if reel else self._poll
        processing_seen = False
        async for attempt in poll.ticks(self._clock):
            try:
                with self.poll_span(publish, attempt, f"{what} containers"):
                    statuses = await self._client.container_statuses(token, ids)
            except PlatformFailure as failure:
                # Status reads change nothing: a retryable failure is tried again on the next tick.
                if not failure.retryable:
                    if outcome_unknown:
                        await self._end_unconfirmed(publish, f"the container status cannot be read: {failure}")
                    await self._end(publish, PublishState.FAILED, failure.error)
                last_failure = failure
                continue
            codes = {cid: s.status_code for cid, s in statuses.items()}
            for cid, status in statuses.items():
                item = index_of.get(cid) if what == "children" else None
                error = self._container_error(cid, status.status_code, status.error, accept_published)
                if error is not None:
                    await self._end(publish, PublishState.FAILED, error if item is None else error.for_item(item))
            if all(code in done for code in codes.values()):
                return codes
            if reel and not processing_seen and "IN_PROGRESS" in codes.values():
                # Saved as it is seen: a watcher learns the video is being processed, which
                # takes minutes for a long one, not only once it is done.
                processing_seen = True
                await self._log.record(
                    publish.id, "REEL_PROCESSING", "Instagram is processing the Reel's video (IN_PROGRESS)",
                    details={"container_id": ids[0], "status": statuses[ids[0]].status_code},
                )
        detail = f"; last status read failed: {last_failure}" if last_failure and not codes else ""
        if outcome_unknown:
            await self._end_unconfirmed(publish, f"the container status could not be established{detail}")
        await self._end(
            publish,
            PublishState.FAILED,
            PublishError(
                code="UNAVAILABLE" if what == "children" else "DEADLINE_EXCEEDED",
                reason="INSTAGRAM_PROCESSING_TIMEOUT",
                message=f"Instagram {what} containers were not FINISHED within {poll.timeout:.0f}s "
                f"(last statuses: {codes or 'unknown'}){detail}",
                retryable=True,
            ),
        )
        raise AssertionError("unreachable")

    @staticmethod
    def _container_error(
        container_id: str, status_code: str, error: PublishError | None, accept_published: bool
    ) -> PublishError | None:
        """Why a container's status ends the publish, or None when it does not."""
        if status_code == "ERROR":
            return error or PublishError(
                code="FAILED_PRECONDITION", reason="INSTAGRAM_CONTAINER_ERROR",
                message=f"Instagram could not process container {container_id}",
            )
        if status_code == "EXPIRED":
            return PublishError(
                code="ABORTED",
                reason="INSTAGRAM_CONTAINER_EXPIRED",
                message=f"Instagram container {container_id} expired before it was published; publish again",
                retryable=True,
            )
        if status_code == "PUBLISHED" and not accept_published:
            return PublishError(
                code="FAILED_PRECONDITION",
                reason="INSTAGRAM_CONTAINER_ALREADY_USED",
                message=f"Instagram container {container_id} was already published",
            )
        return None

    async def _end_unconfirmed(self, publish: Publish, why: str) -> None:
        await self._end(
            publish,
            PublishState.UNCONFIRMED,
            PublishError(
                code="DEADLINE_EXCEEDED",
                reason="PUBLISH_UNCONFIRMED",
                message=f"The outcome of the Instagram publish could not be established: {why}. "
                "It may be live; do not publish it again without checking.",
            ),
        )
