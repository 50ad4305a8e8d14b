"""What Instagram would refuse in a post: the sandbox's image-fetch rules and caption limits.

The sandbox never fetches an image; its URL decides (README.md, "Image fetch").
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from server.sandbox.instagram.errors import GraphError

MIN_CHILDREN, MAX_CHILDREN = 2, 10
MAX_CAPTION_CHARS, MAX_HASHTAGS, MAX_MENTIONS = 2200, 30, 20
MIN_ASPECT, MAX_ASPECT = 0.8, 1.91

FETCH_FAILED, BAD_FORMAT, BAD_ASPECT = 2207052, 2207005, 2207009

_HASHTAG_RE = re.compile(r"(?<!\w)#\w+")
_MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")
_DIMENSIONS_RE = re.compile(r"(?<![0-9])([0-9]{1,5})[xX]([0-9]{1,5})(?![0-9])")


def fetch_failure(image_url: str) -> int | None:
    """The 22070xx subcode the sandbox's fetch rules give an image URL, or None if it is fine."""
    try:
        parts = urlsplit(image_url)
        host = parts.hostname or ""
    except ValueError:
        return FETCH_FAILED
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or host == "invalid"
        or host.endswith(".invalid")
        or "unreachable" in image_url.lower()
    ):
        return FETCH_FAILED
    name = parts.path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ("jpg", "jpeg", "png"):
        return BAD_FORMAT
    dimensions = _DIMENSIONS_RE.findall(name)
    if dimensions:
        width, height = (int(v) for v in dimensions[-1])
        if height == 0 or not MIN_ASPECT <= width / height <= MAX_ASPECT:
            return BAD_ASPECT
    return None


def check_caption(caption: str) -> None:
    """Raises the GraphError Instagram answers for a caption over its limits."""
    if len(caption) > MAX_CAPTION_CHARS:
        raise _caption_error(f"was {len(caption)} characters long (maximum {MAX_CAPTION_CHARS})")
    hashtags = len(_HASHTAG_RE.findall(caption))
    if hashtags > MAX_HASHTAGS:
        raise _caption_error(f"has {hashtags} hashtags (maximum {MAX_HASHTAGS})")
    mentions = len(_MENTION_RE.findall(caption))
    if mentions > MAX_MENTIONS:
        raise _too_many_mentions(mentions)


def _caption_error(detail: str) -> GraphError:
    return GraphError(
        36004,
        f"The caption is too long: {detail}",
        subcode=2207010,
        user_title="Caption too long",
        user_msg=f"The caption {detail}. Use at most 2200 characters, 30 hashtags and 20 @ tags.",
    )


def _too_many_mentions(count: int) -> GraphError:
    return GraphError(
        100,
        f"Cannot use more than {MAX_MENTIONS} tags per created media.",
        subcode=2207040,
        user_title="Too many tags",
        user_msg=f"The caption has {count} @ tags; the maximum is {MAX_MENTIONS}.",
    )
