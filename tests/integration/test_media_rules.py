"""Each platform's media rules (server/domain/media_rules.py), on real image bytes: files made
with Pillow, read by the inspector's header reader, turned into Media by the domain. Pure:
no network, no store."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from server.adapters.media_fetch import identify
from server.domain.commands import MediaDraft
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.media import build_media
from server.domain.media_rules import instagram_problems, media_error, tiktok_problems
from server.domain.models import Inspection, InspectionOutcome, Media

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def image_bytes(fmt: str, width: int, height: int, pad_to: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(out, fmt)
    data = out.getvalue()
    return data + b"\x00" * max(pad_to - len(data), 0)


def media(
    fmt: str = "JPEG", width: int = 1080, height: int = 1080, *, pad_to: int = 0,
    url: str = "gs://bucket/photo.jpg",
) -> Media:
    """A media item registered from `url` whose bytes are a real `fmt` image."""
    data = image_bytes(fmt, width, height, pad_to)
    inspection = identify(data, len(data), complete=True)
    assert inspection.ok, inspection
    return build_media("m", "w", MediaDraft(url=url), NOW, inspection)


def failed(outcome: InspectionOutcome, detail: str, url: str = "gs://bucket/photo.jpg") -> Media:
    return build_media("m", "w", MediaDraft(url=url), NOW, Inspection(outcome, detail=detail, inspected_at=NOW))


def fields(problems) -> dict[str, str]:
    return {p.field: p.description for p in problems}


# --- Instagram: JPEG only, at most 8 MB, 4:5 to 1.91:1, at least 320 px wide -------------------


def test_instagram_takes_a_good_jpeg_carousel() -> None:
    assert instagram_problems([media(), media("JPEG", 1080, 1350), media("JPEG", 1910, 1000)]) == []


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_instagram_refuses_every_format_but_jpeg_by_its_bytes(fmt: str) -> None:
    problems = instagram_problems([media(), media(fmt, url="gs://bucket/named-like-a.jpg")])
    assert list(fields(problems)) == ["media_ids[1]"]
    assert "Instagram takes JPEG only" in problems[0].description
    assert problems[0].reason == "FORMAT"


def test_a_png_named_jpg_is_a_png() -> None:
    item = media("PNG", url="https://cdn.example.com/photo.jpg")
    assert item.mime_type == "image/png"  # the bytes decide, not the extension
    assert "PNG (image/png)" in instagram_problems([item])[0].description


def test_instagram_refuses_over_8_mb_and_takes_exactly_8_mb() -> None:
    limit = INSTAGRAM.max_image_bytes
    assert limit == 8_000_000
    assert instagram_problems([media(pad_to=limit)]) == []
    problems = instagram_problems([media(pad_to=limit + 1)])
    assert fields(problems) == {"media_ids[0]": "is 8,000,001 bytes; Instagram takes at most 8,000,000 bytes (8 MB)"}


@pytest.mark.parametrize(
    ("width", "height", "text"),
    [
        (4032, 1000, "4032x1000 is 4.03:1"),
        (1080, 1920, "1080x1920 is 0.56:1"),
        (1080, 1351, "1080x1351 is 0.80:1"),  # just under 4:5
        (1911, 1000, "1911x1000 is 1.91:1"),  # just over 1.91:1 (1.911)
    ],
)
def test_instagram_refuses_aspect_ratios_outside_4_5_to_1_91(width: int, height: int, text: str) -> None:
    problems = instagram_problems([media("JPEG", width, height)])
    assert len(problems) == 1
    assert problems[0].description.startswith(text)
    assert "4:5 (0.80:1) to 1.91:1" in problems[0].description


@pytest.mark.parametrize(("width", "height"), [(1080, 1350), (1910, 1000), (4032, 3024), (320, 400)])
def test_instagram_takes_the_edges_of_the_range(width: int, height: int) -> None:
    assert instagram_problems([media("JPEG", width, height)]) == []


def test_instagram_refuses_images_narrower_than_320_px() -> None:
    assert fields(instagram_problems([media("JPEG", 319, 319)])) == {
        "media_ids[0]": "is 319 px wide; Instagram takes images at least 320 px wide"
    }


def test_instagram_names_every_problem_of_every_item_at_once() -> None:
    carousel = [media(), media("PNG", 4032, 1000), media(), media("JPEG", 1080, 1920, pad_to=9_000_000)]
    problems = instagram_problems(carousel)
    assert [(p.field, p.reason) for p in problems] == [
        ("media_ids[1]", "FORMAT"),
        ("media_ids[1]", "ASPECT_RATIO"),
        ("media_ids[3]", "SIZE"),
        ("media_ids[3]", "ASPECT_RATIO"),
    ]
    error = media_error(problems)
    assert isinstance(error, InvalidArgument)
    assert error.reason == "MEDIA_NOT_ALLOWED"
    assert "media_ids[3]: 1080x1920 is 0.56:1" in error.message


def test_instagram_refuses_a_video_by_its_bytes() -> None:
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    item = build_media("m", "w", MediaDraft(url="gs://b/clip.jpg"), NOW, identify(video, 1000, False))
    assert item.mime_type == "video/mp4"
    assert "images only" in instagram_problems([item])[0].description


# --- TikTok: JPEG or WebP, at most 20 MB, short side at most 1080 px, GCS only ------------------


def test_tiktok_takes_jpeg_and_webp_from_gcs() -> None:
    carousel = [media(), media("WEBP", 1080, 1920, url="https://storage.googleapis.com/b/p.webp")]
    assert tiktok_problems(carousel) == []


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_tiktok_refuses_other_formats(fmt: str) -> None:
    problems = tiktok_problems([media(), media(fmt)])
    assert fields(problems) == {
        "media_ids[1]": f"is image/{fmt.lower()}; TikTok carousels take JPEG or WebP images only"
    }


def test_tiktok_refuses_a_shorter_side_over_1080_px() -> None:
    assert TIKTOK.max_short_side == 1080
    assert tiktok_problems([media("JPEG", 1080, 5000)]) == []
    problems = tiktok_problems([media("JPEG", 1086, 1448), media("WEBP", 1254, 1254)])
    assert fields(problems) == {
        "media_ids[0]": "1086x1448: the shorter side is 1086 px; TikTok takes at most 1080 px on the shorter side "
        "(picture_size_check_failed)",
        "media_ids[1]": "1254x1254: the shorter side is 1254 px; TikTok takes at most 1080 px on the shorter side "
        "(picture_size_check_failed)",
    }


def test_tiktok_refuses_over_20_mb() -> None:
    assert tiktok_problems([media(pad_to=20_000_000)]) == []
    assert fields(tiktok_problems([media(pad_to=20_000_001)])) == {
        "media_ids[0]": "is 20,000,001 bytes; TikTok takes at most 20,000,000 bytes (20 MB)"
    }


@pytest.mark.parametrize(
    ("url", "storage", "text"),
    [
        ("s3://bucket/a.jpg", "S3", "is S3-backed"),
        ("https://bucket.s3.amazonaws.com/a.jpg", "S3", "is S3-backed"),
        ("https://cdn.example.com/a.jpg", "OTHER", "is hosted on cdn.example.com"),
    ],
)
def test_tiktok_refuses_anything_but_gcs_as_a_precondition(url: str, storage: str, text: str) -> None:
    problems = tiktok_problems([media(), media(url=url)])
    assert list(fields(problems)) == ["media_ids[1]"]
    assert problems[0].description.startswith(text)
    error = media_error(problems)
    assert isinstance(error, FailedPrecondition)
    assert error.reason == "MEDIA_HOSTING_NOT_SUPPORTED"
    assert error.metadata == {"field": "media_ids[1]", "storage": storage}


def test_tiktok_names_hosting_and_format_together_as_invalid() -> None:
    problems = tiktok_problems([media("PNG", url="https://cdn.example.com/a.png")])
    assert [p.reason for p in problems] == ["NOT_GCS_HOSTED", "FORMAT"]
    assert isinstance(media_error(problems), InvalidArgument)  # any wrong item makes it INVALID_ARGUMENT


# --- failed inspections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "error_type", "reason", "text"),
    [
        (
            InspectionOutcome.UNREACHABLE, FailedPrecondition, "MEDIA_UNREACHABLE",
            "cannot be fetched: the host answered HTTP 404",
        ),
        (InspectionOutcome.REFUSED, InvalidArgument, "MEDIA_NOT_ALLOWED", "URL refused: 10.0.0.1 is a private address"),
        (InspectionOutcome.NOT_MEDIA, InvalidArgument, "MEDIA_NOT_ALLOWED", "is not an image: an HTML page"),
        (InspectionOutcome.TOO_LARGE, InvalidArgument, "MEDIA_NOT_ALLOWED", "is too large to inspect: a JPEG file"),
    ],
)
def test_a_failed_inspection_refuses_the_item_on_both_platforms(outcome, error_type, reason, text) -> None:
    detail = text.split(": ", 1)[1]
    bad = failed(outcome, detail)
    for problems in (instagram_problems([media(), bad]), tiktok_problems([media(), bad])):
        assert fields(problems) == {"media_ids[1]": text}
        error = media_error(problems)
        assert isinstance(error, error_type)
        assert error.reason == reason
        assert "media_ids[1]" in error.message


def test_media_never_inspected_are_judged_on_what_was_registered() -> None:
    # DISTRIBUTION_MEDIA_FETCH=off: the extension and the caller are believed.
    png = build_media("m", "w", MediaDraft(url="gs://b/a.png"), NOW)
    given = build_media("m", "w", MediaDraft(url="gs://b/a.jpg", width=2000, height=500), NOW)
    assert [p.reason for p in instagram_problems([png, given])] == ["FORMAT", "ASPECT_RATIO"]
