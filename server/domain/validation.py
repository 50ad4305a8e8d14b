"""Request checks that need no platform call, returning every violation at once."""

from __future__ import annotations

import re
import uuid

from server.domain.errors import FieldViolation
from server.domain.limits import INSTAGRAM, MAX_MEDIA_IDS, MAX_REQUEST_ID_LENGTH, TIKTOK

_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


def is_uuid(value: str) -> bool:
    """True for a UUID in the canonical form this service issues (lowercase, hyphenated).
    Other spellings are refused rather than normalised: ids are compared as issued."""
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, AttributeError, TypeError):
        return False


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as TikTok (and JavaScript) count: an emoji counts 2."""
    return len(text.encode("utf-16-le")) // 2


def id_violations(field: str, value: str, what: str) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(field, "is required")]
    if not is_uuid(value):
        return [FieldViolation(field, f"must be {what} id (a lowercase UUID)")]
    return []


def request_id_violations(request_id: str) -> list[FieldViolation]:
    if request_id and (len(request_id) > MAX_REQUEST_ID_LENGTH or not is_uuid(request_id)):
        return [FieldViolation("request_id", "must be a UUID (AIP-155)")]
    return []


def media_ids_violations(media_ids: list[str], min_items: int, max_items: int, platform: str) -> list[FieldViolation]:
    count = len(media_ids)
    if count < min_items or count > max_items:
        return [
            FieldViolation(
                "media_ids",
                f"{platform} carousels take {min_items} to {max_items} items; got {count}",
            )
        ]
    violations = []
    for i, media_id in enumerate(media_ids[:MAX_MEDIA_IDS]):
        if not is_uuid(media_id):
            violations.append(FieldViolation(f"media_ids[{i}]", "must be a media id (a UUID) from RegisterMedia"))
    return violations


def instagram_caption_violations(caption: str) -> list[FieldViolation]:
    violations = []
    if len(caption) > INSTAGRAM.caption_max_chars:
        violations.append(
            FieldViolation(
                "caption", f"must be at most {INSTAGRAM.caption_max_chars} characters; got {len(caption)}"
            )
        )
    hashtags = len(_HASHTAG.findall(caption))
    if hashtags > INSTAGRAM.caption_max_hashtags:
        violations.append(
            FieldViolation("caption", f"must have at most {INSTAGRAM.caption_max_hashtags} hashtags; got {hashtags}")
        )
    mentions = len(_MENTION.findall(caption))
    if mentions > INSTAGRAM.caption_max_mentions:
        violations.append(
            FieldViolation("caption", f"must have at most {INSTAGRAM.caption_max_mentions} @mentions; got {mentions}")
        )
    return violations


def tiktok_text_violations(caption: str, description: str) -> list[FieldViolation]:
    violations = []
    units = utf16_units(caption)
    if units > TIKTOK.title_max_utf16:
        violations.append(
            FieldViolation(
                "caption",
                f"must be at most {TIKTOK.title_max_utf16} UTF-16 code units (an emoji counts 2); got {units}",
            )
        )
    units = utf16_units(description)
    if units > TIKTOK.description_max_utf16:
        violations.append(
            FieldViolation(
                "description",
                f"must be at most {TIKTOK.description_max_utf16} UTF-16 code units; got {units}",
            )
        )
    return violations
