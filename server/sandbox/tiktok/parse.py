"""The ``/v2/post/publish/content/init/`` body, checked field by field like TikTok does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.sandbox.tiktok.errors import invalid
from server.sandbox.tiktok.rules import utf16_units

DIRECT_POST = "DIRECT_POST"
MEDIA_UPLOAD = "MEDIA_UPLOAD"
POST_MODES = (DIRECT_POST, MEDIA_UPLOAD)

MAX_PHOTOS = 35
MAX_TITLE_UNITS = 90
MAX_DESCRIPTION_UNITS = 4000

_POST_INFO_FLAGS = (
    "disable_comment",
    "auto_add_music",
    "brand_content_toggle",
    "brand_organic_toggle",
)


@dataclass
class InitRequest:
    post_mode: str
    post_info: dict[str, Any]
    title: str
    description: str
    privacy_level: str | None
    photo_images: list[str]
    photo_cover_index: int
    is_aigc: bool


def parse_init(body: dict[str, Any]) -> InitRequest:
    """Validates a /content/init/ body; raises ApiError(400, invalid_params) naming the problem."""
    if body.get("media_type") != "PHOTO":
        raise invalid("media_type is required and must be PHOTO")
    post_mode = body.get("post_mode")
    if post_mode not in POST_MODES:
        raise invalid("post_mode is required and must be DIRECT_POST or MEDIA_UPLOAD")
    post_info = _object(body, "post_info")
    source_info = _object(body, "source_info")
    if source_info.get("source") != "PULL_FROM_URL":
        raise invalid("source_info.source must be PULL_FROM_URL (the only source for photos)")
    images = _photo_images(source_info)
    cover = _cover_index(source_info, len(images))
    title = _optional_str(post_info, "title", "post_info")
    description = _optional_str(post_info, "description", "post_info")
    _check_length(title, "post_info.title", MAX_TITLE_UNITS)
    _check_length(description, "post_info.description", MAX_DESCRIPTION_UNITS)
    privacy = post_info.get("privacy_level")
    if privacy is not None and not isinstance(privacy, str):
        raise invalid("post_info.privacy_level must be a string")
    for name in _POST_INFO_FLAGS:
        _optional_bool(post_info, name, "post_info")
    is_aigc = body.get("is_aigc")
    if is_aigc is not None and not isinstance(is_aigc, bool):
        raise invalid("is_aigc must be a boolean")
    return InitRequest(
        post_mode=post_mode,
        post_info=post_info,
        title=title,
        description=description,
        privacy_level=privacy,
        photo_images=images,
        photo_cover_index=cover,
        is_aigc=bool(is_aigc),
    )


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise invalid(f"{name} is required and must be an object")
    return value


def _optional_str(obj: dict[str, Any], name: str, path: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"{path}.{name} must be a string")
    return value


def _optional_bool(obj: dict[str, Any], name: str, path: str) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"{path}.{name} must be a boolean")
    return value


def _check_length(text: str, path: str, limit: int) -> None:
    units = utf16_units(text)
    if units > limit:
        raise invalid(f"{path} is {units} UTF-16 units long; photo posts allow at most {limit}")


def _photo_images(source_info: dict[str, Any]) -> list[str]:
    images = source_info.get("photo_images")
    if not isinstance(images, list) or not images:
        raise invalid("source_info.photo_images must be a non-empty list of URLs")
    if len(images) > MAX_PHOTOS:
        raise invalid(
            f"source_info.photo_images has {len(images)} photos; at most {MAX_PHOTOS} are allowed"
        )
    if not all(isinstance(url, str) and url for url in images):
        raise invalid("source_info.photo_images must contain only non-empty URL strings")
    return list(images)


def _cover_index(source_info: dict[str, Any], count: int) -> int:
    index = source_info.get("photo_cover_index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise invalid("source_info.photo_cover_index is required and must be an integer")
    if not 0 <= index < count:
        raise invalid(f"source_info.photo_cover_index {index} is out of range for {count} photos")
    return index
