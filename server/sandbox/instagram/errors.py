"""Graph API errors: the ``{"error": {...}}`` envelope and the errors the emulator answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class GraphError(Exception):
    """An error answered in the Graph envelope ``{"error": {...}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        is_transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg

    def payload(self, fbtrace_id: str) -> dict[str, Any]:
        """The response body; fields Graph leaves out (subcode, user texts) stay out."""
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["is_transient"] = self.is_transient
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}


@dataclass
class ScriptedError:
    """An error ``fail_next()`` or ``fail_media_reads()`` queued for an endpoint."""

    status: int
    code: int
    subcode: int | None
    message: str | None  # None: the "Unsupported <method> request" text for the object
    is_transient: bool
    after_serving: bool = False

    def error(self, method: str, object_id: str) -> GraphError:
        message = unsupported(method, object_id).message if self.message is None else self.message
        return GraphError(
            self.code,
            message,
            subcode=self.subcode,
            status=self.status,
            is_transient=self.is_transient,
        )


def unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
    )


def unknown_path(path: str) -> GraphError:
    return GraphError(100, f"Unknown path components: {path}")


def param_error(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, f"(#100) {message}", subcode=subcode)


def nonexisting_field(name: str, node_type: str) -> GraphError:
    return param_error(f"Tried accessing nonexisting field ({name}) on node type ({node_type})")


def media_not_found(media_id: str) -> GraphError:
    message = f"The media with id {media_id} cannot be found"
    return GraphError(24, message, subcode=2207006, user_title="Media not found", user_msg=message)


def not_ready() -> GraphError:
    return GraphError(
        9007,
        "Media ID is not available",
        subcode=2207027,
        user_title="Media not ready for publishing",
        user_msg="The media is not ready to be published. Please wait a moment.",
    )


def expired() -> GraphError:
    message = "The media you are trying to access has expired"
    return GraphError(
        -2,
        message,
        subcode=2207020,
        user_title="Media expired",
        user_msg=f"{message}. Please create a new container.",
    )


def carousel_size(count: int) -> GraphError:
    message = "Carousels need at least 2 photos/videos and no more than 10 photos/videos."
    return GraphError(
        100,
        message,
        subcode=2207028,
        user_title="Carousel item count out of range",
        user_msg=f"{message} This carousel has {count}.",
    )


def publish_quota_reached() -> GraphError:
    message = (
        "You reached maximum number of posts that is allowed to be published by "
        "Content Publishing API"
    )
    return GraphError(
        9,
        message,
        subcode=2207042,
        user_title="Maximum number of posts reached",
        user_msg=f"{message}. Please try again tomorrow.",
    )


def request_limit_reached(status: int = 400) -> GraphError:
    """Graph's rate limit: the container quota, and the "429" fault (sent as HTTP 400)."""
    return GraphError(4, "Application request limit reached", status=status, is_transient=True)


def unknown_error() -> GraphError:
    return GraphError(1, "An unknown error has occurred.", status=500, is_transient=True)


def sandbox_bug(exc: Exception) -> GraphError:
    """What an unexpected exception answers: a Graph error, never a bare 500 page."""
    message = f"An unknown error occurred (sandbox: {exc!r})"
    return GraphError(1, message, status=500, is_transient=True)


def unavailable(status: int) -> GraphError:
    return GraphError(2, "Service temporarily unavailable", status=status, is_transient=True)
