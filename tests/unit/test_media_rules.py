"""Each platform's media rules (server/domain/media_rules.py), where they live: on media as
the domain builds them from an inspection (type, pixel size, bytes), at every edge of every
limit. Pure: no bytes, no store. The same rules on real image files made with Pillow and
read by the inspector: tests/integration/test_media_rules.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.commands import MediaDraft
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media import build_media
from server.domain.media_rules import MediaProblem, instagram_problems, media_error, tiktok_problems
from server.domain.models import Inspection, InspectionOutcome, Media

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def image(
    width: int = 1080, height: int = 1080, *, mime: str = "image/jpeg", size: int = 500_000,
    url: str = "gs://bucket/photo.jpg",
) -> Media:
    read = Inspection(InspectionOutcome.READ, mime, width, height, size, inspected_at=NOW)
    return build_media("m", "w", MediaDraft(url=url), NOW, read)


def reasons(problems: list[MediaProblem]) -> list[tuple[str, str]]:
    return [(p.field, p.reason) for p in problems]


# --- Instagram: JPEG only, at most 8 MB, 4:5 to 1.91:1, at least 320 px wide -------------------


def test_the_limits_are_instagrams() -> None:
    assert (INSTAGRAM.min_aspect, INSTAGRAM.max_aspect, INSTAGRAM.min_width) == ((4, 5), (191, 100), 320)
    assert INSTAGRAM.max_image_bytes == 8_000_000


@pytest.mark.parametrize(
    ("width", "height"), [(1080, 1350), (800, 1000), (400, 500), (1910, 1000), (3820, 2000), (1080, 1080), (320, 400)]
)
def test_instagram_takes_each_aspect_ratio_up_to_and_at_its_edges(width: int, height: int) -> None:
    assert instagram_problems([image(width, height)]) == []


@pytest.mark.parametrize(
    ("width", "height", "shown"),
    [
        (1080, 1351, "0.80:1"), (799, 1000, "0.80:1"), (1911, 1000, "1.91:1"), (3840, 2000, "1.92:1"),
        (1080, 1920, "0.56:1"),
    ],
)
def test_instagram_refuses_an_aspect_ratio_just_past_either_edge(width: int, height: int, shown: str) -> None:
    [problem] = instagram_problems([image(width, height)])
    assert problem.reason == "ASPECT_RATIO"
    assert problem.description == (
        f"{width}x{height} is {shown}; Instagram takes aspect ratios from 4:5 (0.80:1) to 1.91:1"
    )


def test_instagram_takes_exactly_8_mb_and_refuses_a_byte_more() -> None:
    assert instagram_problems([image(size=8_000_000)]) == []
    [problem] = instagram_problems([image(size=8_000_001)])
    assert (problem.reason, problem.description) == (
        "SIZE", "is 8,000,001 bytes; Instagram takes at most 8,000,000 bytes (8 MB)"
    )


def test_instagram_takes_320_px_wide_and_refuses_319() -> None:
    assert instagram_problems([image(320, 320)]) == []
    [problem] = instagram_problems([image(319, 319)])
    assert (problem.reason, problem.description) == (
        "WIDTH", "is 319 px wide; Instagram takes images at least 320 px wide"
    )


@pytest.mark.parametrize(("mime", "name"), [("image/png", "PNG"), ("image/webp", "WebP"), ("image/heic", "HEIC")])
def test_instagram_takes_jpeg_only(mime: str, name: str) -> None:
    [problem] = instagram_problems([image(mime=mime)])
    assert (problem.reason, problem.description) == ("FORMAT", f"is {name} ({mime}); Instagram takes JPEG only")


def test_instagram_refuses_a_video_and_names_every_problem_of_every_item_at_once() -> None:
    video = image(mime="video/mp4")
    problems = instagram_problems([image(), image(4032, 1000, mime="image/png"), video, image(319, 300, size=9**8)])
    assert reasons(problems) == [
        ("media_ids[1]", "FORMAT"), ("media_ids[1]", "ASPECT_RATIO"), ("media_ids[2]", "NOT_AN_IMAGE"),
        ("media_ids[3]", "SIZE"), ("media_ids[3]", "WIDTH"),
    ]
    error = media_error(problems)
    assert isinstance(error, InvalidArgument) and error.reason == "MEDIA_NOT_ALLOWED"
    assert [v.field for v in error.field_violations] == [p.field for p in problems]


def test_an_unknown_size_is_not_judged() -> None:
    assert instagram_problems([image(0, 0)]) == []
    assert tiktok_problems([image(0, 0)]) == []


# --- TikTok: JPEG or WebP, at most 20 MB, short side at most 1080 px, GCS only ------------------


def test_the_limits_are_tiktoks() -> None:
    assert (TIKTOK.max_short_side, TIKTOK.max_image_bytes, TIKTOK.pull_storage) == (1080, 20_000_000, "GCS")


@pytest.mark.parametrize(("width", "height"), [(1080, 1080), (1080, 5000), (5000, 1080), (320, 320)])
def test_tiktok_takes_a_shorter_side_up_to_1080_px(width: int, height: int) -> None:
    assert tiktok_problems([image(width, height)]) == []


@pytest.mark.parametrize(("width", "height"), [(1081, 1081), (1081, 5000), (5000, 1081)])
def test_tiktok_refuses_a_shorter_side_over_1080_px(width: int, height: int) -> None:
    [problem] = tiktok_problems([image(width, height)])
    assert problem.reason == "PICTURE_SIZE"
    assert f"the shorter side is {min(width, height)} px" in problem.description


def test_tiktok_takes_exactly_20_mb_and_refuses_a_byte_more() -> None:
    assert tiktok_problems([image(size=20_000_000)]) == []
    assert reasons(tiktok_problems([image(size=20_000_001)])) == [("media_ids[0]", "SIZE")]


@pytest.mark.parametrize(("mime", "ok"), [("image/jpeg", True), ("image/webp", True), ("image/png", False),
                                          ("video/mp4", False)])
def test_tiktok_takes_jpeg_and_webp_only(mime: str, ok: bool) -> None:
    assert (tiktok_problems([image(mime=mime)]) == []) is ok


@pytest.mark.parametrize(
    ("url", "reason", "storage"),
    [("s3://bucket/a.jpg", "S3_HOSTED", "S3"), ("https://cdn.example.com/a.jpg", "NOT_GCS_HOSTED", "OTHER")],
)
def test_tiktok_takes_gcs_only_and_says_so_as_a_precondition(url: str, reason: str, storage: str) -> None:
    problems = tiktok_problems([image(), image(url=url)])
    assert reasons(problems) == [("media_ids[1]", reason)]
    error = media_error(problems)
    assert isinstance(error, FailedPrecondition)
    assert (error.reason, error.metadata) == (
        "MEDIA_HOSTING_NOT_SUPPORTED", {"field": "media_ids[1]", "storage": storage}
    )
    assert tiktok_problems([image(url="https://storage.googleapis.com/bucket/a.jpg")]) == []


def test_a_wrong_item_among_hosting_problems_makes_the_error_invalid() -> None:
    problems = tiktok_problems([image(mime="image/png", url="https://cdn.example.com/a.png")])
    assert [p.reason for p in problems] == ["NOT_GCS_HOSTED", "FORMAT"]
    assert isinstance(media_error(problems), InvalidArgument)


@pytest.mark.parametrize(
    ("outcome", "reason", "error_reason", "precondition"),
    [
        (InspectionOutcome.UNREACHABLE, "UNREACHABLE", "MEDIA_UNREACHABLE", True),
        (InspectionOutcome.REFUSED, "URL_REFUSED", "MEDIA_NOT_ALLOWED", False),
        (InspectionOutcome.NOT_MEDIA, "NOT_AN_IMAGE", "MEDIA_NOT_ALLOWED", False),
        (InspectionOutcome.TOO_LARGE, "TOO_LARGE", "MEDIA_NOT_ALLOWED", False),
    ],
)
def test_a_failed_inspection_is_the_items_one_problem_on_both_platforms(
    outcome: InspectionOutcome, reason: str, error_reason: str, precondition: bool
) -> None:
    failed = Inspection(outcome, detail="why", inspected_at=NOW)
    bad = build_media("m", "w", MediaDraft(url="gs://b/a.jpg"), NOW, failed)
    for problems in (instagram_problems([image(), bad]), tiktok_problems([image(), bad])):
        assert reasons(problems) == [("media_ids[1]", reason)]
        assert problems[0].precondition is precondition
        assert media_error(problems).reason == error_reason


def test_a_failed_or_wrong_item_never_stops_the_items_after_it_from_being_judged() -> None:
    unreachable = build_media(
        "m", "w", MediaDraft(url="gs://b/a.jpg"), NOW,
        Inspection(InspectionOutcome.UNREACHABLE, detail="HTTP 404", inspected_at=NOW),
    )
    assert reasons(instagram_problems([unreachable, image(mime="video/mp4"), image(319, 300)])) == [
        ("media_ids[0]", "UNREACHABLE"), ("media_ids[1]", "NOT_AN_IMAGE"), ("media_ids[2]", "WIDTH"),
    ]
    assert reasons(tiktok_problems([unreachable, image(mime="image/png"), image(size=20_000_001), image(1200, 1300)]))\
        == [("media_ids[0]", "UNREACHABLE"), ("media_ids[1]", "FORMAT"), ("media_ids[2]", "SIZE"),
            ("media_ids[3]", "PICTURE_SIZE")]


def test_tiktok_says_what_it_refused_and_why() -> None:
    assert [p.description for p in tiktok_problems([image(mime="image/png"), image(size=20_000_001)])] == [
        "is image/png; TikTok carousels take JPEG or WebP images only",
        "is 20,000,001 bytes; TikTok takes at most 20,000,000 bytes (20 MB)",
    ]


@pytest.mark.parametrize(("width", "height"), [(0, 5000), (5000, 0)])
def test_a_size_known_on_one_side_only_is_not_judged(width: int, height: int) -> None:
    assert instagram_problems([image(width, height)]) == []
    assert tiktok_problems([image(width, height)]) == []


def test_a_one_pixel_image_is_judged_like_any_other() -> None:
    assert reasons(instagram_problems([image(1, 1)])) == [("media_ids[0]", "WIDTH")]
