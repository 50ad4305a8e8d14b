"""Request checks that need no platform call, returning every violation at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from server.domain.errors import FieldViolation, invalid
from server.domain.limits import INSTAGRAM, MAX_ID_LENGTH, MAX_MEDIA_IDS

_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


def canonical_id(value: str) -> str:
    """An id as this service stores and compares it: a UUID in any letter case (macOS's
    uuidgen prints capitals) is the same id in lowercase; other text is left as it is,
    for `id_violation` to refuse."""
    if len(value) == 36:
        lowered = value.lower()
        if is_uuid(lowered):
            return lowered
    return value


def is_uuid(value: str) -> bool:
    """True for a UUID in canonical form (lowercase, hyphenated): what `canonical_id` gives."""
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, AttributeError, TypeError):
        return False


def id_violation(field: str, value: str, what: str, *, required: bool = True) -> FieldViolation | None:
    """The one check of an id field (after `canonical_id`): `what` names the kind of id,
    e.g. "an account id"."""
    if not value:
        return FieldViolation(field, "is required") if required else None
    if len(value) > MAX_ID_LENGTH or not is_uuid(value):
        return FieldViolation(
            field, f"must be {what}: a UUID such as 0b3f6c1e-4a8d-4f0e-9c1a-2d7e5b8a9f10 (any letter case)"
        )
    return None


def check_id(field: str, value: str, what: str) -> str:
    """The id in canonical form, or INVALID_ARGUMENT naming the field."""
    value = canonical_id(value)
    violation = id_violation(field, value, what)
    if violation is not None:
        raise invalid([violation])
    return value


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
        violation = id_violation(f"media_ids[{i}]", media_id, "a media id from RegisterMedia")
        if violation is not None:
            violations.append(violation)
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


def text_violations(texts: Iterable[tuple[str, str]]) -> list[FieldViolation]:
    """The one rule every text a caller sends obeys, whatever its field: no NUL (U+0000) and
    no lone surrogate. No store keeps them alike (PostgreSQL refuses NUL in text, SQLite keeps
    it) and no platform takes them, so they are refused where a request enters, before any
    other check can misname them. `texts` are (field name, value) pairs, e.g.
    ("images[2].alt_text", "..."); every offending field is named."""
    violations = []
    for field, value in texts:
        if "\x00" in value:
            violations.append(FieldViolation(field, "must not contain the NUL character (U+0000)"))
        elif _LONE_SURROGATE.search(value):
            violations.append(FieldViolation(field, "must be valid Unicode text (it holds a lone surrogate)"))
    return violations


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
