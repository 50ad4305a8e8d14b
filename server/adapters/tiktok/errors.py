"""What a TikTok Content Posting API failure means: the error table (error.code values and
status fail_reason values), and per endpoint whether the same call may be sent again and
whether TikTok may have acted on it.

Sources: TikTok's photo post, post status, creator info and error handling pages, as
docs/platforms.md ("TikTok errors") cites them.
"""

from __future__ import annotations

from typing import Any

from server.adapters.http import NoUsableAnswer, limit_wait, retry_after_seconds
from server.domain.limits import ROLLING_DAY_RETRY_AFTER_SECONDS
from server.domain.models import PublishError
from server.domain.platforms import PlatformFailure

PLATFORM = "tiktok"

# (canonical code, stable reason, whether publishing again may succeed)
_Rule = tuple[str, str, bool]

_TABLE: dict[str, _Rule] = {
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
    "video_pull_failed": ("FAILED_PRECONDITION", "TIKTOK_VIDEO_PULL_FAILED", True),
    "duration_check_failed": ("INVALID_ARGUMENT", "TIKTOK_DURATION_CHECK_FAILED", False),
    "frame_rate_check_failed": ("INVALID_ARGUMENT", "TIKTOK_FRAME_RATE_CHECK_FAILED", False),
    "invalid_file_upload": ("INVALID_ARGUMENT", "TIKTOK_INVALID_FILE_UPLOAD", False),
    "internal": ("UNAVAILABLE", "TIKTOK_INTERNAL_ERROR", True),
    "publish_cancelled": ("ABORTED", "TIKTOK_PUBLISH_CANCELLED", False),
    "auth_removed": ("FAILED_PRECONDITION", "TIKTOK_AUTH_REMOVED", False),
    "spam_risk_text": ("FAILED_PRECONDITION", "TIKTOK_SPAM_RISK_TEXT", False),
    "spam_risk": ("FAILED_PRECONDITION", "TIKTOK_SPAM_RISK", False),
}

# What a caller should do, per TikTok reason, in plain words for the error message.
_ADVICE = {
    "file_format_check_failed": "TikTok accepts only JPEG and WebP photos",
    "picture_size_check_failed": (
        "keep each photo's shorter side at most 1080 px; TikTok does not say which photo failed"
    ),
    "photo_pull_failed": "TikTok could not download a photo; check the URLs are public and not rate-limited",
    "video_pull_failed": "TikTok could not download the video within its one-hour limit; check the URL is public",
    "duration_check_failed": "the video is longer or shorter than TikTok and the creator allow",
    "frame_rate_check_failed": "TikTok takes videos of 23 to 60 frames per second",
    "url_ownership_unverified": "the photo URLs' domain or prefix must be verified for the TikTok app",
    "spam_risk_text": "TikTok judged the caption or description as spam",
    "auth_removed": "the creator revoked access; reconnect the account",
    "access_token_invalid": "the account's TikTok token is invalid or expired; reconnect the account",
}

# How long each limit (RESOURCE_EXHAUSTED) takes to free when TikTok's answer does not say
# (its Retry-After, when sent, wins). Every one frees with time: the rate limit counts calls
# in a one-minute sliding window; the caps count posts, pending shares and active creators
# over a rolling 24 hours.
_FREES_AFTER: dict[str, float] = {
    "TIKTOK_RATE_LIMITED": 60.0,
    "TIKTOK_DAILY_POST_CAP": ROLLING_DAY_RETRY_AFTER_SECONDS,
    "TIKTOK_PENDING_SHARE_CAP": ROLLING_DAY_RETRY_AFTER_SECONDS,
    "TIKTOK_ACTIVE_USER_CAP": ROLLING_DAY_RETRY_AFTER_SECONDS,
}

# Codes and fail reasons meaning TikTok no longer accepts the token: the account needs a reconnect.
_TOKEN_REJECTED = frozenset({"access_token_invalid", "auth_removed"})
RATE_LIMITED = "rate_limit_exceeded"
# Codes meaning "try again later" (rate limits are waited out by a retry).
_TRANSIENT_CODES = frozenset({"internal_error", RATE_LIMITED})
# The call that creates a post. TikTok offers no lookup, so after any failure that may come
# after the post was accepted (a 5xx, internal_error, a lost answer) it must not be resent.
INIT_ENDPOINT = "init"
# The refresh grant rotates the refresh token: a lost answer may have spent the old one.
TOKEN_ENDPOINT = "token"


def _rule(code: str, transient: bool) -> _Rule:
    return _TABLE.get(code) or (
        ("UNAVAILABLE", "TIKTOK_UNAVAILABLE", True) if transient
        else ("FAILED_PRECONDITION", "TIKTOK_REQUEST_REJECTED", False)
    )


def api_failure(
    endpoint: str, status: int, code: str, message: str, log_id: str, headers: dict[str, str]
) -> PlatformFailure:
    """The failure for an answer whose error.code is not "ok" (or an HTTP error)."""
    transient = status >= 500 or code in _TRANSIENT_CODES
    canonical, reason, retry_publish = _rule(code, transient)
    text = f"TikTok refused {endpoint}: {code}" + (f" ({message})" if message else "")
    if advice := _ADVICE.get(code):
        text += f"; {advice}"
    stated = retry_after_seconds(headers)
    error = PublishError(
        code=canonical, reason=reason, message=text, platform_code=code, platform_trace_id=log_id,
        retryable=retry_publish or transient, token_rejected=code in _TOKEN_REJECTED,
        retry_after=limit_wait(canonical, stated, _FREES_AFTER.get(reason)),
    )
    if endpoint == INIT_ENDPOINT:
        # Only a rate-limit answer proves nothing was created; a 5xx or internal_error may
        # come after TikTok accepted the post (the duplicate trap).
        rate_limited = status == 429 or code == RATE_LIMITED
        retryable, maybe_applied = rate_limited, transient and not rate_limited
    elif endpoint == TOKEN_ENDPOINT:
        # An answered refusal (invalid_grant) is final; an overloaded server is not.
        retryable, maybe_applied = status >= 500 or status == 429, False
    else:
        retryable, maybe_applied = transient, False
    return PlatformFailure(
        PLATFORM, endpoint, error, retryable=retryable, maybe_applied=maybe_applied,
        retry_after=stated, http_status=status,
    )


def oauth_failure(status: int, payload: dict[str, Any], headers: dict[str, str]) -> PlatformFailure:
    """The token endpoint's OAuth error shape: {"error", "error_description", "log_id"}."""
    return api_failure(
        TOKEN_ENDPOINT, status, str(payload.get("error", f"http_{status}")),
        str(payload.get("error_description", "")), str(payload.get("log_id", "")), headers,
    )


def no_answer_failure(endpoint: str, exc: NoUsableAnswer) -> PlatformFailure:
    """A call without a usable answer: safe to resend only when it surely never arrived or
    it changes nothing (status and creator_info reads)."""
    error = PublishError(
        code="UNAVAILABLE",
        reason="TIKTOK_UNREACHABLE",
        message=f"TikTok could not be reached for {endpoint}: {exc.detail}",
        retryable=True,
    )
    changes_something = endpoint in (INIT_ENDPOINT, TOKEN_ENDPOINT)
    return PlatformFailure(
        PLATFORM, endpoint, error,
        retryable=not (changes_something and exc.sent),
        maybe_applied=changes_something and exc.sent,
        http_status=exc.http_status,
    )


def bad_answer(endpoint: str, what: str) -> PlatformFailure:
    """An "ok" answer that lacks what the API promises: not retried; for init, the post may exist."""
    error = PublishError(
        code="UNAVAILABLE", reason="TIKTOK_BAD_RESPONSE", message=f"TikTok's answer to {endpoint} {what}",
        retryable=True,
    )
    return PlatformFailure(PLATFORM, endpoint, error, retryable=False, maybe_applied=endpoint == INIT_ENDPOINT,
                           http_status=200)


def fail_reason_error(fail_reason: str, log_id: str) -> PublishError:
    """Why a post that reached status FAILED failed."""
    canonical, reason, retryable = _TABLE.get(fail_reason) or ("FAILED_PRECONDITION", "TIKTOK_PUBLISH_FAILED", False)
    advice = _ADVICE.get(fail_reason)
    return PublishError(
        code=canonical,
        reason=reason,
        message=f"TikTok failed the post: {fail_reason or 'no reason given'}" + (f"; {advice}" if advice else ""),
        platform_code=fail_reason,
        platform_trace_id=log_id,
        retryable=retryable,
        token_rejected=fail_reason in _TOKEN_REJECTED,
        retry_after=limit_wait(canonical, None, _FREES_AFTER.get(reason)),
    )
