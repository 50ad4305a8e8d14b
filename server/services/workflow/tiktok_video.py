"""TikTok video workflow, one checkpointed step at a time.

init (saves publish_id, and for FILE_UPLOAD the chunk plan and upload_url)
  -> FILE_UPLOAD only: each chunk PUT in order, each acknowledged chunk saved
  -> poll status/fetch -> PUBLISH_COMPLETE | SEND_TO_USER_INBOX | FAILED

init is the one call that creates something on TikTok and is never sent twice for a publish:
its publish_id (and upload_url) are saved with its answer. A pull's init whose answer was
lost ends the publish UNCONFIRMED, as for photos; an upload's ends it FAILED, since TikTok
cannot post a video it never received. Chunks post nothing by themselves (TikTok
processes the video once the last one is in), so a restart resumes the upload from the chunk
after the last acknowledged one, streaming that chunk's byte range from the media host again;
the upload holds no more than a read piece of the file at a time. An upload URL past its hour
cannot be renewed without a second init, so such a publish ends FAILED (nothing was posted).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from server.domain.changes import CLEAR, PublishChange, SetTo
from server.domain.errors import DomainError
from server.domain.media import public_url
from server.domain.models import Publish, PublishError, PublishState
from server.domain.options import TikTokOptions
from server.domain.platforms import PlatformFailure, VideoPost
from server.domain.ports import Clock, MediaBytes, MediaUnavailable, TikTokApi
from server.domain.tiktok_video import (
    FILE_UPLOAD,
    UPLOAD_URL_LIFETIME_SECONDS,
    TikTokUpload,
    chunk_plan,
)
from server.domain.tiktok_video_media import video_source
from server.services.workflow.checkpoint import PublishTarget, step
from server.services.workflow.polling import PollPolicy
from server.services.workflow.publish_log import PublishLog
from server.services.workflow.retry import Retrier
from server.services.workflow.tiktok import INIT, POST_MODES, TikTokCarouselWorkflow, sent_as_changed, unconfirmed

# Chunks are 10 MiB unless the operator says otherwise (DISTRIBUTION_TIKTOK_UPLOAD_CHUNK_BYTES).
DEFAULT_CHUNK_BYTES = 10 * 1024 * 1024


def video_post(publish: Publish, options: TikTokOptions, video_url: str, upload: TikTokUpload | None) -> VideoPost:
    """The init body for a publish, from the options saved on its record."""
    return VideoPost(
        post_mode=POST_MODES[options.post_mode],
        source=options.source,
        video_url=video_url if upload is None else "",
        video_size=upload.video_size if upload else 0,
        chunk_size=upload.chunk_size if upload else 0,
        total_chunk_count=upload.total_chunk_count if upload else 0,
        title=publish.caption,
        privacy_level=options.privacy_level,
        disable_comment=options.disable_comment,
        disable_duet=options.disable_duet,
        disable_stitch=options.disable_stitch,
        video_cover_timestamp_ms=options.video_cover_timestamp_ms,
        brand_content_toggle=options.brand_content_toggle,
        brand_organic_toggle=options.brand_organic_toggle,
        is_aigc=options.is_aigc,
    )


class TikTokVideoWorkflow(TikTokCarouselWorkflow):
    started_message = "Sending the video to TikTok"

    def __init__(
        self, client: TikTokApi, media_bytes: MediaBytes | None, publish_log: PublishLog, poll: PollPolicy,
        retrier: Retrier, clock: Clock, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__(client, publish_log, poll, retrier, clock)
        self._bytes = media_bytes
        self._chunk_bytes = chunk_bytes

    async def _steps(self, publish: Publish, target: PublishTarget) -> Publish:
        if publish.tiktok_publish_id is None:
            publish = await self._init(publish, target)
        upload = publish.tiktok_upload
        if upload is not None and not upload.complete:
            publish = await self._upload(publish, target, upload)
        return await self._wait(publish, target)

    @step("init")
    async def _init(self, publish: Publish, target: PublishTarget) -> Publish:
        options = publish.options
        assert isinstance(options, TikTokOptions)
        if publish.call_in_flight == INIT:
            stopped = "the service stopped while TikTok's video init call was in flight"
            if options.source == FILE_UPLOAD:
                await self._end(publish, PublishState.FAILED, _never_uploaded(stopped))
            await self._end(
                publish, PublishState.UNCONFIRMED,
                unconfirmed(f"{stopped}, and TikTok offers no lookup to tell whether it was accepted"),
            )
        media = target.media[0]
        options = dataclasses.replace(options, source=options.source or video_source(media))
        url = public_url(media)
        upload = await self._plan(publish, url) if options.source == FILE_UPLOAD else None
        post = video_post(publish, options, url, upload)
        await target.token()  # a token refused before anything is sent leaves nothing in flight
        notes = sent_as_changed(publish)
        details: dict[str, object] = {"source": post.source, "post_mode": post.post_mode}
        if upload is not None:
            details.update(video_size=upload.video_size, chunk_size=upload.chunk_size,
                           total_chunk_count=upload.total_chunk_count)
        if notes:
            details["changed"] = notes
        await self._log.record(
            publish.id, "TIKTOK_INIT_SENT",
            f"Sending the video to TikTok ({post.source})" + "".join(f"; {n}" for n in notes),
            PublishChange(call_in_flight=SetTo(INIT), options=options), details=details,
        )
        try:
            # As for photos: a rejected token (which proves nothing was created) is replaced
            # and init sent once more; an init whose outcome is unknown never is.
            answer = await self._send(
                publish, target, "init",
                lambda token: self._retrier.run(lambda: self._client.init_video_post(token, post)),
            )
        except (DomainError, PlatformFailure) as exc:
            if upload is not None and isinstance(exc, PlatformFailure) and exc.maybe_applied:
                await self._end(publish, PublishState.FAILED, _never_uploaded(
                    f"TikTok's answer to the init call was lost or unclear ({exc.error.message})"))
            await self._init_failed(publish, exc)
        change = PublishChange(tiktok_publish_id=SetTo(answer.publish_id), call_in_flight=CLEAR)
        if upload is not None:
            expires = self._clock.now() + timedelta(seconds=UPLOAD_URL_LIFETIME_SECONDS)
            change = change.then(PublishChange(tiktok_upload=SetTo(
                dataclasses.replace(upload, upload_url=answer.upload_url, upload_url_expires_at=expires)
            )))
        return await self._log.record(
            publish.id, "TIKTOK_INIT_ACCEPTED", f"TikTok accepted the video as {answer.publish_id}", change,
            details={"publish_id": answer.publish_id, "post_mode": post.post_mode, "source": post.source},
        )

    async def _plan(self, publish: Publish, url: str) -> TikTokUpload:
        """The chunk plan for the file's size as its host states it now (a read, before init)."""
        assert self._bytes is not None, "FILE_UPLOAD needs a media reader"
        try:
            size = await self._bytes.size(url)
        except MediaUnavailable as exc:
            await self._end(publish, PublishState.FAILED, _unreadable(str(exc)))
        plan = chunk_plan(size, self._chunk_bytes)
        return TikTokUpload(plan.video_size, plan.chunk_size, plan.total_chunk_count)

    @step("upload")
    async def _upload(self, publish: Publish, target: PublishTarget, upload: TikTokUpload) -> Publish:
        """Each chunk from the one after the last acknowledged, in order; each acknowledgement
        saved before the next chunk is read."""
        assert self._bytes is not None, "FILE_UPLOAD needs a media reader"
        media = target.media[0]
        url = public_url(media)
        plan = upload.plan
        if upload.chunks_acknowledged:
            await self._same_file(publish, url, upload)
            await self._log.record(
                publish.id, "TIKTOK_UPLOAD_RESUMED",
                f"Resuming the upload at chunk {upload.chunks_acknowledged + 1} of {plan.total_chunk_count}",
                details={"chunks_acknowledged": upload.chunks_acknowledged, "bytes": upload.bytes_acknowledged},
            )
        for index in range(upload.chunks_acknowledged, plan.total_chunk_count):
            if upload.expired(self._clock.now()):
                await self._end(publish, PublishState.FAILED, _expired())
            first, last = plan.byte_range(index)
            try:
                await self._send_chunk(upload, index, url, media.mime_type or "video/mp4")
            except MediaUnavailable as exc:
                await self._end(publish, PublishState.FAILED, _unreadable(str(exc)))
            except PlatformFailure as failure:
                await self._end(publish, PublishState.FAILED, failure.error)
            upload = dataclasses.replace(upload, chunks_acknowledged=index + 1)
            publish = await self._log.record(
                publish.id, "TIKTOK_CHUNK_UPLOADED",
                f"Chunk {index + 1} of {plan.total_chunk_count} acknowledged (bytes {first}-{last})",
                PublishChange(tiktok_upload=SetTo(upload)),
                details={"chunk": index + 1, "first": first, "last": last, "total": plan.video_size},
            )
        return publish

    async def _same_file(self, publish: Publish, url: str, upload: TikTokUpload) -> None:
        """Before a resumed upload sends more of the file: the file is still the size init
        declared (a file replaced meanwhile would be sent half old, half new)."""
        assert self._bytes is not None
        try:
            size = await self._bytes.size(url)
        except MediaUnavailable as exc:
            await self._end(publish, PublishState.FAILED, _unreadable(str(exc)))
        if size != upload.video_size:
            await self._end(publish, PublishState.FAILED, PublishError(
                code="FAILED_PRECONDITION", reason="MEDIA_CHANGED",
                message=f"media_id: the video is now {size:,} bytes, not the {upload.video_size:,} its upload to "
                "TikTok began with; the file changed, so the upload cannot resume. Nothing was posted: publish again",
                retryable=True,
            ))

    async def _send_chunk(self, upload: TikTokUpload, index: int, url: str, content_type: str) -> None:
        """One chunk, retried while TikTok's answer allows; each attempt streams the chunk's
        bytes from the media host afresh (never held whole)."""
        reader = self._bytes
        assert reader is not None
        plan = upload.plan
        first, last = plan.byte_range(index)
        await self._retrier.run(lambda: self._client.upload_chunk(
            upload.upload_url, first, last, plan.video_size, content_type, reader.read(url, first, last)
        ))


def _unreadable(detail: str) -> PublishError:
    return PublishError(
        code="FAILED_PRECONDITION", reason="MEDIA_UNREACHABLE",
        message=f"media_id: the video could not be read for the upload to TikTok: {detail}; nothing was posted",
        retryable=True,
    )


def _never_uploaded(why: str) -> PublishError:
    """An upload's init whose outcome is unknown: TikTok may hold an empty upload, but it cannot
    post a video whose bytes it never received, so nothing was posted and a new publish is safe."""
    return PublishError(
        code="UNAVAILABLE", reason="TIKTOK_UPLOAD_NOT_STARTED",
        message=f"{why}; the video was never uploaded, so TikTok cannot have posted it (an upload it "
        "may have opened expires unused). Nothing was posted: publish again",
        retryable=True,
    )


def _expired() -> PublishError:
    return PublishError(
        code="FAILED_PRECONDITION", reason="TIKTOK_UPLOAD_URL_EXPIRED",
        message="TikTok's upload URL expired (it is valid for one hour after init) before the upload finished; "
        "a new URL needs a new init, which this publish never sends, so nothing was posted. Publish again",
        retryable=True,
    )

