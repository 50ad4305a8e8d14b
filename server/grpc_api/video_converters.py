"""PublishTikTokVideo's request and response, to and from the domain."""

from __future__ import annotations

from distribution.v1 import publishing_service_pb2

from server.domain.commands import TikTokVideo
from server.domain.models import Media, Publish
from server.domain.options import TikTokOptions
from server.grpc_api.converters import media_out, state_out, tiktok_privacy_and_mode, timestamp_in


def tiktok_video(req: publishing_service_pb2.PublishTikTokVideoRequest) -> TikTokVideo:
    privacy, mode = tiktok_privacy_and_mode(req.privacy_level, req.post_mode)
    return TikTokVideo(
        media_ids=[req.media_id],
        account_id=req.tiktok_account_id,
        caption=req.title,
        privacy_level=privacy,
        post_mode=mode,
        disable_comment=req.disable_comment,
        disable_duet=req.disable_duet,
        disable_stitch=req.disable_stitch,
        video_cover_timestamp_ms=req.video_cover_timestamp_ms if req.HasField("video_cover_timestamp_ms") else None,
        brand_content_toggle=req.brand_content_toggle,
        brand_organic_toggle=req.brand_organic_toggle,
        is_aigc=req.is_aigc,
        request_id=req.request_id,
        allow_duplicate=req.allow_duplicate,
        publish_time=timestamp_in(req.publish_time, req.HasField("publish_time"), "publish_time"),
        creator_consent_obtained=req.creator_consent_obtained if req.HasField("creator_consent_obtained") else None,
    )


def _source(publish: Publish) -> str:
    options = publish.options
    return options.source if isinstance(options, TikTokOptions) else ""


def tiktok_video_out(publish: Publish) -> publishing_service_pb2.PublishTikTokVideoResponse:
    return publishing_service_pb2.PublishTikTokVideoResponse(
        tiktok_publish_id=publish.id,
        publish_id=publish.tiktok_publish_id or "",
        tiktok_media_id=publish.tiktok_post_id or "",
        state=state_out(publish.state),
        source=_source(publish),
    )


def tiktok_video_preview_out(publish: Publish, media: list[Media]) -> publishing_service_pb2.PublishTikTokVideoResponse:
    """validate_only: nothing was recorded, so no ids and no state; the video as inspected."""
    return publishing_service_pb2.PublishTikTokVideoResponse(
        source=_source(publish), media=media_out(media[0]) if media else None
    )
