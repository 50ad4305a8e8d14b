"""Proto <-> domain conversions. The only place that knows both shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    media_pb2,
    media_service_pb2,
    publish_pb2,
    publishing_service_pb2,
)
from google.protobuf import timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from server.domain.commands import ConnectRequest, InstagramCarousel, InstagramMedia, MediaDraft, TikTokCarousel
from server.domain.errors import FieldViolation, invalid
from server.domain.health import AccountHealth
from server.domain.models import (
    Account,
    FirstComment,
    Inspection,
    Media,
    MediaKind,
    Platform,
    Publish,
    PublishError,
    PublishEvent,
    PublishFilter,
    PublishKind,
    PublishState,
    Storage,
    VideoFacts,
)
from server.domain.options import ImageOptions, InstagramOptions, TikTokOptions, UserTag
from server.domain.tiktok_video import TikTokUpload

E = TypeVar("E")


def enum_in(
    wrapper: EnumTypeWrapper, value: int, prefix: str, domain: type[E], field: str, default: E | None = None
) -> E | None:
    """A proto enum value as the domain enum; UNSPECIFIED gives `default`; unknown numbers are invalid."""
    try:
        name = wrapper.Name(value)
    except ValueError:
        known = ", ".join(name for name in wrapper.keys() if not name.endswith("_UNSPECIFIED"))  # noqa: SIM118
        raise invalid([FieldViolation(field, f"must be one of {known}; got {value}")]) from None
    short = name.removeprefix(prefix)
    if short == "UNSPECIFIED":
        return default
    return domain(short)  # type: ignore[call-arg]


# (enum type, domain value) -> proto number: enum_out runs several times per message of
# every list response, and the descriptor lookup behind wrapper.Value is the slow part.
_ENUM_NUMBERS: dict[tuple[int, str], int] = {}


def enum_out(wrapper: EnumTypeWrapper, prefix: str, value: object) -> Any:
    """The proto enum number for a domain enum value (None: 0, unspecified)."""
    if value is None:
        return 0
    name = getattr(value, "value", None) or str(value)
    key = (id(wrapper), name)
    number = _ENUM_NUMBERS.get(key)
    if number is None:
        number = _ENUM_NUMBERS[key] = wrapper.Value(prefix + name)
    return number


def timestamp_in(ts: timestamp_pb2.Timestamp, has: bool, field: str) -> datetime | None:
    if not has:
        return None
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise invalid(
            [FieldViolation(field, "is not a valid time: use a time between years 1 and 9999, nanos 0 to 999999999")]
        ) from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp_out(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    _set_time(ts, value)
    return ts


def _set_time(ts: timestamp_pb2.Timestamp, value: datetime) -> None:
    # Integer arithmetic on the delta: exact, and several times cheaper than FromDatetime,
    # which dominated list responses (benchmark profile).
    delta = value - _EPOCH
    ts.seconds = delta.days * 86400 + delta.seconds
    ts.nanos = delta.microseconds * 1000


# --- accounts -------------------------------------------------------------------


def connect_request(req: account_service_pb2.ConnectAccountRequest) -> ConnectRequest:
    return ConnectRequest(
        platform=enum_in(account_pb2.Platform, req.platform, "PLATFORM_", Platform, "platform"),
        external_account_id=req.external_account_id.strip(),
        username=req.username,
        access_token=req.access_token,
        refresh_token=req.refresh_token,
        access_token_expires_at=timestamp_in(
            req.access_token_expire_time, req.HasField("access_token_expire_time"), "access_token_expire_time"
        ),
        refresh_token_expires_at=timestamp_in(
            req.refresh_token_expire_time, req.HasField("refresh_token_expire_time"), "refresh_token_expire_time"
        ),
    )


def account_out(account: Account) -> account_pb2.Account:
    message = account_pb2.Account(
        id=account.id,
        platform=enum_out(account_pb2.Platform, "PLATFORM_", account.platform),
        external_account_id=account.external_account_id,
        username=account.username,
        state=enum_out(account_pb2.AccountState, "ACCOUNT_STATE_", account.state),
        access_token_expire_time=timestamp_out(account.access_token_expires_at),
        refresh_token_expire_time=timestamp_out(account.refresh_token_expires_at),
        has_refresh_token=account.has_refresh_token,
        create_time=timestamp_out(account.created_at),
        update_time=timestamp_out(account.updated_at),
    )
    if account.health is not None:
        _health_out(message, account.health)
    return message


def _health_out(message: account_pb2.Account, health: AccountHealth) -> None:
    """The account's health fields (11-30); those unknown are left unset."""
    message.health_state = enum_out(account_pb2.AccountHealthState, "ACCOUNT_HEALTH_STATE_", health.state)
    facts = health.facts
    if facts.checked_at is not None:
        _set_time(message.health_check_time, facts.checked_at)
    if health.quota is not None:
        message.instagram_quota_usage = health.quota.usage
        message.instagram_quota_total = health.quota.total
        _set_time(message.instagram_quota_read_time, health.quota.read_at)
    creator = facts.creator
    if creator is not None:
        message.tiktok_can_post = creator.can_post
        message.tiktok_cannot_post_reason = creator.cannot_post_reason
        message.tiktok_privacy_level_options.extend(creator.privacy_level_options)
        if creator.comment_disabled is not None:
            message.tiktok_comment_disabled = creator.comment_disabled
        if creator.max_video_post_duration_sec is not None:
            message.tiktok_max_video_post_duration_sec = creator.max_video_post_duration_sec
    failure = facts.last_failure
    if failure is not None:
        message.last_failure.CopyFrom(account_pb2.AccountFailure(
            platform_code=failure.platform_code, message=failure.message, time=timestamp_out(failure.time),
        ))


def platform_filter(value: int) -> Platform | None:
    return enum_in(account_pb2.Platform, value, "PLATFORM_", Platform, "platform")


# --- media ----------------------------------------------------------------------


def media_draft(req: media_service_pb2.RegisterMediaRequest) -> MediaDraft:
    return MediaDraft(
        url=req.url.strip(),
        mime_type=req.mime_type,
        kind=enum_in(media_pb2.MediaKind, req.kind, "MEDIA_KIND_", MediaKind, "kind"),
        storage=enum_in(media_pb2.Storage, req.storage, "STORAGE_", Storage, "storage"),
        width=req.width,
        height=req.height,
        size_bytes=req.size_bytes,
    )


def media_out(media: Media) -> media_pb2.Media:
    return media_pb2.Media(
        id=media.id,
        url=media.url,
        mime_type=media.mime_type,
        kind=enum_out(media_pb2.MediaKind, "MEDIA_KIND_", media.kind),
        storage=enum_out(media_pb2.Storage, "STORAGE_", media.storage),
        width=media.width,
        height=media.height,
        size_bytes=media.size_bytes,
        create_time=timestamp_out(media.created_at),
        inspection=inspection_out(media.inspection),
        video=video_out(media.video),
    )


def video_out(video: VideoFacts | None) -> media_pb2.VideoFacts | None:
    if video is None:
        return None
    return media_pb2.VideoFacts(
        container=video.container, duration_ms=video.duration_ms, width=video.width, height=video.height,
        frame_rate=video.frame_rate, video_codec=video.video_codec, audio_codec=video.audio_codec,
        size_bytes=video.size_bytes, bytes_read=video.bytes_read,
    )


def inspection_out(inspection: Inspection | None) -> media_pb2.MediaInspection | None:
    if inspection is None:
        return None
    return media_pb2.MediaInspection(
        outcome=enum_out(media_pb2.InspectionOutcome, "INSPECTION_OUTCOME_", inspection.outcome),
        mime_type=inspection.mime_type,
        width=inspection.width,
        height=inspection.height,
        size_bytes=inspection.size_bytes,
        sha256=inspection.sha256,
        reachable=inspection.reachable,
        detail=inspection.detail,
        inspect_time=timestamp_out(inspection.inspected_at),
        video=video_out(inspection.video),
    )


# --- publishing -----------------------------------------------------------------


def state_out(state: PublishState) -> Any:
    return enum_out(publish_pb2.PublishState, "PUBLISH_STATE_", state)


def instagram_carousel(req: publishing_service_pb2.PublishInstagramCarouselRequest) -> InstagramCarousel:
    return InstagramCarousel(
        media_ids=list(req.media_ids),
        account_id=req.instagram_account_id,
        caption=req.caption,
        request_id=req.request_id,
        allow_duplicate=req.allow_duplicate,
        publish_time=timestamp_in(req.publish_time, req.HasField("publish_time"), "publish_time"),
        images=tuple(
            ImageOptions(
                alt_text=image.alt_text,
                user_tags=tuple(UserTag(t.username, t.x, t.y) for t in image.user_tags),
            )
            for image in req.images
        ),
        collaborators=tuple(req.collaborators),
        location_id=req.location_id,
        first_comment=req.first_comment,
    )


def instagram_carousel_out(publish: Publish) -> publishing_service_pb2.PublishInstagramCarouselResponse:
    response = publishing_service_pb2.PublishInstagramCarouselResponse(
        instagram_publish_id=publish.id,
        ig_media_id=publish.ig_media_id or "",
        permalink=publish.permalink or "",
        image_count=publish.image_count,
        state=state_out(publish.state),
    )
    if publish.first_comment is not None:
        _first_comment_out(publish.first_comment, response.first_comment)
    return response


def instagram_media(req: publishing_service_pb2.PublishInstagramMediaRequest) -> InstagramMedia:
    return InstagramMedia(
        media_id=req.media_id,
        account_id=req.instagram_account_id,
        caption=req.caption,
        request_id=req.request_id,
        allow_duplicate=req.allow_duplicate,
        publish_time=timestamp_in(req.publish_time, req.HasField("publish_time"), "publish_time"),
        image=ImageOptions(
            alt_text=req.alt_text, user_tags=tuple(UserTag(t.username, t.x, t.y) for t in req.user_tags)
        ),
        collaborators=tuple(req.collaborators),
        location_id=req.location_id,
        first_comment=req.first_comment,
        cover_url=req.cover_url,
        thumb_offset_ms=req.thumb_offset_ms if req.HasField("thumb_offset_ms") else None,
        share_to_feed=req.share_to_feed if req.HasField("share_to_feed") else None,
    )


def instagram_media_out(publish: Publish) -> publishing_service_pb2.PublishInstagramMediaResponse:
    response = publishing_service_pb2.PublishInstagramMediaResponse(
        instagram_publish_id=publish.id,
        kind=enum_out(publish_pb2.PublishKind, "PUBLISH_KIND_", publish.kind),
        state=state_out(publish.state),
        ig_media_id=publish.ig_media_id or "",
        permalink=publish.permalink or "",
        instagram_container_id=publish.container_id or "",
    )
    if publish.first_comment is not None:
        _first_comment_out(publish.first_comment, response.first_comment)
    return response


def instagram_media_preview_out(
    publish: Publish, media: list[Media]
) -> publishing_service_pb2.PublishInstagramMediaResponse:
    """validate_only: nothing was recorded, so no ids and no state; the kind it would be and
    the media as inspected."""
    return publishing_service_pb2.PublishInstagramMediaResponse(
        kind=enum_out(publish_pb2.PublishKind, "PUBLISH_KIND_", publish.kind), media=media_out(media[0])
    )


def tiktok_privacy_and_mode(privacy_level: int, post_mode: int) -> tuple[str, str]:
    """A TikTok request's privacy level and post mode in domain terms, with their defaults
    (SELF_ONLY, direct) for unspecified."""
    privacy = enum_in(publish_pb2.PrivacyLevel, privacy_level, "PRIVACY_LEVEL_", str, "privacy_level", "SELF_ONLY")
    mode = enum_in(publish_pb2.PostMode, post_mode, "POST_MODE_", str, "post_mode", "DIRECT")
    return str(privacy), str(mode)


def tiktok_carousel(req: publishing_service_pb2.PublishTikTokCarouselRequest) -> TikTokCarousel:
    privacy, mode = tiktok_privacy_and_mode(req.privacy_level, req.post_mode)
    return TikTokCarousel(
        media_ids=list(req.media_ids),
        account_id=req.tiktok_account_id,
        caption=req.caption,
        privacy_level=privacy,
        post_mode=mode,
        cover_index=req.cover_index,
        description=req.description,
        disable_comment=req.disable_comment,
        auto_add_music=req.auto_add_music,
        request_id=req.request_id,
        allow_duplicate=req.allow_duplicate,
        publish_time=timestamp_in(req.publish_time, req.HasField("publish_time"), "publish_time"),
        brand_content_toggle=req.brand_content_toggle,
        brand_organic_toggle=req.brand_organic_toggle,
        creator_consent_obtained=req.creator_consent_obtained if req.HasField("creator_consent_obtained") else None,
    )


def instagram_preview_out(
    publish: Publish, media: list[Media]
) -> publishing_service_pb2.PublishInstagramCarouselResponse:
    """validate_only: nothing was recorded, so no ids and no state; the media as inspected."""
    return publishing_service_pb2.PublishInstagramCarouselResponse(
        image_count=publish.image_count, media=[media_out(m) for m in media]
    )


def tiktok_preview_out(
    publish: Publish, media: list[Media]
) -> publishing_service_pb2.PublishTikTokCarouselResponse:
    """validate_only: nothing was recorded, so no ids and no state; the media as inspected."""
    return publishing_service_pb2.PublishTikTokCarouselResponse(
        image_count=publish.image_count, media=[media_out(m) for m in media]
    )


def tiktok_carousel_out(publish: Publish) -> publishing_service_pb2.PublishTikTokCarouselResponse:
    return publishing_service_pb2.PublishTikTokCarouselResponse(
        tiktok_publish_id=publish.id,
        publish_id=publish.tiktok_publish_id or "",
        tiktok_media_id=publish.tiktok_post_id or "",
        image_count=publish.image_count,
        state=state_out(publish.state),
    )


# --- history --------------------------------------------------------------------


def publish_out(publish: Publish, into: publish_pb2.Publish | None = None) -> publish_pb2.Publish:
    """The record as a Publish message. `into`, a new empty message such as
    `response.publishes.add()`, is filled in place: a list page built message by message and
    then copied into its response spent half its conversion time on the copies. Fields are
    set one by one for the same reason (keyword arguments copy each submessage)."""
    message = publish_pb2.Publish() if into is None else into
    message.id = publish.id
    message.platform = enum_out(account_pb2.Platform, "PLATFORM_", publish.platform)
    message.kind = enum_out(publish_pb2.PublishKind, "PUBLISH_KIND_", publish.kind)
    message.account_id = publish.account_id
    message.media_ids.extend(publish.media_ids)
    message.caption = publish.caption
    message.state = state_out(publish.state)
    if any(publish.child_container_ids):  # none created yet (a scheduled publish): an empty list
        message.instagram_child_container_ids.extend([cid or "" for cid in publish.child_container_ids])
    message.instagram_container_id = publish.container_id or ""
    message.ig_media_id = publish.ig_media_id or ""
    message.permalink = publish.permalink or ""
    # TikTok's ids under their clear names, and under the deprecated ones for v1 clients.
    message.tiktok_platform_publish_id = message.tiktok_publish_id = publish.tiktok_publish_id or ""
    message.tiktok_platform_post_id = message.tiktok_post_id = publish.tiktok_post_id or ""
    message.request_id = publish.request_id or ""
    _set_time(message.create_time, publish.created_at)
    _set_time(message.update_time, publish.updated_at)
    if publish.published_at is not None:
        _set_time(message.publish_time, publish.published_at)
    message.pending_facts.extend(publish.pending_facts)
    if publish.schedule_time is not None:
        _set_time(message.schedule_time, publish.schedule_time)
    if publish.started_at is not None:
        _set_time(message.start_time, publish.started_at)
    lateness = publish.start_lateness
    if lateness is not None:
        message.start_lateness.FromTimedelta(lateness)
    # Submessages are filled in place: building one and copying it in costs twice as much.
    options = publish.options
    if isinstance(options, TikTokOptions):
        out = message.tiktok_options
        out.privacy_level = enum_out(publish_pb2.PrivacyLevel, "PRIVACY_LEVEL_", options.privacy_level)
        out.post_mode = enum_out(publish_pb2.PostMode, "POST_MODE_", options.post_mode)
        out.cover_index = options.cover_index
        out.description = options.description
        out.disable_comment = options.disable_comment
        out.auto_add_music = options.auto_add_music
        out.brand_content_toggle = options.brand_content_toggle
        out.brand_organic_toggle = options.brand_organic_toggle
        if options.creator_consent_obtained is not None:  # unset when the request did not say
            out.creator_consent_obtained = options.creator_consent_obtained
        out.creator_nickname = options.creator_nickname
        out.platform_title = options.platform_title
        out.platform_description = options.platform_description
        out.comments_disabled_by_creator = options.comments_disabled_by_creator
        if options.source:
            _video_options_out(options, out)
    elif not options.empty:
        _instagram_options_out(options, message.instagram_options)
    if publish.first_comment is not None:
        _first_comment_out(publish.first_comment, message.first_comment)
    if publish.tiktok_upload is not None:
        _upload_out(publish.tiktok_upload, message.tiktok_upload)
    if publish.error is not None:
        _error_out(publish.error, message.error)
    return message


def _instagram_options_out(options: InstagramOptions, out: publish_pb2.InstagramOptions) -> None:
    for image in options.images:
        item = out.images.add()
        item.alt_text = image.alt_text
        for tag in image.user_tags:
            item.user_tags.add(username=tag.username, x=tag.x, y=tag.y)
    out.collaborators.extend(options.collaborators)
    out.location_id = options.location_id
    out.first_comment = options.first_comment
    out.cover_url = options.cover_url
    if options.thumb_offset_ms is not None:
        out.thumb_offset_ms = options.thumb_offset_ms
    if options.share_to_feed is not None:
        out.share_to_feed = options.share_to_feed


def _video_options_out(options: TikTokOptions, out: publish_pb2.TikTokOptions) -> None:
    out.source = options.source
    out.disable_duet = options.disable_duet
    out.disable_stitch = options.disable_stitch
    if options.video_cover_timestamp_ms is not None:
        out.video_cover_timestamp_ms = options.video_cover_timestamp_ms
    out.is_aigc = options.is_aigc
    out.max_video_post_duration_sec = options.max_video_post_duration_sec


def _upload_out(upload: TikTokUpload, out: publish_pb2.TikTokUpload) -> None:
    """The upload's progress; never its URL (a credential for the upload)."""
    out.video_size = upload.video_size
    out.chunk_size = upload.chunk_size
    out.total_chunk_count = upload.total_chunk_count
    out.chunks_acknowledged = upload.chunks_acknowledged
    out.bytes_acknowledged = upload.bytes_acknowledged
    if upload.upload_url_expires_at is not None:
        _set_time(out.upload_url_expire_time, upload.upload_url_expires_at)


def _first_comment_out(comment: FirstComment, out: publish_pb2.FirstComment) -> None:
    out.state = enum_out(publish_pb2.FirstCommentState, "FIRST_COMMENT_STATE_", comment.state)
    out.comment_id = comment.comment_id
    if comment.error is not None:
        _error_out(comment.error, out.error)


def _error_out(error: PublishError, failure: publish_pb2.PublishError) -> None:
    failure.code = error.code
    failure.reason = error.reason
    failure.message = error.message
    failure.platform_code = error.platform_code
    failure.platform_subcode = error.platform_subcode
    failure.platform_trace_id = error.platform_trace_id
    failure.retryable = error.retryable
    failure.field = f"media_ids[{error.item_index}]" if error.item_index is not None else ""


def event_out(event: PublishEvent, into: publish_pb2.PublishEvent | None = None) -> publish_pb2.PublishEvent:
    """The timeline event as a message; `into`, a new empty one, is filled in place (see publish_out)."""
    message = publish_pb2.PublishEvent() if into is None else into
    message.sequence = event.sequence
    if event.time is not None:
        _set_time(message.time, event.time)
    message.type = event.type
    if event.state is not None:
        message.state = state_out(event.state)
    message.message = event.message
    message.details.update(event.details)
    message.trace_id = event.trace_id
    return message


def timeline_out(
    publish: Publish,
    events: list[PublishEvent],
    into: publishing_service_pb2.GetPublishResponse | publishing_service_pb2.WatchPublishResponse,
) -> None:
    """Fills a response's `publish` and `events` (GetPublish and WatchPublish share the shape)."""
    publish_out(publish, into.publish)
    for event in events:
        event_out(event, into.events.add())


def publish_filter(req: publishing_service_pb2.ListPublishesRequest) -> PublishFilter:
    return PublishFilter(
        account_id=req.account_id or None,
        platform=enum_in(account_pb2.Platform, req.platform, "PLATFORM_", Platform, "platform"),
        state=enum_in(publish_pb2.PublishState, req.state, "PUBLISH_STATE_", PublishState, "state"),
        created_after=timestamp_in(req.create_time_after, req.HasField("create_time_after"), "create_time_after"),
        created_before=timestamp_in(
            req.create_time_before, req.HasField("create_time_before"), "create_time_before"
        ),
        scheduled_after=timestamp_in(
            req.schedule_time_after, req.HasField("schedule_time_after"), "schedule_time_after"
        ),
        scheduled_before=timestamp_in(
            req.schedule_time_before, req.HasField("schedule_time_before"), "schedule_time_before"
        ),
        kind=enum_in(publish_pb2.PublishKind, req.kind, "PUBLISH_KIND_", PublishKind, "kind"),
    )


def publish_time_in(req: publishing_service_pb2.UpdatePublishScheduleRequest) -> datetime | None:
    return timestamp_in(req.publish_time, req.HasField("publish_time"), "publish_time")
