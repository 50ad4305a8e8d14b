"""What each Graph endpoint does with its parameters: checks in Graph's order, then the state.

Every function takes the merged request parameters and answers the response body (or
raises GraphError); api.py routes the calls here.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from typing import Any

from server.sandbox.instagram import errors
from server.sandbox.instagram.config import DAY
from server.sandbox.instagram.options import carousel_options, item_options, reel_options
from server.sandbox.instagram.params import (
    Fields,
    Params,
    bool_param,
    id_list_param,
    int_param,
    parse_fields,
    str_param,
)
from server.sandbox.instagram.rules import check_caption, fetch_failure, reel_failure
from server.sandbox.instagram.state import Container, InstagramState, Media
from server.sandbox.media import ClipFacts, ImageFacts, convention_clip, convention_facts

# Instagram Login long-lived tokens: valid 60 days, refreshed for another 60.
LONG_LIVED_TOKEN_SECONDS = 5184000
MAX_IDS = 50
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 25, 100

CONTAINER_FIELDS = frozenset({"id", "status_code", "status"})
MEDIA_FIELDS = frozenset(
    {
        "id",
        "media_type",
        "media_product_type",
        "permalink",
        "shortcode",
        "timestamp",
        "caption",
        "username",
        "children",
        "media_url",
        "owner",
        "like_count",
        "comments_count",
        "is_comment_enabled",
    }
)
LIMIT_FIELDS = frozenset({"quota_usage", "config"})
COMMENT_FIELDS = frozenset({"id", "text", "timestamp", "from", "username"})
# Comments: Meta documents no limit; a secondary source gives 2200 characters.
MAX_COMMENT_CHARS = 2200
# Container parameters with a meaning here; the others are kept as the container's "extra".
_CONTAINER_PARAMS = frozenset(
    {"media_type", "image_url", "video_url", "is_carousel_item", "caption", "children", "access_token"}
)
_TOKEN_ALPHABET = string.ascii_letters + string.digits


# --- writes ----------------------------------------------------------------------------------


def create_container(
    state: InstagramState, ig_user_id: str, params: Params, facts: ImageFacts | None = None,
    clip: ClipFacts | None = None,
) -> dict[str, Any]:
    """POST /{ig-user-id}/media: an IMAGE (maybe a carousel item), a REELS or a CAROUSEL
    container. `facts`: what downloading image_url shows, `clip` what downloading a Reel's
    video_url shows (default: the URL convention's answer)."""
    state.user(ig_user_id, "post")
    state.check_container_quota(ig_user_id)
    media_type = str_param(params, "media_type") or "IMAGE"
    if media_type == "CAROUSEL":
        container = _new_carousel(state, ig_user_id, params)
    elif media_type == "IMAGE":
        container = _new_image(state, ig_user_id, params, facts)
    elif media_type == "REELS":
        container = _new_reel(state, ig_user_id, params, clip)
    else:
        raise errors.param_error(
            f"The media type {media_type} is unknown (the sandbox emulates IMAGE, REELS and "
            "CAROUSEL containers only)",
            subcode=2207023,
        )
    return {"id": container.id}


def _new_image(state: InstagramState, ig_user_id: str, params: Params, facts: ImageFacts | None) -> Container:
    image_url = str_param(params, "image_url")
    if not image_url:
        raise errors.param_error("The parameter image_url is required.")
    is_item = bool_param(params, "is_carousel_item")
    caption = str_param(params, "caption")
    if is_item:
        for name in ("caption", "location_id"):
            if str_param(params, name):
                raise errors.param_error(
                    f"The parameter {name} is not supported on carousel items."
                )
    options = item_options(params, is_item=is_item)
    if caption:
        check_caption(caption)
    return state.add_container(
        ig_user_id,
        "IMAGE",
        is_item=is_item,
        image_url=image_url,
        children=[],
        caption=caption,
        failure=fetch_failure(image_url, facts or convention_facts(image_url)),
        extra={**_extra(params), **options},
    )


def _new_reel(state: InstagramState, ig_user_id: str, params: Params, clip: ClipFacts | None) -> Container:
    """A REELS container: its video is downloaded and processed for reel_processing_delay,
    then FINISHED, or ERROR with the subcode the video earns (rules.reel_failure)."""
    video_url = str_param(params, "video_url")
    if not video_url:
        raise errors.param_error("The parameter video_url is required.")
    if bool_param(params, "is_carousel_item"):
        raise errors.param_error("Reels cannot appear in carousels.")
    if params.get("image_url"):
        raise errors.param_error("The parameter image_url is not supported for REELS; use video_url.")
    caption = str_param(params, "caption")
    if caption:
        check_caption(caption)
    options = reel_options(params)
    return state.add_container(
        ig_user_id,
        "REELS",
        is_item=False,
        image_url=None,
        children=[],
        caption=caption,
        failure=reel_failure(video_url, options.get("thumb_offset"), clip or convention_clip(video_url)),
        extra={**_extra(params), **options, "video_url": video_url},
        processing=state.config.reel_processing_delay,
    )


def _new_carousel(state: InstagramState, ig_user_id: str, params: Params) -> Container:
    if bool_param(params, "is_carousel_item"):
        raise errors.param_error("A carousel container cannot be a carousel item.")
    children = id_list_param(params, "children")
    state.check_carousel_items(ig_user_id, children)
    caption = str_param(params, "caption")
    options = carousel_options(params)
    if caption:
        check_caption(caption)
    return state.add_container(
        ig_user_id,
        "CAROUSEL",
        is_item=False,
        image_url=None,
        children=children,
        caption=caption,
        failure=None,
        extra={**_extra(params), **options},
    )


def _extra(params: Params) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in _CONTAINER_PARAMS}


def media_publish(state: InstagramState, ig_user_id: str, params: Params) -> dict[str, Any]:
    """POST /{ig-user-id}/media_publish."""
    state.user(ig_user_id, "post")
    creation_id = str_param(params, "creation_id")
    if not creation_id:
        raise errors.param_error("The parameter creation_id is required.")
    return {"id": state.publish(ig_user_id, creation_id).id}


def create_comment(state: InstagramState, media_id: str, params: Params) -> dict[str, Any]:
    """POST /{ig-media-id}/comments?message=...: a comment by the media's owner."""
    message = str_param(params, "message")
    if not message:
        raise errors.param_error("The parameter message is required.")
    if len(message) > MAX_COMMENT_CHARS:
        raise errors.param_error(f"The comment is longer than {MAX_COMMENT_CHARS} characters.")
    return {"id": state.add_comment(media_id, message)["id"]}


def list_comments(state: InstagramState, media_id: str, params: Params) -> dict[str, Any]:
    """GET /{ig-media-id}/comments, oldest first (default fields: timestamp, text, id)."""
    fields = parse_fields(params.get("fields")) or {"timestamp": None, "text": None, "id": None}
    data = []
    for comment in state.comments_of(media_id):
        out: dict[str, Any] = {}
        for name in fields:
            if name not in COMMENT_FIELDS:
                raise errors.nonexisting_field(name, "IGComment")
            if name == "from":
                out[name] = {"id": comment["from_id"], "username": f"sandbox_{comment['from_id']}"}
            elif name == "username":
                out[name] = f"sandbox_{comment['from_id']}"
            else:
                out[name] = comment[name]
        out["id"] = comment["id"]
        data.append(out)
    return {"data": data}


def refresh_token(params: Params) -> dict[str, Any]:
    """GET /refresh_access_token?grant_type=ig_refresh_token: a new 60-day token.

    The token being refreshed was checked like any call's; it stays valid, as Instagram
    does not revoke it on refresh."""
    if params.get("grant_type") != "ig_refresh_token":
        raise errors.param_error("grant_type must be ig_refresh_token")
    return {
        "access_token": "IGQ" + "".join(random.choices(_TOKEN_ALPHABET, k=48)),
        "token_type": "bearer",
        "expires_in": LONG_LIVED_TOKEN_SECONDS,
    }


# --- reads -----------------------------------------------------------------------------------


def read_node(state: InstagramState, object_id: str, params: Params) -> dict[str, Any]:
    """GET /{container-id} or /{ig-media-id}."""
    return _render(state, object_id, parse_fields(params.get("fields")))


def batch_read(state: InstagramState, params: Params) -> dict[str, Any]:
    """GET /?ids=a,b: fails as a whole if any id is unknown."""
    ids = list(dict.fromkeys(id_list_param(params, "ids")))
    if not ids:
        raise errors.param_error("The parameter ids is required.")
    if len(ids) > MAX_IDS:
        raise errors.param_error(f"Too many IDs. Maximum: {MAX_IDS}. Provided: {len(ids)}.")
    missing = [object_id for object_id in ids if not state.is_object(object_id)]
    if missing:
        raise errors.param_error(
            f"Some of the aliases you requested do not exist: {','.join(missing)}"
        )
    fields = parse_fields(params.get("fields"))
    return {object_id: _render(state, object_id, fields) for object_id in ids}


def media_list(
    state: InstagramState, ig_user_id: str, params: Params, next_url: Callable[[str], str]
) -> dict[str, Any]:
    """GET /{ig-user-id}/media, newest first; `next_url(after)` is the next page's URL."""
    state.user(ig_user_id, "get")
    fields = parse_fields(params.get("fields"))
    limit = int_param(params, "limit", DEFAULT_LIST_LIMIT)
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    items = [m for m in state.posts[::-1] if state.media[m].ig_user_id == ig_user_id]
    start = 0
    after = str_param(params, "after")
    if after:
        cursor_id = _decode_cursor(after)
        if cursor_id not in items:
            raise errors.param_error("The after cursor is invalid.")
        start = items.index(cursor_id) + 1
    page = items[start : start + limit]
    data = [_render_media(state, state.media[m], fields) for m in page]
    result: dict[str, Any] = {"data": data}
    if page:
        paging: dict[str, Any] = {
            "cursors": {"before": _encode_cursor(page[0]), "after": _encode_cursor(page[-1])}
        }
        if start + limit < len(items):
            paging["next"] = next_url(_encode_cursor(page[-1]))
        result["paging"] = paging
    return result


def publishing_limit(state: InstagramState, ig_user_id: str, params: Params) -> dict[str, Any]:
    """GET /{ig-user-id}/content_publishing_limit; ``since`` is clamped to the last 24 h."""
    state.user(ig_user_id, "get")
    fields = parse_fields(params.get("fields")) or {"quota_usage": None}
    since = params.get("since")
    since_ts = float(int_param(params, "since", 0)) if since not in (None, "") else None
    entry: dict[str, Any] = {}
    for name in fields:
        if name not in LIMIT_FIELDS:
            raise errors.nonexisting_field(name, "ContentPublishingLimitResponse")
        if name == "quota_usage":
            entry[name] = state.quota_usage(ig_user_id, since_ts)
        else:
            entry[name] = {
                "quota_total": state.config.publish_quota,
                "quota_duration": int(DAY),
            }
    return {"data": [entry]}


def _render(state: InstagramState, object_id: str, fields: Fields) -> dict[str, Any]:
    if object_id in state.containers:
        return _render_container(state, state.containers[object_id], fields)
    if object_id in state.media:
        return _render_media(state, state.media[object_id], fields)
    raise errors.unsupported("get", object_id)


def _render_container(state: InstagramState, c: Container, fields: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    status_code = state.status_code(c)
    for name in fields:
        if name not in CONTAINER_FIELDS:
            raise errors.nonexisting_field(name, "ShadowIGMediaBuilder")
        if name == "status_code":
            out[name] = status_code
        elif name == "status":
            out[name] = state.status_text(c, status_code)
    out["id"] = c.id
    return out


def _render_media(state: InstagramState, m: Media, fields: Fields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in fields.items():
        if name not in MEDIA_FIELDS:
            raise errors.nonexisting_field(name, "IGMedia")
        value = _media_value(state, m, name, sub)
        if value is not None:
            out[name] = value
    out["id"] = m.id
    return out


def _media_value(state: InstagramState, m: Media, name: str, sub: Fields | None) -> Any:
    if name == "children":
        if not m.children:
            return None
        child_fields = sub or {"id": None}
        return {"data": [_render_media(state, state.media[c], child_fields) for c in m.children]}
    values: dict[str, Any] = {
        "id": m.id,
        "media_type": m.media_type,
        "media_product_type": "REELS" if m.media_type == "VIDEO" else "FEED",
        "permalink": m.permalink,
        "shortcode": m.shortcode,
        "timestamp": m.timestamp,
        "caption": m.caption or None,
        "username": f"sandbox_{m.ig_user_id}",
        "media_url": m.media_url,
        "owner": {"id": m.ig_user_id},
        "like_count": 0,
        "comments_count": len(m.comments),
        "is_comment_enabled": True,
    }
    return values[name]


def _encode_cursor(media_id: str) -> str:
    return base64.urlsafe_b64encode(media_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise errors.param_error("The after cursor is invalid.") from None
