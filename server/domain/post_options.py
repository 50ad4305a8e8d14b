"""Post options: their normal form and their checks, before any platform call.

Every check returns every violation at once, each naming the item
(`images[2].user_tags[0].x`, `collaborators[1]`). Limits and sources: limits.py.
"""

from __future__ import annotations

import dataclasses
import math
import re

from server.domain.commands import InstagramCarousel, InstagramMedia, TikTokCarousel, TikTokVideo
from server.domain.errors import FieldViolation
from server.domain.limits import INSTAGRAM
from server.domain.media import url_violations
from server.domain.models import MediaKind
from server.domain.options import DIRECT, ImageOptions, InstagramOptions, TikTokOptions, UserTag

_USERNAME = re.compile(r"[A-Za-z0-9._]+")
# Why a TikTok direct post is sent with disable_comment true though its request did not ask:
# a post cannot allow comments its creator turned off ("Allow Comment" greyed out).
COMMENTS_OFF_BY_CREATOR = "the creator turned comments off for their account (creator_info comment_disabled)"
_DIGITS = re.compile(r"[0-9]+")


def strip_at(username: str) -> str:
    """A username as Instagram takes it: without the leading "@" people type (Graph refuses
    "@name" as a collaborator: postiz #1547, #1405)."""
    return username.strip().removeprefix("@")


def normal_instagram(req: InstagramCarousel) -> InstagramCarousel:
    """The request with usernames in Instagram's form, and per-image options left out when
    none of them says anything (so "no options" has one form, in the record and in the
    fingerprints)."""
    images = tuple(
        dataclasses.replace(
            image, user_tags=tuple(dataclasses.replace(t, username=strip_at(t.username)) for t in image.user_tags)
        )
        for image in req.images
    )
    if all(image.empty for image in images):
        images = ()
    return dataclasses.replace(
        req,
        images=images,
        collaborators=tuple(strip_at(c) for c in req.collaborators),
        location_id=req.location_id.strip(),
    )


def _username_violation(field: str, username: str) -> FieldViolation | None:
    if not username:
        return FieldViolation(field, "must be an Instagram username; got an empty one")
    if len(username) > INSTAGRAM.username_max_chars or not _USERNAME.fullmatch(username):
        return FieldViolation(
            field,
            f"must be an Instagram username: letters, digits, '.' and '_', at most "
            f"{INSTAGRAM.username_max_chars} characters; got {username[:40]!r}",
        )
    return None


def _tag_violations(field: str, tag: UserTag) -> list[FieldViolation]:
    violations = []
    if (v := _username_violation(f"{field}.username", tag.username)) is not None:
        violations.append(v)
    for axis, value in (("x", tag.x), ("y", tag.y)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            violations.append(
                FieldViolation(f"{field}.{axis}", f"must be within 0.0 to 1.0 (a fraction of the image); got {value}")
            )
    return violations


def _image_violations(prefix: str, image: ImageOptions) -> list[FieldViolation]:
    """An image's options, their fields named after `prefix` ("images[2]." or "")."""
    violations = []
    if len(image.alt_text) > INSTAGRAM.alt_text_max_chars:
        violations.append(FieldViolation(
            f"{prefix}alt_text",
            f"must be at most {INSTAGRAM.alt_text_max_chars} characters; got {len(image.alt_text)}",
        ))
    if len(image.user_tags) > INSTAGRAM.max_user_tags_per_image:
        violations.append(FieldViolation(
            f"{prefix}user_tags",
            f"must tag at most {INSTAGRAM.max_user_tags_per_image} people per image; got {len(image.user_tags)}",
        ))
    seen: set[str] = set()
    for t, tag in enumerate(image.user_tags[: INSTAGRAM.max_user_tags_per_image * 2]):
        violations += _tag_violations(f"{prefix}user_tags[{t}]", tag)
        if tag.username and tag.username.lower() in seen:
            violations.append(FieldViolation(f"{prefix}user_tags[{t}].username", f"tags {tag.username} twice"))
        seen.add(tag.username.lower())
    return violations


def instagram_option_violations(req: InstagramCarousel) -> list[FieldViolation]:
    """Checks a request already in its normal form (`normal_instagram`)."""
    violations: list[FieldViolation] = []
    if req.images and len(req.images) != len(req.media_ids):
        violations.append(FieldViolation(
            "images",
            f"must be empty or have one entry per media id ({len(req.media_ids)}, in the same order); "
            f"got {len(req.images)}",
        ))
    for i, image in enumerate(req.images[: len(req.media_ids) or None]):
        violations += _image_violations(f"images[{i}].", image)
    return violations + _post_violations(req.collaborators, req.location_id, req.first_comment)


def _post_violations(collaborators: tuple[str, ...], location_id: str, first_comment: str) -> list[FieldViolation]:
    """The options of the post itself: collaborators, location, first comment."""
    violations: list[FieldViolation] = []
    if len(collaborators) > INSTAGRAM.max_collaborators:
        violations.append(FieldViolation(
            "collaborators",
            f"Instagram takes at most {INSTAGRAM.max_collaborators} collaborators; got {len(collaborators)}",
        ))
    seen: set[str] = set()
    for c, username in enumerate(collaborators[: INSTAGRAM.max_collaborators * 2]):
        if (v := _username_violation(f"collaborators[{c}]", username)) is not None:
            violations.append(v)
        elif username.lower() in seen:
            violations.append(FieldViolation(f"collaborators[{c}]", f"names {username} twice"))
        seen.add(username.lower())
    if location_id and (
        len(location_id) > INSTAGRAM.location_id_max_chars or not _DIGITS.fullmatch(location_id)
    ):
        violations.append(FieldViolation(
            "location_id", "must be the id of a Facebook Page with a location: digits only"
        ))
    if len(first_comment) > INSTAGRAM.first_comment_max_chars:
        violations.append(FieldViolation(
            "first_comment",
            f"must be at most {INSTAGRAM.first_comment_max_chars} characters; got {len(first_comment)}",
        ))
    elif first_comment and not first_comment.strip():
        violations.append(FieldViolation("first_comment", "must have some text besides spaces, or be left empty"))
    return violations


def normal_instagram_media(req: InstagramMedia) -> InstagramMedia:
    """`normal_instagram` for a single image or Reel."""
    tags = tuple(dataclasses.replace(t, username=strip_at(t.username)) for t in req.image.user_tags)
    return dataclasses.replace(
        req,
        image=dataclasses.replace(req.image, user_tags=tags),
        collaborators=tuple(strip_at(c) for c in req.collaborators),
        location_id=req.location_id.strip(),
        cover_url=req.cover_url.strip(),
    )


def instagram_media_option_violations(req: InstagramMedia) -> list[FieldViolation]:
    """A single image's or Reel's options, named as the request names them (`alt_text`,
    `user_tags[0].x`); whether each fits the media's kind is checked once it is known
    (`instagram_media_kind_violations`)."""
    violations = _image_violations("", req.image)
    violations += _post_violations(req.collaborators, req.location_id, req.first_comment)
    if req.cover_url:
        violations += url_violations(req.cover_url, "cover_url")
    if req.thumb_offset_ms is not None and req.thumb_offset_ms < 0:
        violations.append(FieldViolation(
            "thumb_offset_ms", f"must be 0 or more milliseconds into the video; got {req.thumb_offset_ms}"
        ))
    if req.cover_url and req.thumb_offset_ms is not None:
        violations.append(FieldViolation(
            "thumb_offset_ms", "is a frame of the video as its cover; cover_url gives an image instead: set one of them"
        ))
    return violations


def instagram_media_kind_violations(req: InstagramMedia, kind: MediaKind) -> list[FieldViolation]:
    """Options that fit an image only (alt text) or a Reel only (cover, thumbnail offset,
    share_to_feed), refused on the other kind."""
    if kind == MediaKind.IMAGE:
        reel_only = [
            name for name, unset in (("cover_url", ""), ("thumb_offset_ms", None), ("share_to_feed", None))
            if getattr(req, name) != unset
        ]
        return [FieldViolation(name, "applies to Reels only; media_id names an image") for name in reel_only]
    if req.image.alt_text:
        return [FieldViolation("alt_text", "applies to images only (Instagram takes no alt text on a Reel); "
                               "media_id names a video")]
    return []


def instagram_media_options(req: InstagramMedia, cover_url: str) -> InstagramOptions:
    """The options the record keeps for a single image or Reel (a normal-form request);
    `cover_url` in the public form Instagram fetches."""
    return InstagramOptions(
        images=() if req.image.empty else (req.image,), collaborators=req.collaborators,
        location_id=req.location_id, first_comment=req.first_comment, cover_url=cover_url,
        thumb_offset_ms=req.thumb_offset_ms, share_to_feed=req.share_to_feed,
    )


def tiktok_option_violations(req: TikTokCarousel | TikTokVideo) -> list[FieldViolation]:
    """Disclosure rules TikTok states for photo posts (its photo post reference and content
    sharing guidelines, docs/platforms.md): the toggles exist in direct mode only, and branded
    content cannot be private."""
    violations: list[FieldViolation] = []
    branded = req.brand_content_toggle
    if req.post_mode != DIRECT:
        for name in ("brand_content_toggle", "brand_organic_toggle"):
            if getattr(req, name):
                violations.append(FieldViolation(
                    name, "applies to direct posts only (TikTok takes the disclosure with DIRECT_POST); "
                    "the creator sets it in TikTok's app for an inbox delivery",
                ))
    elif branded and req.privacy_level == "SELF_ONLY":
        why = ("branded content (a paid partnership) cannot be private on TikTok: choose a privacy level "
               "other than SELF_ONLY (unspecified means SELF_ONLY), or turn brand_content_toggle off")
        violations.append(FieldViolation("brand_content_toggle", why))
        violations.append(FieldViolation("privacy_level", why))
    return violations


def instagram_options(req: InstagramCarousel) -> InstagramOptions:
    """The options the record keeps, from a request in its normal form (`normal_instagram`)."""
    return InstagramOptions(
        images=req.images, collaborators=req.collaborators, location_id=req.location_id,
        first_comment=req.first_comment,
    )


def tiktok_options(req: TikTokCarousel) -> TikTokOptions:
    """The options the record keeps: the direct-post ones only for a direct post (TikTok
    takes them with DIRECT_POST only; an inbox delivery is finished in TikTok's app)."""
    common = TikTokOptions(post_mode=req.post_mode, cover_index=req.cover_index, description=req.description)
    if req.post_mode != DIRECT:
        return common
    return dataclasses.replace(
        common,
        privacy_level=req.privacy_level,
        disable_comment=req.disable_comment,
        auto_add_music=req.auto_add_music,
        brand_content_toggle=req.brand_content_toggle,
        brand_organic_toggle=req.brand_organic_toggle,
        creator_consent_obtained=req.creator_consent_obtained,
    )
