"""Instagram carousel workflow, one checkpointed step at a time.

create children -> wait children -> create carousel -> wait carousel -> publish -> read permalink

Every platform id is saved before the next step begins, so a retry or a restart
resumes from the record and never creates a second carousel or publishes twice.
`media_publish` is the one step that changes what people see: after an ambiguous
failure it is never repeated blindly; the container's status decides.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta, timezone

from server.domain.media import public_url
from server.domain.models import Publish, PublishError, PublishState, utcnow
from server.domain.platform_errors import (
    connection_error,
    instagram_container_error,
    instagram_error,
)
from server.domain.workflow.base import CheckpointedWorkflow, PublishTarget, StepFailed
from server.domain.workflow.log import PublishLog
from server.domain.workflow.polling import INSTAGRAM_CONTAINERS, PERMALINK, PollPolicy
from server.domain.workflow.retry import Retrier
from server.platforms.errors import PlatformConnectionError, PlatformError
from server.platforms.instagram import InstagramClient

log = logging.getLogger("distribution.workflow.instagram")

# How many times media_publish may be re-sent after the container was seen unpublished.
MAX_PUBLISH_ATTEMPTS = 3
# "The media is not ready for publishing, please wait for a moment": nothing was published.
NOT_READY_CODE, NOT_READY_SUBCODE = "9007", "2207027"


class InstagramCarouselWorkflow(CheckpointedWorkflow[InstagramClient]):
    started_message = "Creating Instagram containers"

    def __init__(
        self,
        client: InstagramClient,
        publish_log: PublishLog,
        poll: PollPolicy = INSTAGRAM_CONTAINERS,
        retrier: Retrier | None = None,
    ) -> None:
        super().__init__(client, publish_log, poll, retrier)

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.ig_media_id is None:
            if publish.container_id is None:
                publish = await self._create_children(publish, target)
                await self._wait_children(publish, target)
                publish = await self._create_carousel(publish, target)
            # Once the carousel exists, its status alone tells where we are (its items
            # turn PUBLISHED with it, so they are not looked at again).
            publish = await self._wait_carousel_then_publish(publish, target)
        if publish.state == PublishState.PUBLISHED and not publish.permalink and publish.ig_media_id:
            publish = await self._read_permalink(publish, target)
        return publish

    # --- steps ---------------------------------------------------------------

    async def _create_children(self, publish: Publish, target: PublishTarget) -> Publish:
        missing = [i for i, cid in enumerate(publish.child_container_ids) if not cid]
        missing += list(range(len(publish.child_container_ids), len(target.media)))
        if not missing:
            return publish

        async def create(index: int) -> Publish:
            url = public_url(target.media[index])
            # Creating a container is safe to repeat: an orphan container is never seen and expires.
            container_id = await self._retrier.run(
                lambda: self._client.create_image_container(token, target.account.external_account_id, url),
                read_only=True,
            )
            return await self._log.record_child(publish.id, index, container_id)

        token = await target.token()

        results = await asyncio.gather(*(create(i) for i in missing), return_exceptions=True)
        for index, result in zip(missing, results):
            if isinstance(result, BaseException):
                await self._fail_from(publish, result, item_index=index)
        # Each save returned the record as it stood after it; ids only ever get added, so the
        # fullest one is the latest.
        return max(results, key=lambda p: sum(1 for cid in p.child_container_ids if cid))  # type: ignore[union-attr]

    async def _wait_children(self, publish: Publish, target: PublishTarget) -> None:
        ids = [cid for cid in publish.child_container_ids if cid]
        statuses = await self._wait_finished(publish, target, ids, "children")
        self._log.note(
            publish.id, "CHILDREN_FINISHED", f"All {len(ids)} item containers are FINISHED",
            details={cid: s for cid, s in statuses.items()},
        )

    async def _create_carousel(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.container_id:
            return publish
        children = [cid for cid in publish.child_container_ids if cid]
        token = await target.token()
        try:
            container_id = await self._retrier.run(
                lambda: self._client.create_carousel_container(
                    token, target.account.external_account_id, children, publish.caption
                ),
                read_only=True,
            )
        except (PlatformError, PlatformConnectionError) as exc:
            await self._fail_from(publish, exc)
        return await self._log.record(
            publish.id, "CAROUSEL_CONTAINER_CREATED", f"Carousel container {container_id} created",
            details={"container_id": container_id}, container_id=container_id,
        )

    async def _wait_carousel_then_publish(self, publish: Publish, target: PublishTarget) -> Publish:
        assert publish.container_id
        outcome_unknown = False
        for attempt in range(MAX_PUBLISH_ATTEMPTS + 1):
            statuses = await self._wait_finished(
                publish, target, [publish.container_id], "carousel",
                accept_published=True, outcome_unknown=outcome_unknown,
            )
            if statuses[publish.container_id] == "PUBLISHED":
                # A previous attempt (or a run before a crash) already published it.
                return await self._recover_published(publish, target)
            if attempt == MAX_PUBLISH_ATTEMPTS:
                break  # the last look at the container found it unpublished
            started = utcnow()
            await self._log.record(
                publish.id, "PUBLISH_SENT", f"Publishing carousel container {publish.container_id}",
                call_in_flight="media_publish",
            )
            try:
                media_id = await self._client.publish(
                    await target.token(), target.account.external_account_id, publish.container_id
                )
            except PlatformConnectionError as exc:
                if not exc.maybe_sent:
                    await self._fail_from(publish, exc)
                outcome_unknown = True
                await self._log.record(
                    publish.id, "PUBLISH_OUTCOME_UNKNOWN",
                    f"media_publish gave no answer ({exc.detail}); checking the container before anything else",
                )
                continue
            except PlatformError as exc:
                if exc.code == NOT_READY_CODE or exc.subcode == NOT_READY_SUBCODE:
                    # Nothing was published; wait for the container again, then publish.
                    await self._log.record(
                        publish.id, "PUBLISH_NOT_READY", "Instagram says the carousel is not ready yet; waiting",
                        details=_error_summary(exc),
                    )
                    continue
                if exc.transient or exc.http_status >= 500:
                    outcome_unknown = True
                    await self._log.record(
                        publish.id, "PUBLISH_OUTCOME_UNKNOWN",
                        f"media_publish failed transiently ({exc.code}); checking the container before anything else",
                        details=_error_summary(exc),
                    )
                    continue
                await self._fail_from(publish, exc)
            return await self._log.record(
                publish.id, "PUBLISHED", f"Published as IG media {media_id}",
                details={"ig_media_id": media_id, "creation_id": publish.container_id},
                state=PublishState.PUBLISHED, ig_media_id=media_id, published_at=started, call_in_flight=None,
                # Read next; should the service stop before, the reconciler reads it after restart.
                pending_facts=[PERMALINK], reconcile_at=self._log.late_facts.first_check(),
            )
        # Every attempt failed and the container, looked at after each, was never published.
        await self._fail(
            publish,
            PublishError(
                code="UNAVAILABLE",
                reason="INSTAGRAM_PUBLISH_FAILED",
                message=f"Instagram failed media_publish {MAX_PUBLISH_ATTEMPTS} times and the carousel "
                f"container {publish.container_id} is still unpublished; nothing was posted",
                retryable=True,
            ),
        )
        raise AssertionError("unreachable")

    async def _recover_published(self, publish: Publish, target: PublishTarget) -> Publish:
        """The carousel container is PUBLISHED but we never saved the media id: look for our
        post among the account's recent media (the container does not name its media)."""
        media_id = ""
        try:
            recent = await self._client.recent_media(
                await target.token(), target.account.external_account_id, limit=25
            )
            since = (publish.created_at - timedelta(minutes=1)).astimezone(timezone.utc)
            candidates = [
                m for m in recent
                if m.timestamp[:19] >= since.strftime("%Y-%m-%dT%H:%M:%S")
                and (m.caption is None or m.caption == publish.caption)
            ]
            claimed = await self._log.repository.claimed_ig_media_ids(
                publish.account_id, [m.id for m in candidates]
            )
            candidates = [m for m in candidates if m.id not in claimed]
            if len(candidates) == 1:
                media_id = candidates[0].id
        except (PlatformError, PlatformConnectionError) as exc:
            log.warning("recent media read failed", extra={"publish_id": publish.id, "error": str(exc)})
        message = (
            f"The carousel container is PUBLISHED; found IG media {media_id}"
            if media_id
            else "The carousel container is PUBLISHED; its IG media id could not be told apart among the "
            "account's recent posts"
        )
        return await self._log.record(
            publish.id, "PUBLISHED", message, state=PublishState.PUBLISHED,
            published_at=utcnow(), ig_media_id=media_id or None, call_in_flight=None,
            **({"pending_facts": [PERMALINK], "reconcile_at": self._log.late_facts.first_check()} if media_id else {}),
        )

    async def _read_permalink(self, publish: Publish, target: PublishTarget) -> Publish:
        assert publish.ig_media_id
        try:
            media = await self._client.media(await target.token(), publish.ig_media_id)
        except (PlatformError, PlatformConnectionError) as exc:
            # The post is live: a failed read-back never turns it into a failure.
            return await self._log.record(
                publish.id, "PERMALINK_PENDING",
                f"The post is live but its permalink could not be read yet ({exc}); it will be read again later",
                details=_error_summary(exc),
                pending_facts=[PERMALINK], reconcile_at=self._log.late_facts.first_check(),
            )
        if not media.permalink:
            return await self._log.record(
                publish.id, "PERMALINK_PENDING", "The post is live; Instagram has not given its permalink yet",
                pending_facts=[PERMALINK], reconcile_at=self._log.late_facts.first_check(),
            )
        return await self._log.record(
            publish.id, "PERMALINK_READ", f"Permalink {media.permalink}",
            details={"permalink": media.permalink, "shortcode": media.shortcode}, permalink=media.permalink,
            pending_facts=[], reconcile_at=None,
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
        last_error: Exception | None = None
        codes: dict[str, str] = {}
        token = await target.token()
        async for _ in self._poll.ticks():
            try:
                statuses = await self._client.container_statuses(token, ids)
            except (PlatformError, PlatformConnectionError) as exc:
                # Status reads change nothing: a transient failure is retried on the next tick.
                if isinstance(exc, PlatformError) and not (exc.transient or exc.http_status >= 500):
                    if outcome_unknown:
                        await self._end_unconfirmed(publish, f"the container status cannot be read: {exc}")
                        raise StepFailed()
                    await self._fail_from(publish, exc)
                last_error = exc
                continue
            codes = {cid: s.status_code for cid, s in statuses.items()}
            for cid, status in statuses.items():
                if status.status_code == "ERROR":
                    item = index_of.get(cid) if what == "children" else None
                    await self._fail(publish, instagram_container_error(status.status, item))
                if status.status_code == "EXPIRED":
                    item = index_of.get(cid) if what == "children" else None
                    await self._fail(
                        publish,
                        PublishError(
                            code="ABORTED",
                            reason="INSTAGRAM_CONTAINER_EXPIRED",
                            message=f"Instagram container {cid} expired before it was published; publish again",
                            retryable=True,
                            item_index=item,
                        ),
                    )
                if status.status_code == "PUBLISHED" and not accept_published:
                    item = index_of.get(cid)
                    await self._fail(
                        publish,
                        PublishError(
                            code="FAILED_PRECONDITION",
                            reason="INSTAGRAM_CONTAINER_ALREADY_USED",
                            message=f"Instagram container {cid} was already published",
                            item_index=item,
                        ),
                    )
            if all(code in done for code in codes.values()):
                return codes
        detail = f"; last status read failed: {last_error}" if last_error and not codes else ""
        if outcome_unknown:
            await self._end_unconfirmed(publish, f"the container status could not be established{detail}")
            raise StepFailed()
        await self._fail(
            publish,
            PublishError(
                code="DEADLINE_EXCEEDED" if what == "carousel" else "UNAVAILABLE",
                reason="INSTAGRAM_PROCESSING_TIMEOUT",
                message=f"Instagram {what} containers were not FINISHED within {self._poll.timeout:.0f}s "
                f"(last statuses: {codes or 'unknown'}){detail}",
                retryable=True,
            ),
        )
        raise AssertionError("unreachable")

    async def _fail_from(self, publish: Publish, exc: BaseException, item_index: int | None = None) -> None:
        if isinstance(exc, PlatformError):
            await self._fail(publish, instagram_error(exc, item_index))
        if isinstance(exc, PlatformConnectionError):
            error = connection_error(exc)
            if item_index is not None:
                error = PublishError(**{**error.to_dict(), "item_index": item_index})
            await self._fail(publish, error)
        raise exc

    async def _fail(self, publish: Publish, error: PublishError) -> None:
        await self._log.record(
            publish.id, "FAILED", error.message, state=PublishState.FAILED, error=error,
            details={"platform_code": error.platform_code, "platform_subcode": error.platform_subcode,
                     "trace_id": error.platform_trace_id},
        )
        raise StepFailed()

    async def _end_unconfirmed(self, publish: Publish, why: str) -> Publish:
        error = PublishError(
            code="DEADLINE_EXCEEDED",
            reason="PUBLISH_UNCONFIRMED",
            message=f"The outcome of the Instagram publish could not be established: {why}. "
            "It may be live; do not publish it again without checking.",
        )
        return await self._log.record(
            publish.id, "UNCONFIRMED", error.message, state=PublishState.UNCONFIRMED, error=error
        )


def _error_summary(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, PlatformError):
        return {"code": exc.code, "subcode": exc.subcode, "message": exc.message, "trace_id": exc.trace_id,
                "http_status": str(exc.http_status)}
    return {"detail": str(exc)}
