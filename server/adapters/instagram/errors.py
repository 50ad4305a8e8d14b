"""What an Instagram Graph API failure means: the error table, and per endpoint whether the
same call may be sent again and whether Instagram may have acted on it.

Sources: Meta's Instagram error codes and Graph API error handling pages, as
docs/platforms.md ("Instagram errors") cites them.
"""

from __future__ import annotations

import re
from typing import Any

from server.adapters.http import NoUsableAnswer, limit_wait, retry_after_seconds
from server.domain.limits import ROLLING_DAY_RETRY_AFTER_SECONDS
from server.domain.models import PublishError
from server.domain.platforms import PlatformFailure

PLATFORM = "instagram"

# (canonical code, stable reason, whether publishing again may succeed)
_Rule = tuple[str, str, bool]

# Keyed by subcode first, then by code.
_BY_SUBCODE: dict[str, _Rule] = {
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
    # A collaborator Instagram does not take (e.g. sent with its "@"; postiz #1547, #1405).
    "2207018": ("INVALID_ARGUMENT", "INSTAGRAM_COLLABORATOR_INVALID", False),
    # Reels, in a container's ERROR status: "The video format is not supported" (MOV/MP4),
    # "unknown upload error" (a new container may succeed), "Thumbnail offset out of video
    # duration".
    "2207026": ("INVALID_ARGUMENT", "INSTAGRAM_VIDEO_FORMAT_UNSUPPORTED", False),
    "2207053": ("UNAVAILABLE", "INSTAGRAM_VIDEO_UPLOAD_FAILED", True),
    "2207057": ("INVALID_ARGUMENT", "INSTAGRAM_THUMB_OFFSET_INVALID", False),
}
_BY_CODE: dict[str, _Rule] = {
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

# How long each limit (RESOURCE_EXHAUSTED) takes to free when Graph's answer does not say
# (a Retry-After, when sent, wins). Every one frees with time: Graph's rate limits count calls
# in a rolling hour "until enough time has passed for the call count to drop below the limit"
# (a few minutes is a first wait); the publishing limit counts posts over a rolling 24 hours.
_FREES_AFTER: dict[str, float] = {
    "INSTAGRAM_RATE_LIMITED": 300.0,
    "INSTAGRAM_PUBLISH_LIMIT_REACHED": ROLLING_DAY_RETRY_AFTER_SECONDS,
}

# The Graph table's "retry" rows (besides is_transient and HTTP 5xx). Rate limits count:
# waiting them out is a retry.
_TRANSIENT_CODES = frozenset({"1", "2", "-1", "-2", "4", "17", "32", "613", "80002"})
_TRANSIENT_SUBCODES = frozenset({"2207003", "2207008", "2207001", "2207032"})
# Codes meaning Instagram no longer accepts the token: the account needs a reconnect.
_TOKEN_REJECTED_CODES = frozenset({"190", "102"})
# "The media is not ready for publishing, please wait for a moment": nothing was published.
_NOT_READY_CODE, _NOT_READY_SUBCODE = "9007", "2207027"
# The one endpoint that makes a post public.
PUBLISH_ENDPOINT = "media_publish"
# Posting a comment: like media_publish, something people see; a lost answer may hide a
# comment that was posted, so it is never sent again blindly.
COMMENT_ENDPOINT = "comment_create"

_SUBCODE_IN_STATUS = re.compile(r"error code (\d+)")


def graph_failure(endpoint: str, status: int, payload: dict[str, Any], headers: dict[str, str]) -> PlatformFailure:
    """The failure for an answer carrying Graph's error envelope (or an HTTP error)."""
    raw = payload.get("error")
    error = raw if isinstance(raw, dict) else {}
    code = str(error.get("code", ""))
    subcode = str(error.get("error_subcode", "") or "")
    graph_transient = bool(error.get("is_transient", False)) or status >= 500
    rule = _BY_SUBCODE.get(subcode) or _BY_CODE.get(code) or (
        ("UNAVAILABLE", "INSTAGRAM_UNAVAILABLE", True) if graph_transient
        else ("FAILED_PRECONDITION", "INSTAGRAM_REQUEST_REJECTED", False)
    )
    canonical, reason, retry_publish = rule
    detail = str(error.get("error_user_msg", "") or "") or str(error.get("message", f"HTTP {status}"))
    stated = retry_after_seconds(headers)
    publish_error = PublishError(
        code=canonical,
        reason=reason,
        message=f"Instagram refused {endpoint}: {detail} (code {code}" + (f", subcode {subcode})" if subcode else ")"),
        platform_code=code,
        platform_subcode=subcode,
        platform_trace_id=str(error.get("fbtrace_id", "") or ""),
        retryable=retry_publish or graph_transient,
        token_rejected=code in _TOKEN_REJECTED_CODES,
        retry_after=limit_wait(canonical, stated, _FREES_AFTER.get(reason)),
    )
    if endpoint == PUBLISH_ENDPOINT:
        # media_publish: only "not ready" proves nothing was published, so only it may be
        # sent again; a transient error may come after the post went live.
        not_ready = code == _NOT_READY_CODE or subcode == _NOT_READY_SUBCODE
        retryable, maybe_applied = not_ready, graph_transient and not not_ready
    elif endpoint == COMMENT_ENDPOINT:
        # A transient error may come after the comment was posted: not sent again blindly.
        retryable, maybe_applied = False, graph_transient
    else:
        transient = graph_transient or code in _TRANSIENT_CODES or subcode in _TRANSIENT_SUBCODES
        retryable, maybe_applied = transient, False
    return PlatformFailure(
        PLATFORM, endpoint, publish_error, retryable=retryable, maybe_applied=maybe_applied,
        retry_after=stated, http_status=status,
    )


def no_answer_failure(endpoint: str, exc: NoUsableAnswer) -> PlatformFailure:
    """A call without a usable answer. Every call but media_publish changes nothing visible
    (an unused container is never seen), so it may be sent again; a media_publish that may
    have arrived may have made the post public."""
    error = PublishError(
        code="UNAVAILABLE",
        reason="INSTAGRAM_UNREACHABLE",
        message=f"Instagram could not be reached for {endpoint}: {exc.detail}",
        retryable=True,
    )
    if endpoint in (PUBLISH_ENDPOINT, COMMENT_ENDPOINT):
        return PlatformFailure(PLATFORM, endpoint, error, retryable=False, maybe_applied=exc.sent,
                               http_status=exc.http_status)
    return PlatformFailure(PLATFORM, endpoint, error, retryable=True, http_status=exc.http_status)


def bad_answer(endpoint: str, what: str) -> PlatformFailure:
    """An answer that lacks what the API promises (no id, no status): not retried."""
    error = PublishError(
        code="UNAVAILABLE", reason="INSTAGRAM_BAD_RESPONSE",
        message=f"Instagram's answer to {endpoint} {what}", retryable=True,
    )
    return PlatformFailure(PLATFORM, endpoint, error, retryable=False,
                           maybe_applied=endpoint in (PUBLISH_ENDPOINT, COMMENT_ENDPOINT), http_status=200)


def container_error(status_text: str) -> PublishError:
    """A container that ended in ERROR: its status text carries the error subcode."""
    match = _SUBCODE_IN_STATUS.search(status_text)
    subcode = match.group(1) if match else ""
    canonical, reason, retryable = _BY_SUBCODE.get(
        subcode, ("FAILED_PRECONDITION", "INSTAGRAM_CONTAINER_ERROR", False)
    )
    return PublishError(
        code=canonical,
        reason=reason,
        message=f"Instagram could not process the container: {status_text or 'ERROR'}",
        platform_subcode=subcode,
        retryable=retryable,
        retry_after=limit_wait(canonical, None, _FREES_AFTER.get(reason)),
    )
