"""What each platform takes in a carousel, checked on what is known of each item (its
inspected bytes when there are any, else what was registered) before any platform call.

Every problem of every item is found at once and named by item (`media_ids[3]`). The
numbers are the limits table's (server/domain/limits.py), each with its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

from server.domain.errors import DomainError, FailedPrecondition, FieldViolation, invalid
from server.domain.limits import INSTAGRAM, TIKTOK
from server.domain.models import Inspection, InspectionOutcome, Media, MediaKind, Storage

_FORMAT_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/gif": "GIF",
    "image/mpo": "MPO (multi-picture JPEG)",
    "image/heic": "HEIC",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}


# Problems of where an item is hosted, and the storage each names in ErrorInfo metadata.
_HOSTING = {"S3_HOSTED": "S3", "NOT_GCS_HOSTED": "OTHER"}


@dataclass(frozen=True)
class MediaProblem:
    """One reason one carousel item cannot be published. `precondition` problems are
    FAILED_PRECONDITION (the world must change: hosting, reachability); the others are
    INVALID_ARGUMENT (the item itself is wrong for the platform)."""

    index: int
    description: str
    reason: str
    precondition: bool = False
    # The field named instead of media_ids[index] (a single-media request's `media_id`).
    name: str = ""

    @property
    def field(self) -> str:
        return self.name or f"media_ids[{self.index}]"


def instagram_problems(media: Sequence[Media]) -> list[MediaProblem]:
    """Instagram carousel items: images, JPEG only, at most 8 MB, aspect ratio 4:5 to
    1.91:1, at least 320 px wide."""
    problems: list[MediaProblem] = []
    limits = INSTAGRAM
    for i, m in enumerate(media):
        failed = inspection_problem(i, m)
        if failed is not None:
            problems.append(failed)
            continue
        if m.kind != MediaKind.IMAGE:
            problems.append(
                MediaProblem(i, f"is a {m.kind.value.lower()}; Instagram carousels take images only", "NOT_AN_IMAGE")
            )
            continue
        if m.mime_type not in limits.image_mime_types:
            problems.append(MediaProblem(i, f"is {_format(m.mime_type)}; Instagram takes JPEG only", "FORMAT"))
        if m.size_bytes > limits.max_image_bytes:
            problems.append(MediaProblem(i, _too_many_bytes(m.size_bytes, limits.max_image_bytes, "Instagram"), "SIZE"))
        if m.width > 0 and m.height > 0:
            ratio = Fraction(m.width, m.height)
            low, high = Fraction(*limits.min_aspect), Fraction(*limits.max_aspect)
            if not low <= ratio <= high:
                problems.append(
                    MediaProblem(
                        i,
                        f"{m.width}x{m.height} is {float(ratio):.2f}:1; Instagram takes aspect ratios from "
                        f"4:5 ({float(low):.2f}:1) to {float(high):.2f}:1",
                        "ASPECT_RATIO",
                    )
                )
            if m.width < limits.min_width:
                problems.append(
                    MediaProblem(
                        i, f"is {m.width} px wide; Instagram takes images at least {limits.min_width} px wide", "WIDTH"
                    )
                )
    return problems


def tiktok_problems(media: Sequence[Media]) -> list[MediaProblem]:
    """TikTok photos: JPEG or WebP, at most 20 MB, the shorter side at most 1080 px, pulled
    from Google Cloud Storage only."""
    problems: list[MediaProblem] = []
    limits = TIKTOK
    for i, m in enumerate(media):
        hosting = _tiktok_hosting_problem(i, m)
        if hosting is not None:
            problems.append(hosting)
        failed = inspection_problem(i, m)
        if failed is not None:
            problems.append(failed)
            continue
        if m.kind != MediaKind.IMAGE or m.mime_type not in limits.image_mime_types:
            problems.append(
                MediaProblem(i, f"is {m.mime_type or 'of unknown type'}; TikTok carousels take JPEG or WebP "
                             "images only", "FORMAT")
            )
            continue
        if m.size_bytes > limits.max_image_bytes:
            problems.append(MediaProblem(i, _too_many_bytes(m.size_bytes, limits.max_image_bytes, "TikTok"), "SIZE"))
        if m.width > 0 and m.height > 0 and min(m.width, m.height) > limits.max_short_side:
            problems.append(
                MediaProblem(
                    i,
                    f"{m.width}x{m.height}: the shorter side is {min(m.width, m.height)} px; TikTok takes at most "
                    f"{limits.max_short_side} px on the shorter side (picture_size_check_failed)",
                    "PICTURE_SIZE",
                )
            )
    return problems


def inspection_problem(index: int, media: Media) -> MediaProblem | None:
    """The item's failed inspection as a problem; None when it was read or never inspected."""
    return failed_inspection_problem(index, media.inspection)


def failed_inspection_problem(index: int, inspection: Inspection | None) -> MediaProblem | None:
    """A failed inspection (of an item, or of another URL) as a problem; None when it was
    read or never made."""
    if inspection is None or inspection.ok:
        return None
    detail = inspection.detail or inspection.outcome.value.lower()
    if inspection.outcome == InspectionOutcome.UNREACHABLE:
        return MediaProblem(index, f"cannot be fetched: {detail}", "UNREACHABLE", precondition=True)
    if inspection.outcome == InspectionOutcome.REFUSED:
        return MediaProblem(index, f"URL refused: {detail}", "URL_REFUSED")
    if inspection.outcome == InspectionOutcome.TOO_LARGE:
        return MediaProblem(index, f"is too large to inspect: {detail}", "TOO_LARGE")
    return MediaProblem(index, f"is not an image: {detail}", "NOT_AN_IMAGE")


def media_error(problems: Sequence[MediaProblem]) -> DomainError:
    """One error naming every problem: INVALID_ARGUMENT (reason MEDIA_NOT_ALLOWED) when any
    item is wrong in itself, else FAILED_PRECONDITION (MEDIA_HOSTING_NOT_SUPPORTED when
    every problem is hosting, MEDIA_UNREACHABLE when every one is reachability)."""
    violations = [FieldViolation(p.field, p.description, p.reason) for p in problems]
    if any(not p.precondition for p in problems):
        return invalid(violations, reason="MEDIA_NOT_ALLOWED")
    reasons = {p.reason for p in problems}
    if reasons <= _HOSTING.keys():
        reason = "MEDIA_HOSTING_NOT_SUPPORTED"
    elif reasons == {"UNREACHABLE"}:
        reason = "MEDIA_UNREACHABLE"
    else:
        reason = "MEDIA_NOT_AVAILABLE"
    fields = list(dict.fromkeys(p.field for p in problems))
    metadata = {"field": ",".join(fields)}
    if reasons == {"S3_HOSTED"}:  # one sentence for them all, as before inspection existed
        verb = "is" if len(fields) == 1 else "are"
        summary = f"{', '.join(fields)} {verb} S3-backed; TikTok carousels take GCS-hosted images only"
    else:
        summary = "; ".join(f"{p.field} {p.description}" for p in problems)
    if reasons & _HOSTING.keys():
        metadata["storage"] = ",".join(sorted({_HOSTING[r] for r in reasons & _HOSTING.keys()}))
        summary += ". Register GCS-hosted copies and publish those."
    return FailedPrecondition(reason=reason, message=summary, metadata=metadata, field_violations=violations)


def _tiktok_hosting_problem(index: int, media: Media) -> MediaProblem | None:
    if media.storage.value == TIKTOK.pull_storage:
        return None
    if media.storage == Storage.S3:
        text, reason = "is S3-backed; TikTok carousels take GCS-hosted images only", "S3_HOSTED"
    else:
        reason = "NOT_GCS_HOSTED"
        host = urlsplit(media.url).hostname or media.url
        text = (
            f"is hosted on {host}; TikTok carousels take GCS-hosted images only "
            "(gs://BUCKET/OBJECT or https://storage.googleapis.com/BUCKET/OBJECT)"
        )
    return MediaProblem(index, text, reason, precondition=True)


def _format(mime_type: str) -> str:
    if not mime_type:
        return "of unknown type"
    name = _FORMAT_NAMES.get(mime_type)
    return f"{name} ({mime_type})" if name else mime_type


def _too_many_bytes(size: int, limit: int, platform: str) -> str:
    return f"is {size:,} bytes; {platform} takes at most {limit:,} bytes ({limit // 1_000_000} MB)"
