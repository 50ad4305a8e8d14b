"""How platform errors become publish errors: one table per platform.

Each entry gives the canonical status code, a stable reason, and whether a new
attempt may succeed. The platform's own code, subcode and trace id always travel
with the error so support can look it up.
"""

from __future__ import annotations

import re

from server.domain.models import PublishError
from server.platforms.errors import PlatformConnectionError, PlatformError

# (code, reason, retryable)
_Rule = tuple[str, str, bool]

# Instagram: keyed by subcode first, then by code. Sources: instagram-graph-api.md §8.
_INSTAGRAM_BY_SUBCODE: dict[str, _Rule] = {
    "2207003": ("UNAVAILABLE", "INSTAGRAM_MEDIA_DOWNLOAD_TIMEOUT", True),
    "2207020": ("ABORTED", "INSTAGRAM_CONTAINER_EXPIRED", True),
    "2207001": ("UNAVAILABLE", "INSTAGRAM_SERVER_ERROR", True),
    "2207032": ("UNAVAILABLE", "INSTAGRAM_CREATE_MEDIA_FAILED", True),
    "2207051": ("FAILED_PRECONDITION", "INSTAGRAM_ACTIVITY_RESTRICTED", False),
    "2207042": ("RESOURCE_EXHAUSTED", "INSTAGRAM_PUBLISH_LIMIT_REACHED", True),
    "2207006": ("FAILED_PRECONDITION", "INSTAGRAM_MEDIA_NOT_FOUND", False),
    "2207008": ("UNAVAILABLE", "INSTAGRAM_CONTAINER_NOT_FOUND", True),
    "2207050": ("FAILED_PRECONDITION", "INSTAGRAM_ACCOUNT_RESTRICTED", False),
    "2207028": ("INVALID_ARGUMENT", "INSTAGRAM_CAROUSEL_ITEM_COUNT", False),
    "2207040": ("INVALID_ARGUMENT", "INSTAGRAM_CAPTION_TOO_MANY_TAGS", False),
    "2207052": ("FAILED_PRECONDITION", "INSTAGRAM_MEDIA_FETCH_FAILED", False),
    "2207027": ("UNAVAILABLE", "INSTAGRAM_MEDIA_NOT_READY", True),
    "2207004": ("INVALID_ARGUMENT", "INSTAGRAM_IMAGE_TOO_LARGE", False),
    "2207005": ("INVALID_ARGUMENT", "INSTAGRAM_IMAGE_FORMAT_UNSUPPORTED", False),
    "2207009": ("INVALID_ARGUMENT", "INSTAGRAM_ASPECT_RATIO_UNSUPPORTED", False),
    "2207010": ("INVALID_ARGUMENT", "INSTAGRAM_CAPTION_INVALID", False),
}
_INSTAGRAM_BY_CODE: dict[str, _Rule] = {
    "1": ("UNAVAILABLE", "INSTAGRAM_UNKNOWN_ERROR", True),
    "2": ("UNAVAILABLE", "INSTAGRAM_SERVICE_ERROR", True),
    "-1": ("UNAVAILABLE", "INSTAGRAM_SERVER_ERROR", True),
    "-2": ("UNAVAILABLE", "INSTAGRAM_TIMEOUT", True),
    "4": ("RESOURCE_EXHAUSTED", "INSTAGRAM_RATE_LIMITED", True),
    "17": ("RESOURCE_EXHAUSTED", "INSTAGRAM_RATE_LIMITED", True),
    "32": ("RESOURCE_EXHAUSTED", "INSTAGRAM_RATE_LIMITED", True),
    "613": ("RESOURCE_EXHAUSTED", "INSTAGRAM_RATE_LIMITED", True),
    "80002": ("RESOURCE_EXHAUSTED", "INSTAGRAM_RATE_LIMITED", True),
    "9": ("RESOURCE_EXHAUSTED", "INSTAGRAM_PUBLISH_LIMIT_REACHED", True),
    "10": ("FAILED_PRECONDITION", "INSTAGRAM_PERMISSION_MISSING", False),
    "190": ("FAILED_PRECONDITION", "INSTAGRAM_TOKEN_INVALID", False),
    "102": ("FAILED_PRECONDITION", "INSTAGRAM_TOKEN_INVALID", False),
    "368": ("FAILED_PRECONDITION", "INSTAGRAM_ACCOUNT_BLOCKED", False),
    "9004": ("FAILED_PRECONDITION", "INSTAGRAM_MEDIA_FETCH_FAILED", False),
    "9007": ("UNAVAILABLE", "INSTAGRAM_MEDIA_NOT_READY", True),
    "36000": ("INVALID_ARGUMENT", "INSTAGRAM_IMAGE_TOO_LARGE", False),
    "36001": ("INVALID_ARGUMENT", "INSTAGRAM_IMAGE_FORMAT_UNSUPPORTED", False),
    "36003": ("INVALID_ARGUMENT", "INSTAGRAM_ASPECT_RATIO_UNSUPPORTED", False),
    "36004": ("INVALID_ARGUMENT", "INSTAGRAM_CAPTION_INVALID", False),
    "100": ("FAILED_PRECONDITION", "INSTAGRAM_REQUEST_REJECTED", False),
    "24": ("FAILED_PRECONDITION", "INSTAGRAM_MEDIA_NOT_FOUND", False),
    "25": ("FAILED_PRECONDITION", "INSTAGRAM_ACCOUNT_RESTRICTED", False),
}

# TikTok: error.code values and status fail_reason values. Sources: tiktok-content-posting-api.md §1-§4.
_TIKTOK: dict[str, _Rule] = {
    "access_token_invalid": ("FAILED_PRECONDITION", "TIKTOK_TOKEN_INVALID", False),
    "scope_not_authorized": ("FAILED_PRECONDITION", "TIKTOK_SCOPE_MISSING", False),
    "scope_permission_missed": ("FAILED_PRECONDITION", "TIKTOK_SCOPE_MISSING", False),
    "rate_limit_exceeded": ("RESOURCE_EXHAUSTED", "TIKTOK_RATE_LIMITED", True),
    "spam_risk_too_many_posts": ("RESOURCE_EXHAUSTED", "TIKTOK_DAILY_POST_CAP", True),
    "spam_risk_too_many_pending_share": ("RESOURCE_EXHAUSTED", "TIKTOK_PENDING_SHARE_CAP", True),
    "reached_active_user_cap": ("RESOURCE_EXHAUSTED", "TIKTOK_ACTIVE_USER_CAP", True),
    "spam_risk_user_banned_from_posting": ("FAILED_PRECONDITION", "TIKTOK_USER_BANNED", False),
    "unaudited_client_can_only_post_to_private_accounts": (
        "FAILED_PRECONDITION", "TIKTOK_UNAUDITED_CLIENT_PUBLIC_ACCOUNT", False,
    ),
    "url_ownership_unverified": ("FAILED_PRECONDITION", "TIKTOK_URL_OWNERSHIP_UNVERIFIED", False),
    "privacy_level_option_mismatch": ("FAILED_PRECONDITION", "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED", False),
    "app_version_check_failed": ("FAILED_PRECONDITION", "TIKTOK_APP_VERSION_TOO_OLD", False),
    "invalid_param": ("INVALID_ARGUMENT", "TIKTOK_INVALID_PARAMS", False),
    "invalid_params": ("INVALID_ARGUMENT", "TIKTOK_INVALID_PARAMS", False),
    "internal_error": ("UNAVAILABLE", "TIKTOK_INTERNAL_ERROR", True),
    # fail_reason values from status/fetch
    "file_format_check_failed": ("INVALID_ARGUMENT", "TIKTOK_FILE_FORMAT_CHECK_FAILED", False),
    "picture_size_check_failed": ("INVALID_ARGUMENT", "TIKTOK_PICTURE_SIZE_CHECK_FAILED", False),
    "photo_pull_failed": ("FAILED_PRECONDITION", "TIKTOK_PHOTO_PULL_FAILED", True),
    "internal": ("UNAVAILABLE", "TIKTOK_INTERNAL_ERROR", True),
    "publish_cancelled": ("ABORTED", "TIKTOK_PUBLISH_CANCELLED", False),
    "auth_removed": ("FAILED_PRECONDITION", "TIKTOK_AUTH_REMOVED", False),
    "spam_risk_text": ("FAILED_PRECONDITION", "TIKTOK_SPAM_RISK_TEXT", False),
    "spam_risk": ("FAILED_PRECONDITION", "TIKTOK_SPAM_RISK", False),
}

# What a caller should do, per TikTok reason, in plain words for the error message.
_TIKTOK_ADVICE = {
    "file_format_check_failed": "TikTok accepts only JPEG and WebP photos",
    "picture_size_check_failed": "keep each photo's shorter side at most 1080 px; TikTok does not say which photo failed",
    "photo_pull_failed": "TikTok could not download a photo; check the URLs are public and not rate-limited",
    "url_ownership_unverified": "the photo URLs' domain or prefix must be verified for the TikTok app",
    "spam_risk_text": "TikTok judged the caption or description as spam",
    "auth_removed": "the creator revoked access; reconnect the account",
    "access_token_invalid": "the account's TikTok token is invalid or expired; reconnect the account",
}

# Reasons meaning the platform no longer accepts the account's token: the account needs a reconnect.
TOKEN_REJECTED_REASONS = frozenset({"INSTAGRAM_TOKEN_INVALID", "TIKTOK_TOKEN_INVALID", "TIKTOK_AUTH_REMOVED"})

_ITEM_CODE_IN_STATUS = re.compile(r"error code (\d+)")


# Graph codes the Instagram error table marks "retry" (plus is_transient), and TikTok codes
# that mean "try again later". Rate limits are transient too: the retry waits them out.
_TRANSIENT_GRAPH_CODES = frozenset({"1", "2", "-1", "-2", "4", "17", "32", "613", "80002"})
_TRANSIENT_GRAPH_SUBCODES = frozenset({"2207003", "2207008", "2207001", "2207032"})
_TRANSIENT_TIKTOK_CODES = frozenset({"internal_error", "rate_limit_exceeded"})


def is_transient(err: PlatformError | PlatformConnectionError, *, read_only: bool) -> bool:
    """Whether the same call may succeed if repeated. A connection error or timeout counts
    only for calls that change nothing (`read_only`) or that surely never arrived."""
    if isinstance(err, PlatformConnectionError):
        return read_only or not err.maybe_sent
    if err.http_status >= 500 or err.transient:
        return True
    if err.platform == "instagram":
        return err.code in _TRANSIENT_GRAPH_CODES or err.subcode in _TRANSIENT_GRAPH_SUBCODES
    return err.code in _TRANSIENT_TIKTOK_CODES


def proves_nothing_created(err: PlatformError | PlatformConnectionError) -> bool:
    """For a call that creates something visible (TikTok init): only these failures prove it
    created nothing and may be repeated. A 5xx may come after the work was done (the
    duplicate trap), and a reset or timeout may hide a success."""
    if isinstance(err, PlatformConnectionError):
        return not err.maybe_sent
    return err.http_status == 429 or err.code == "rate_limit_exceeded"


def _unknown(platform: str, err: PlatformError) -> _Rule:
    if err.transient or err.http_status >= 500:
        return ("UNAVAILABLE", f"{platform.upper()}_UNAVAILABLE", True)
    return ("FAILED_PRECONDITION", f"{platform.upper()}_REQUEST_REJECTED", False)


def instagram_error(err: PlatformError, item_index: int | None = None) -> PublishError:
    rule = (
        _INSTAGRAM_BY_SUBCODE.get(err.subcode)
        or _INSTAGRAM_BY_CODE.get(err.code)
        or _unknown("instagram", err)
    )
    code, reason, retryable = rule
    detail = err.user_message or err.message
    where = f" (carousel item media_ids[{item_index}])" if item_index is not None else ""
    return PublishError(
        code=code,
        reason=reason,
        message=f"Instagram refused {err.endpoint}{where}: {detail} (code {err.code}"
        + (f", subcode {err.subcode})" if err.subcode else ")"),
        platform_code=err.code,
        platform_subcode=err.subcode,
        platform_trace_id=err.trace_id,
        retryable=retryable or err.transient,
        item_index=item_index,
    )


def instagram_container_error(status_text: str, item_index: int | None) -> PublishError:
    """A container that ended in ERROR: its status text carries the error subcode."""
    match = _ITEM_CODE_IN_STATUS.search(status_text)
    subcode = match.group(1) if match else ""
    code, reason, retryable = _INSTAGRAM_BY_SUBCODE.get(
        subcode, ("FAILED_PRECONDITION", "INSTAGRAM_CONTAINER_ERROR", False)
    )
    where = f"carousel item media_ids[{item_index}]" if item_index is not None else "the carousel"
    return PublishError(
        code=code,
        reason=reason,
        message=f"Instagram could not process {where}: {status_text or 'ERROR'}",
        platform_subcode=subcode,
        retryable=retryable,
        item_index=item_index,
    )


def tiktok_error(err: PlatformError) -> PublishError:
    code, reason, retryable = _TIKTOK.get(err.code) or _unknown("tiktok", err)
    advice = _TIKTOK_ADVICE.get(err.code)
    message = f"TikTok refused {err.endpoint}: {err.code}"
    if err.message:
        message += f" ({err.message})"
    if advice:
        message += f"; {advice}"
    return PublishError(
        code=code,
        reason=reason,
        message=message,
        platform_code=err.code,
        platform_trace_id=err.trace_id,
        retryable=retryable or err.transient,
    )


def tiktok_fail_reason(fail_reason: str, log_id: str) -> PublishError:
    code, reason, retryable = _TIKTOK.get(fail_reason) or (
        "FAILED_PRECONDITION", "TIKTOK_PUBLISH_FAILED", False
    )
    advice = _TIKTOK_ADVICE.get(fail_reason)
    return PublishError(
        code=code,
        reason=reason,
        message=f"TikTok failed the post: {fail_reason or 'no reason given'}" + (f"; {advice}" if advice else ""),
        platform_code=fail_reason,
        platform_trace_id=log_id,
        retryable=retryable,
    )


def connection_error(err: PlatformConnectionError) -> PublishError:
    name = err.platform.upper()
    return PublishError(
        code="UNAVAILABLE",
        reason=f"{name}_UNREACHABLE",
        message=f"{err.platform.capitalize()} could not be reached for {err.endpoint}: {err.detail}",
        retryable=True,
    )
