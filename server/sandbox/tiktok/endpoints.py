"""What each TikTok endpoint does with its request: checks in TikTok's order, then the state.

Every function gets the caller (a creator) and the parsed body, and answers the response's
``data`` (or raises ApiError / OAuthError); api.py does the HTTP around them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from server.sandbox.media import ImageFacts
from server.sandbox.tiktok.accounts import Accounts, Creator
from server.sandbox.tiktok.errors import ApiError, OAuthError, invalid
from server.sandbox.tiktok.oauth import TikTokLogin
from server.sandbox.tiktok.parse import DIRECT_POST, parse_init
from server.sandbox.tiktok.publishes import Publishes, state_at
from server.sandbox.tiktok.rules import is_verified_url
from server.sandbox.tiktok.video import parse_video_init

_POST_CAP = "The daily post cap from API is reached for the current user."
_AVATAR_BASE = "https://p16-sign.tiktokcdn-us.com/sandbox-avatar"


def creator_info(creator: Creator) -> dict[str, Any]:
    """POST /v2/post/publish/creator_info/query/."""
    if not creator.can_post:
        # Documented as an intentional HTTP-200 error.
        raise ApiError(200, "spam_risk_too_many_posts", _POST_CAP)
    return {
        "creator_avatar_url": f"{_AVATAR_BASE}/{creator.open_id}.jpeg",
        "creator_username": creator.username,
        "creator_nickname": creator.nickname,
        "privacy_level_options": list(creator.privacy_level_options),
        "comment_disabled": creator.comment_disabled,
        "duet_disabled": creator.private,
        "stitch_disabled": creator.private,
        "max_video_post_duration_sec": 600,
    }


def init(
    publishes: Publishes,
    creator: Creator,
    body: dict[str, Any],
    verified: tuple[str, ...],
    facts: list[ImageFacts] | None = None,
) -> dict[str, Any]:
    """POST /v2/post/publish/content/init/ for photos; `verified`: the app's URL properties;
    `facts`: what downloading each photo shows (its pull happens after the answer)."""
    req = parse_init(body)
    _check_poster(creator, req.post_mode, req.privacy_level, req.post_info)
    unverified = [u for u in req.photo_images if not is_verified_url(u, verified)]
    if unverified:
        raise ApiError(
            403,
            "url_ownership_unverified",
            f"The URL prefix or domain of {unverified[0]} is not verified for this app.",
        )
    usable = facts if facts is not None and len(facts) == len(req.photo_images) else None
    return {"publish_id": publishes.accept(req, creator, usable).publish_id}


def video_init(
    publishes: Publishes, creator: Creator, body: dict[str, Any], post_mode: str, verified: tuple[str, ...],
    pulled: ImageFacts | None, origin: str,
) -> dict[str, Any]:
    """POST /v2/post/publish/video/init/ (DIRECT_POST) and /inbox/video/init/ (MEDIA_UPLOAD)."""
    req = parse_video_init(body, post_mode, verified)
    _check_poster(creator, req.post_mode, req.privacy_level, req.post_info)
    pub = publishes.accept_video(req, creator, pulled)
    data = {"publish_id": pub.publish_id}
    if pub.upload_id:
        data["upload_url"] = f"{origin}/upload/?upload_id={pub.upload_id}&upload_token={secrets.token_hex(16)}"
    return data


def status(publishes: Publishes, creator: Creator, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v2/post/publish/status/fetch/."""
    publish_id = body.get("publish_id")
    if not isinstance(publish_id, str) or not publish_id:
        raise invalid("publish_id is required and must be a string")
    pub = publishes.by_id.get(publish_id)
    if pub is None:
        raise ApiError(400, "invalid_publish_id", f"publish_id {publish_id} does not exist.")
    if pub.open_id != creator.open_id:
        raise ApiError(
            400,
            "token_not_authorized_for_specified_publish_id",
            "The access token is not authorized to fetch the status of this publish_id.",
        )
    state = state_at(pub, time.time())
    data: dict[str, Any] = {"status": state.status}
    if state.fail_reason is not None:
        data["fail_reason"] = state.fail_reason
    data["publicaly_available_post_id"] = state.post_ids  # sic: TikTok's spelling
    data["downloaded_bytes"] = state.downloaded_bytes
    if pub.source == "FILE_UPLOAD":
        data["uploaded_bytes"] = state.uploaded_bytes
    return data


def token(accounts: Accounts, login: TikTokLogin, form: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v2/oauth/token/ (form-encoded): ``grant_type=refresh_token`` or ``authorization_code``."""
    missing = [n for n in ("client_key", "client_secret", "grant_type") if n not in form]
    if missing:
        raise OAuthError("invalid_request", f"Missing required parameter: {missing[0]}.")
    if form["grant_type"] == "authorization_code":
        return login.exchange(form)
    if form["grant_type"] != "refresh_token":
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
    refresh_token = form.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise OAuthError("invalid_request", "Missing required parameter: refresh_token.")
    return accounts.refresh(refresh_token)


def _check_poster(creator: Creator, post_mode: str, privacy_level: str | None, post_info: dict[str, Any]) -> None:
    """What every init checks of its creator: they may post now, and a direct post's privacy
    level is theirs to use and not private if it is branded content."""
    if not creator.can_post:
        raise ApiError(403, "spam_risk_too_many_posts", _POST_CAP)
    if post_mode == DIRECT_POST:
        _check_privacy(privacy_level, creator)
        if post_info.get("brand_content_toggle") is True and privacy_level == "SELF_ONLY":
            # TikTok's guidelines: "Branded content visibility cannot be set to private".
            raise invalid("Branded content cannot be posted with privacy_level SELF_ONLY.")


def _check_privacy(privacy_level: str | None, creator: Creator) -> None:
    options = creator.privacy_level_options
    if privacy_level is None:
        message = "post_info.privacy_level is required for DIRECT_POST."
        raise ApiError(403, "privacy_level_option_mismatch", message)
    if privacy_level not in options:
        raise ApiError(
            403,
            "privacy_level_option_mismatch",
            f"privacy_level {privacy_level} is not one of the creator's options {list(options)}.",
        )
