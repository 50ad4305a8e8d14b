"""PublishTikTokVideo's policy in the publishing template: TikTok's rules for one video.

The carousel's TikTok rules hold as they are (creator_info before init, the privacy level
among the creator's options, the consent and comments opt-ins, branded content never
private: server/domain/post_options.py), and a video adds its own: one media id that is a
video, a title of up to 2200 UTF-16 units (photo posts: 90), a cover frame at or after 0 ms,
and from creator_info the creator's longest video (`max_video_post_duration_sec`, checked
before init against the inspected duration) and Duet and Stitch, which a post cannot allow
when the creator turned them off (sent true, as comments are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from server.domain.commands import CarouselRequest, TikTokVideo
from server.domain.errors import FailedPrecondition, FieldViolation, invalid
from server.domain.media_rules import media_error
from server.domain.models import Account, Media, PublishKind
from server.domain.options import PostOptions, TikTokOptions
from server.domain.platforms import CreatorInfo
from server.domain.post_options import tiktok_option_violations
from server.domain.tiktok_text import utf16_units
from server.domain.tiktok_video import TITLE_MAX_UTF16
from server.domain.tiktok_video_media import video_duration_seconds, video_source
from server.domain.validation import id_violation
from server.domain.video_rules import tiktok_video_problems
from server.services.publishing import TikTokPolicy

MEDIA_FIELD = "media_id"


def video_request_violations(req: TikTokVideo) -> list[FieldViolation]:
    """The request's shape: every violation at once, each naming its field."""
    violations = []
    media_id = req.media_ids[0] if req.media_ids else ""
    if (v := id_violation(MEDIA_FIELD, media_id, "a media id from RegisterMedia")) is not None:
        violations.append(v)
    units = utf16_units(req.caption)
    if units > TITLE_MAX_UTF16:
        violations.append(FieldViolation(
            "title",
            f"must be at most {TITLE_MAX_UTF16} UTF-16 code units, as TikTok counts a video's title (a letter "
            f"counts 1, most emoji 2); got {units}",
        ))
    if req.video_cover_timestamp_ms is not None and req.video_cover_timestamp_ms < 0:
        violations.append(FieldViolation(
            "video_cover_timestamp_ms", f"must be 0 or more (milliseconds from the start); got "
            f"{req.video_cover_timestamp_ms}",
        ))
    violations += tiktok_option_violations(req)
    return violations


def cover_violations(req: TikTokVideo, media: Media) -> list[FieldViolation]:
    """The cover frame must lie within the video, once its duration is known."""
    duration = video_duration_seconds(media)
    cover = req.video_cover_timestamp_ms
    if duration is None or cover is None or cover <= duration * 1000:
        return []
    return [FieldViolation(
        "video_cover_timestamp_ms", f"must be within the video ({duration * 1000:.0f} ms long); got {cover}",
    )]


def video_options(req: TikTokVideo) -> TikTokOptions:
    """The options the record keeps: the direct-post ones only for a direct post (the inbox
    endpoint takes the video alone; the creator finishes the post in TikTok's app)."""
    common = TikTokOptions(post_mode=req.post_mode)
    if not common.direct:
        return common
    return dataclasses.replace(
        common,
        is_aigc=req.is_aigc,
        privacy_level=req.privacy_level,
        disable_comment=req.disable_comment,
        disable_duet=req.disable_duet,
        disable_stitch=req.disable_stitch,
        video_cover_timestamp_ms=req.video_cover_timestamp_ms,
        brand_content_toggle=req.brand_content_toggle,
        brand_organic_toggle=req.brand_organic_toggle,
        creator_consent_obtained=req.creator_consent_obtained,
    )


class TikTokVideoPolicy(TikTokPolicy):
    """TikTok's rules for one video (the module's docstring)."""

    def request_violations(self, req: CarouselRequest) -> list[FieldViolation]:
        assert isinstance(req, TikTokVideo)
        return video_request_violations(req)

    def check_media(self, media: list[Media], req: CarouselRequest) -> None:
        assert isinstance(req, TikTokVideo)
        # TikTok's video restrictions on the inspected video (video_rules.py), and the cover
        # frame within it; every problem named at once.
        problems = tiktok_video_problems(media[0], MEDIA_FIELD)
        cover = cover_violations(req, media[0])
        if problems and cover:
            raise invalid([*media_error(problems).field_violations, *cover], reason="MEDIA_NOT_ALLOWED")
        if problems:
            raise media_error(problems)
        if cover:
            raise invalid(cover)

    def kind(self, media: Sequence[Media]) -> PublishKind:
        return PublishKind.VIDEO

    def options(self, req: CarouselRequest) -> PostOptions:
        assert isinstance(req, TikTokVideo)
        return video_options(req)

    async def before_recording(
        self, account: Account, token: str, req: CarouselRequest, options: PostOptions, *,
        validate_only: bool = False, media: Sequence[Media] = (),
    ) -> PostOptions:
        """The carousel's checks (creator_info for a direct post), then how TikTok will get
        the video, kept on the record from now on."""
        options = await super().before_recording(
            account, token, req, options, validate_only=validate_only, media=media
        )
        assert isinstance(options, TikTokOptions)
        return dataclasses.replace(options, source=video_source(media[0])) if media else options

    def _with_creator(self, creator: CreatorInfo, options: TikTokOptions, media: Sequence[Media]) -> TikTokOptions:
        """The creator's longest video, before init (TikTok's guidelines ask the app to enforce
        it); Duet and Stitch sent off when the creator turned them off."""
        duration = video_duration_seconds(media[0]) if media else None
        longest = creator.max_video_post_duration_sec
        if duration is not None and longest and duration > longest:
            raise FailedPrecondition(
                reason="TIKTOK_VIDEO_TOO_LONG",
                message=f"{MEDIA_FIELD}: the video is {duration:g} s long and this creator may post videos of at "
                f"most {longest} s (creator_info max_video_post_duration_sec); nothing was sent to TikTok",
                metadata={"field": MEDIA_FIELD, "max_video_post_duration_sec": str(longest)},
                field_violations=[FieldViolation(MEDIA_FIELD, f"must be at most {longest} s long")],
            )
        return dataclasses.replace(
            options,
            disable_duet=options.disable_duet or creator.duet_disabled,
            disable_stitch=options.disable_stitch or creator.stitch_disabled,
            max_video_post_duration_sec=longest or 0,
        )
