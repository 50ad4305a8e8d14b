"""TikTok API errors: the v2 envelope's and the OAuth token endpoint's."""

from __future__ import annotations

from dataclasses import dataclass


class ApiError(Exception):
    """An error answered with the v2 envelope."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


class OAuthError(Exception):
    """An error answered in the OAuth token-endpoint shape."""

    def __init__(self, error: str, description: str, http_status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.http_status = http_status


def invalid(message: str) -> ApiError:
    """A request TikTok refuses as ``invalid_params``; the message names the field."""
    return ApiError(400, "invalid_params", message)


@dataclass(frozen=True)
class ScriptedError:
    """An error ``fail_next()`` queued for an endpoint, raised fresh for each call it answers."""

    http_status: int
    code: str
    message: str

    def api_error(self) -> ApiError:
        return ApiError(self.http_status, self.code, self.message)

    def oauth_error(self) -> OAuthError:
        """The token endpoint answers its scripted errors in the OAuth shape."""
        return OAuthError(self.code, self.message, self.http_status)
