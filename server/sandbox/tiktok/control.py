"""The TikTok emulator's ``/_sandbox`` routes: the shared ones plus its own set-up calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from server.sandbox.control import (
    Body,
    Control,
    ControlError,
    Controlled,
    ControlStyle,
    number_value,
)

STYLE = ControlStyle(
    posts_filter="access_token",
    config_key=None,
    calls_total=True,
    empty_body=False,
    missing_status=404,
    missing_prefix="not found or missing: ",
)


class _Sandbox(Controlled, Protocol):
    """The TikTokSandbox methods its control routes call (named here, not imported: the
    sandbox module imports this one)."""

    def publish(self, publish_id: str, /) -> dict[str, Any] | None: ...

    def complete_inbox(self, publish_id: str, /, *, privacy_level: str | None = None) -> None: ...

    def add_refresh_token(self, refresh_token: str, access_token: str, /) -> None: ...

    def revoke_token(self, access_token: str, /) -> None: ...

    def script_fail_reason(self, reason: str, count: int = 1, /) -> None: ...

    # Called with a JSON body's fields as keyword arguments.
    @property
    def add_creator(self) -> Callable[..., None]: ...

    @property
    def fail_next(self) -> Callable[..., None]: ...


def add_control_routes(router: web.UrlDispatcher, sandbox: _Sandbox) -> None:
    control = Control(router, STYLE)
    control.add_common(sandbox, config_value)

    def complete_inbox(request: web.Request, body: Body) -> dict[str, Any] | None:
        publish_id = request.match_info["publish_id"]
        sandbox.complete_inbox(publish_id, privacy_level=body.get("privacy_level"))
        return sandbox.publish(publish_id)

    def add_refresh_token(_: web.Request, body: Body) -> None:
        sandbox.add_refresh_token(body["refresh_token"], body["access_token"])

    def fail_next(_: web.Request, body: Body) -> None:
        sandbox.fail_next(body.pop("endpoint"), **body)

    def fail_reason(_: web.Request, body: Body) -> None:
        sandbox.script_fail_reason(body["reason"], body.get("count", 1))

    # The creator picks the privacy level in the app: a body is optional.
    control.post("/_sandbox/inbox/{publish_id}/complete", complete_inbox, empty_body=True)
    control.post("/_sandbox/creators", lambda _, body: sandbox.add_creator(**body))
    control.post("/_sandbox/refresh_tokens", add_refresh_token)
    control.post("/_sandbox/revoke", lambda _, body: sandbox.revoke_token(body["access_token"]))
    control.post("/_sandbox/fail_next", fail_next)
    control.post("/_sandbox/fail_reason", fail_reason)


def config_value(name: str, value: Any, current: Any) -> Any:
    """A new value for config field `name` (whose default is `current`), or ControlError."""
    if isinstance(current, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ControlError(f"{name} must be a list of strings")
        return tuple(value)
    return number_value(name, value, current)
