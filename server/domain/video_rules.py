"""What Instagram (as a Reel) and TikTok take as a single video, checked on what is known of
it before any platform call: the inspected VideoFacts when the video was read, else what was
registered (type and size). Every problem is found at once, each naming the request's field
(`media_id`). The numbers are the limits table's (server/domain/limits.py), each with its
source; a fact that is unknown (0, or no facts at all) is not held against the video."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media_rules import MediaProblem, failed_inspection_problem, inspection_problem
from server.domain.models import Inspection, Media, MediaKind, VideoFacts

# FFmpeg's container names for the media types the inspector and registrations give.
_CONTAINERS = {
    "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
}
_CONTAINER_NAMES = {"mp4": "MP4", "mov": "MOV", "webm": "WebM", "matroska": "Matroska", "avi": "AVI"}
_CODEC_NAMES = {"h264": "H.264", "hevc": "HEVC (H.265)", "vp8": "VP8", "vp9": "VP9", "av1": "AV1",
                "mpeg4": "MPEG-4 Part 2", "aac": "AAC", "opus": "Opus", "mp3": "MP3", "vorbis": "Vorbis"}


@dataclasses.dataclass(frozen=True)
class _FileLimits:
    """What both platforms check of a video file, in their own words and numbers."""

    who: str  # "Instagram Reels take": the subject of every message
    containers: tuple[str, ...]
    containers_named: str  # the containers as the message names them
    max_bytes: int
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...] | None  # None: any sound, or none
    min_fps: float
    max_fps: float
    min_duration_ms: int
    max_duration_ms: int


_REEL = _FileLimits(
    "Instagram Reels take", INSTAGRAM.reel_containers, "MP4 or MOV", INSTAGRAM.reel_max_bytes,
    INSTAGRAM.reel_video_codecs, INSTAGRAM.reel_audio_codecs, INSTAGRAM.reel_min_fps, INSTAGRAM.reel_max_fps,
    INSTAGRAM.reel_min_duration_ms, INSTAGRAM.reel_max_duration_ms,
)
_TIKTOK_VIDEO = _FileLimits(
    "TikTok takes", TIKTOK.video_containers, "MP4, WebM or MOV videos", TIKTOK.video_max_bytes,
    TIKTOK.video_codecs, None, TIKTOK.video_min_fps, TIKTOK.video_max_fps, 0, TIKTOK.video_max_duration_ms,
)


def _file_problems(media: Media, field: str, limits: _FileLimits) -> list[MediaProblem]:
    """Container, size, codecs, frame rate and duration: every problem of the file at once
    (the caller has found it a video that was read, or not read at all)."""
    who = limits.who
    problems: list[MediaProblem] = []
    facts = media.video
    container = facts.container if facts else _CONTAINERS.get(media.mime_type, "")
    if container and container not in limits.containers:
        problems.append(_problem(field, f"is {_name(container)}; {who} {limits.containers_named}", "FORMAT"))
    size = facts.size_bytes if facts and facts.size_bytes else media.size_bytes
    if size > limits.max_bytes:
        problems.append(_problem(field, _too_many_bytes(size, limits.max_bytes, who), "SIZE"))
    if facts is not None:
        problems += _codec_problems(facts, field, who, limits.video_codecs, limits.audio_codecs)
        problems += _rate_problems(facts, field, who, limits.min_fps, limits.max_fps)
        problems += _duration_problems(facts, field, who, limits.min_duration_ms, limits.max_duration_ms)
    return problems


def reel_problems(media: Media, field: str = "media_id") -> list[MediaProblem]:
    """A Reel: MP4 or MOV, H.264 or HEVC, AAC or no sound, 23-60 fps, at most 1920 px wide,
    aspect ratio 0.01:1 to 10:1, 3 s to 15 min, at most 300 MB."""
    base = _video_problem(media, field, _REEL.who)
    if base is not None:
        return [base]
    problems = _file_problems(media, field, _REEL)
    facts = media.video
    if facts is not None:
        if facts.width > INSTAGRAM.reel_max_width:
            problems.append(_problem(
                field, f"is {facts.width} px wide; Instagram Reels are at most {INSTAGRAM.reel_max_width} px wide",
                "WIDTH",
            ))
        if facts.width and facts.height:
            ratio = Fraction(facts.width, facts.height)
            low, high = Fraction(*INSTAGRAM.reel_min_aspect), Fraction(*INSTAGRAM.reel_max_aspect)
            if not low <= ratio <= high:
                problems.append(_problem(
                    field, f"{facts.width}x{facts.height} is {float(ratio):.3g}:1; {_REEL.who} aspect "
                    "ratios from 0.01:1 to 10:1 (9:16 recommended)", "ASPECT_RATIO",
                ))
    return problems


def tiktok_video_problems(media: Media, field: str = "media_id") -> list[MediaProblem]:
    """A TikTok video: MP4, WebM or MOV, H.264, H.265, VP8 or VP9, 23-60 fps, 360 to 4096 px
    a side, at most 4 GB and 10 minutes (the creator's own maximum is checked apart)."""
    base = _video_problem(media, field, _TIKTOK_VIDEO.who)
    if base is not None:
        return [base]
    problems = _file_problems(media, field, _TIKTOK_VIDEO)
    facts = media.video
    if facts is not None:
        sides = [s for s in (facts.width, facts.height) if s]
        if sides and not all(TIKTOK.video_min_side <= s <= TIKTOK.video_max_side for s in sides):
            problems.append(_problem(
                field, f"is {facts.width}x{facts.height}; {_TIKTOK_VIDEO.who} {TIKTOK.video_min_side} to "
                f"{TIKTOK.video_max_side} px on each side (picture_size_check_failed)", "PICTURE_SIZE",
            ))
    return problems


def cover_problems(cover: Inspection, field: str = "cover_url") -> list[MediaProblem]:
    """A Reel's cover image as its bytes show it: "JPEG, 8MB maximum" (IG User Media), and
    fetchable (unreachable is a precondition, as for media)."""
    failed = failed_inspection_problem(0, cover)
    if failed is not None:
        return [dataclasses.replace(failed, name=field)]
    problems = []
    if cover.mime_type not in INSTAGRAM.image_mime_types:
        shown = cover.mime_type or "of unknown type"
        problems.append(_problem(field, f"is {shown}; a Reel's cover is a JPEG", "FORMAT"))
    if cover.size_bytes > INSTAGRAM.max_image_bytes:
        problems.append(_problem(field, _too_many_bytes(cover.size_bytes, INSTAGRAM.max_image_bytes,
                                                        "a Reel's cover takes"), "SIZE"))
    return problems


def _video_problem(media: Media, field: str, who: str) -> MediaProblem | None:
    """A failed inspection, or not a video at all."""
    failed = inspection_problem(0, media)
    if failed is not None:
        description = failed.description.replace("is not an image", "is not a video")
        return MediaProblem(0, description, failed.reason, failed.precondition, name=field)
    if media.kind != MediaKind.VIDEO:
        return _problem(field, f"is an image ({media.mime_type}); {who} videos only",
                        "NOT_A_VIDEO")
    return None


def _codec_problems(
    facts: VideoFacts, field: str, who: str, video: tuple[str, ...], audio: tuple[str, ...] | None
) -> list[MediaProblem]:
    problems: list[MediaProblem] = []
    if facts.video_codec and facts.video_codec not in video:
        allowed = ", ".join(_name(c) for c in video)
        problems.append(_problem(
            field, f"is encoded as {_name(facts.video_codec)}; {who} {allowed} video", "VIDEO_CODEC"
        ))
    if audio is not None and facts.audio_codec and facts.audio_codec not in audio:
        allowed = ", ".join(_name(c) for c in audio)
        problems.append(_problem(
            field, f"has {_name(facts.audio_codec)} sound; {who} {allowed} sound (or none)", "AUDIO_CODEC"
        ))
    return problems


def _rate_problems(facts: VideoFacts, field: str, who: str, low: float, high: float) -> list[MediaProblem]:
    if facts.frame_rate and not low <= facts.frame_rate <= high:
        return [_problem(
            field, f"runs at {facts.frame_rate:g} frames a second; {who} {low:g} to {high:g}", "FRAME_RATE"
        )]
    return []


def _duration_problems(facts: VideoFacts, field: str, who: str, low: int, high: int) -> list[MediaProblem]:
    if not facts.duration_ms:
        return []
    if facts.duration_ms < low:
        return [_problem(field, f"lasts {_seconds(facts.duration_ms)}; {who} at least {_seconds(low)}",
                         "DURATION")]
    if facts.duration_ms > high:
        return [_problem(field, f"lasts {_seconds(facts.duration_ms)}; {who} at most {_seconds(high)}",
                         "DURATION")]
    return []


def _problem(field: str, description: str, reason: str) -> MediaProblem:
    return MediaProblem(0, description, reason, name=field)


def _name(codec_or_container: str) -> str:
    return _CODEC_NAMES.get(codec_or_container) or _CONTAINER_NAMES.get(codec_or_container) or codec_or_container


def _seconds(ms: int) -> str:
    if ms >= 60_000 and ms % 60_000 == 0:
        return f"{ms // 60_000} min"
    return f"{ms / 1000:g} s"


def _too_many_bytes(size: int, limit: int, who: str) -> str:
    return f"is {size:,} bytes; {who} at most {limit:,} bytes"
