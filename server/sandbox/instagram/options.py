"""Post options on containers, checked as Graph checks them (docs/platforms.md, "Instagram
post options"): alt_text and user_tags on images, collaborators and location_id on the
carousel container and never on its items."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from server.sandbox.instagram import errors
from server.sandbox.instagram.errors import GraphError
from server.sandbox.instagram.params import Params, bool_param, int_param, str_param

ALT_TEXT_MAX = 1000
MAX_COLLABORATORS = 3
_USERNAME_RE = re.compile(r"[A-Za-z0-9._]{1,30}")
_DIGITS_RE = re.compile(r"[0-9]+")


def _bad_username(username: str) -> GraphError:
    # What Graph answers for "@name" (postiz #1547): code 110, subcode 2207018.
    return GraphError(110, f"Invalid user id: {username}", subcode=2207018,
                      user_title="Invalid username", user_msg=f"The username {username} could not be found.")


def _list(params: Params, name: str) -> list[Any]:
    """A list parameter: a JSON array (as text or as such) or, for names, comma-separated text."""
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise errors.param_error(f"Param {name} must be a JSON array.") from None
        else:
            value = [v.strip() for v in text.split(",") if v.strip()]
    if not isinstance(value, list):
        raise errors.param_error(f"Param {name} must be an array.")
    return value


def item_options(params: Params, *, is_item: bool) -> dict[str, Any]:
    """An IMAGE container's options: alt_text and user_tags; on an item, Graph refuses what
    belongs to the carousel container."""
    if is_item:
        for name in ("collaborators", "location_id"):
            if params.get(name) not in (None, "", []):
                raise errors.param_error(f"param {name} is not allowed for carousel child")
    options: dict[str, Any] = {}
    alt_text = str_param(params, "alt_text") or ""
    if len(alt_text) > ALT_TEXT_MAX:
        raise errors.param_error(f"Param alt_text must be at most {ALT_TEXT_MAX} characters long.")
    if alt_text:
        options["alt_text"] = alt_text
    tags = [_user_tag(tag) for tag in _list(params, "user_tags")]
    if tags:
        options["user_tags"] = tags
    return options


def _user_tag(tag: Any) -> dict[str, Any]:
    if not isinstance(tag, dict) or not isinstance(tag.get("username"), str):
        raise errors.param_error("Each user tag needs a username, x and y.")
    username = tag["username"]
    if not _USERNAME_RE.fullmatch(username):
        raise _bad_username(username)
    coords = []
    for axis in ("x", "y"):
        value = tag.get(axis)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise errors.param_error(f"User tag {axis} must be a float between 0 and 1.")
        try:
            number = float(value)
        except ValueError:
            raise errors.param_error(f"User tag {axis} must be a float between 0 and 1.") from None
        if not (math.isfinite(number) and 0.0 <= number <= 1.0):
            raise errors.param_error(f"User tag {axis} must be a float between 0 and 1.")
        coords.append(number)
    return {"username": username, "x": coords[0], "y": coords[1]}


def carousel_options(params: Params) -> dict[str, Any]:
    """A CAROUSEL container's options: collaborators (at most 3) and location_id; alt text is
    for images only."""
    if params.get("alt_text"):
        raise errors.param_error("param alt_text is only supported for images")
    options: dict[str, Any] = {}
    collaborators = [str(c) for c in _list(params, "collaborators")]
    if len(collaborators) > MAX_COLLABORATORS:
        raise errors.param_error(f"A post can have at most {MAX_COLLABORATORS} collaborators.")
    for username in collaborators:
        if not _USERNAME_RE.fullmatch(username):
            raise _bad_username(username)
    if collaborators:
        options["collaborators"] = collaborators
    location_id = str_param(params, "location_id") or ""
    if location_id and not _DIGITS_RE.fullmatch(location_id):
        raise errors.param_error(f"INVALID_LOCATION_ID: {location_id} is not the id of a Page with a location.")
    if location_id:
        options["location_id"] = location_id
    return options


def reel_options(params: Params) -> dict[str, Any]:
    """A REELS container's options: cover_url or thumb_offset (milliseconds), share_to_feed,
    and, as on a carousel, collaborators and location_id; user tags as on an image; alt text
    is for images only."""
    options = carousel_options(params)
    tags = [_user_tag(tag) for tag in _list(params, "user_tags")]
    if tags:
        options["user_tags"] = tags
    cover_url = str_param(params, "cover_url") or ""
    if cover_url:
        options["cover_url"] = cover_url
    if params.get("thumb_offset") not in (None, ""):
        offset = int_param(params, "thumb_offset", 0)
        if offset < 0:
            raise errors.param_error("Param thumb_offset must be a non-negative integer.")
        options["thumb_offset"] = offset
    if params.get("share_to_feed") not in (None, ""):
        options["share_to_feed"] = bool_param(params, "share_to_feed")
    return options
