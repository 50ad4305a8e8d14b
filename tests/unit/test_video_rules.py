"""The Reel and TikTok video limits (server/domain/video_rules.py): each at its edge, every
problem at once, each naming the request's field; unknown facts are not held against a video."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media_rules import MediaProblem, media_error
from server.domain.models import Inspection, InspectionOutcome, Media, MediaKind, Storage, VideoFacts
from server.domain.video_rules import cover_problems, reel_problems, tiktok_video_problems

REEL = VideoFacts("mp4", 12_000, 1080, 1920, 30.0, "h264", "aac", 4_000_000, 65_536)


def video(facts: VideoFacts | None = REEL, **fields: object) -> Media:
    values: dict[str, object] = {
        "id": "m1", "workspace_id": "w", "url": "https://cdn.example/v.mp4", "mime_type": "video/mp4",
        "kind": MediaKind.VIDEO, "storage": Storage.OTHER, "width": 0, "height": 0, "size_bytes": 0,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "video": facts,
    }
    values.update(fields)
    return Media(**values)  # type: ignore[arg-type]


def with_facts(**changes: object) -> Media:
    return video(dataclasses.replace(REEL, **changes))  # type: ignore[arg-type]


def reasons(problems: list[MediaProblem]) -> list[str]:
    assert all(p.field == "media_id" for p in problems)
    return [p.reason for p in problems]


def test_the_limits_are_the_documented_ones() -> None:
    assert INSTAGRAM.reel_containers == ("mp4", "mov") and INSTAGRAM.reel_video_codecs == ("h264", "hevc")
    assert (INSTAGRAM.reel_min_fps, INSTAGRAM.reel_max_fps, INSTAGRAM.reel_max_width) == (23, 60, 1920)
    assert (INSTAGRAM.reel_min_duration_ms, INSTAGRAM.reel_max_duration_ms) == (3_000, 900_000)
    assert INSTAGRAM.reel_max_bytes == 300_000_000
    assert TIKTOK.video_containers == ("mp4", "webm", "mov")
    assert TIKTOK.video_codecs == ("h264", "hevc", "vp8", "vp9")
    assert (TIKTOK.video_min_side, TIKTOK.video_max_side, TIKTOK.video_max_duration_ms) == (360, 4096, 600_000)
    assert TIKTOK.video_max_bytes == 4_000_000_000


def test_a_9_16_h264_reel_passes_both_platforms() -> None:
    assert reel_problems(video()) == [] and tiktok_video_problems(video()) == []


@pytest.mark.parametrize(
    ("changes", "reason", "text"),
    [
        ({"duration_ms": 2_999}, "DURATION", "lasts 2.999 s; Instagram Reels take at least 3 s"),
        ({"duration_ms": 900_001}, "DURATION", "lasts 900.001 s; Instagram Reels take at most 15 min"),
        ({"frame_rate": 22.9}, "FRAME_RATE", "runs at 22.9 frames a second; Instagram Reels take 23 to 60"),
        ({"frame_rate": 60.1}, "FRAME_RATE", "Instagram Reels take 23 to 60"),
        ({"width": 1922, "height": 1080}, "WIDTH", "is 1922 px wide; Instagram Reels are at most 1920 px wide"),
        ({"width": 1000, "height": 10}, "ASPECT_RATIO", "1000x10 is 100:1; Instagram Reels take aspect ratios"),
        ({"video_codec": "vp9", "container": "mov"}, "VIDEO_CODEC", "is encoded as VP9; Instagram Reels take H.264"),
        ({"audio_codec": "opus"}, "AUDIO_CODEC", "has Opus sound; Instagram Reels take AAC sound (or none)"),
        ({"container": "webm"}, "FORMAT", "is WebM; Instagram Reels take MP4 or MOV"),
        ({"size_bytes": 300_000_001}, "SIZE", "is 300,000,001 bytes; Instagram Reels take at most 300,000,000"),
    ],
)
def test_a_reel_past_one_limit_is_refused_naming_it(changes, reason, text) -> None:
    problems = reel_problems(with_facts(**changes))
    assert reasons(problems) == [reason]
    assert text in problems[0].description


@pytest.mark.parametrize(
    "changes",
    [{"duration_ms": 3_000}, {"duration_ms": 900_000}, {"frame_rate": 23.0}, {"frame_rate": 60.0},
     {"width": 1920, "height": 1080}, {"width": 10, "height": 1000}, {"width": 1000, "height": 100},
     {"audio_codec": ""}, {"container": "mov", "video_codec": "hevc"}, {"size_bytes": 300_000_000}],
)
def test_a_reel_at_each_edge_passes(changes) -> None:
    assert reel_problems(with_facts(**changes)) == []


def test_every_reel_problem_is_named_at_once_and_is_invalid_argument() -> None:
    bad = with_facts(container="avi", video_codec="mpeg4", duration_ms=1_500, frame_rate=15.0)
    problems = reel_problems(bad)
    assert reasons(problems) == ["FORMAT", "VIDEO_CODEC", "FRAME_RATE", "DURATION"]
    error = media_error(problems)
    assert error.reason == "MEDIA_NOT_ALLOWED"
    assert [v.field for v in error.field_violations] == ["media_id"] * 4


@pytest.mark.parametrize(
    ("changes", "reason", "text"),
    [
        ({"container": "avi"}, "FORMAT", "is AVI; TikTok takes MP4, WebM or MOV videos"),
        ({"video_codec": "mpeg4"}, "VIDEO_CODEC", "is encoded as MPEG-4 Part 2; TikTok takes H.264, HEVC"),
        ({"frame_rate": 61.0}, "FRAME_RATE", "TikTok takes 23 to 60"),
        ({"width": 358, "height": 640}, "PICTURE_SIZE", "is 358x640; TikTok takes 360 to 4096 px on each side"),
        ({"width": 1080, "height": 4098}, "PICTURE_SIZE", "picture_size_check_failed"),
        ({"duration_ms": 600_001}, "DURATION", "TikTok takes at most 10 min"),
        ({"size_bytes": 4_000_000_001}, "SIZE", "TikTok takes at most 4,000,000,000 bytes"),
    ],
)
def test_a_tiktok_video_past_one_limit_is_refused_naming_it(changes, reason, text) -> None:
    problems = tiktok_video_problems(with_facts(**changes))
    assert reasons(problems) == [reason]
    assert text in problems[0].description


def test_tiktok_takes_webm_vp9_with_opus_and_a_1_second_clip() -> None:
    assert tiktok_video_problems(with_facts(container="webm", video_codec="vp9", audio_codec="opus",
                                            duration_ms=1_000)) == []


def test_without_facts_only_the_type_and_the_registered_size_are_judged() -> None:
    assert reel_problems(video(None)) == [] and tiktok_video_problems(video(None)) == []
    webm = video(None, mime_type="video/webm", size_bytes=300_000_001)
    assert reasons(reel_problems(webm)) == ["FORMAT", "SIZE"]
    assert tiktok_video_problems(webm) == []
    unknown = with_facts(frame_rate=0.0, duration_ms=0, width=0, height=0)
    assert reel_problems(unknown) == [] and tiktok_video_problems(unknown) == []


def test_an_image_or_a_failed_inspection_is_named_as_such() -> None:
    photo = video(None, kind=MediaKind.IMAGE, mime_type="image/jpeg")
    [problem] = reel_problems(photo)
    assert (problem.field, problem.reason) == ("media_id", "NOT_A_VIDEO")
    assert problem.description == "is an image (image/jpeg); Instagram Reels take videos only"
    gone = video(None, inspection=Inspection(InspectionOutcome.UNREACHABLE, detail="the host answered HTTP 404"))
    [problem] = tiktok_video_problems(gone, field="media_id")
    assert (problem.reason, problem.precondition) == ("UNREACHABLE", True)
    assert media_error([problem]).reason == "MEDIA_UNREACHABLE"
    junk = video(None, inspection=Inspection(InspectionOutcome.NOT_MEDIA, detail="an HTML page"))
    assert reel_problems(junk)[0].description == "is not a video: an HTML page"


def test_a_reels_cover_is_a_fetchable_jpeg_of_at_most_8_mb() -> None:
    jpeg = Inspection(InspectionOutcome.READ, "image/jpeg", 1080, 1920, 8_000_000)
    assert cover_problems(jpeg) == []
    [png] = cover_problems(dataclasses.replace(jpeg, mime_type="image/png", size_bytes=100))
    assert (png.field, png.reason, png.description) == ("cover_url", "FORMAT", "is image/png; a Reel's cover is a JPEG")
    [big] = cover_problems(dataclasses.replace(jpeg, size_bytes=8_000_001))
    assert big.reason == "SIZE" and "8,000,000" in big.description
    [gone] = cover_problems(Inspection(InspectionOutcome.UNREACHABLE, detail="the host answered HTTP 404"))
    assert (gone.field, gone.precondition) == ("cover_url", True)
    assert media_error([gone]).reason == "MEDIA_UNREACHABLE"
