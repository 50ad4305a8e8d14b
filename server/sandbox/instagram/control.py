"""The Instagram emulator's ``/_sandbox`` routes: the shared ones plus its own set-up calls."""

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
from server.sandbox.instagram.config import VERSION_RE

STYLE = ControlStyle(
    posts_filter="ig_user_id",
    config_key="config",
    calls_total=False,
    empty_body=True,
    missing_status=400,
    missing_prefix="missing field ",
)


class _Sandbox(Controlled, Protocol):
    """The InstagramSandbox methods its control routes call (named here, not imported: the
    sandbox module imports this one)."""

    def container(self, container_id: str, /) -> dict[str, Any] | None: ...

    def revoke_token(self, token: str, /) -> None: ...

    def fail_media_reads(self, count: int, /) -> None: ...

    # Called with a JSON body's fields as keyword arguments.
    @property
    def fail_next(self) -> Callable[..., None]: ...


def add_control_routes(router: web.UrlDispatcher, sandbox: _Sandbox) -> None:
    control = Control(router, STYLE)
    control.add_common(sandbox, config_value)

    def container(request: web.Request) -> dict[str, Any]:
        record = sandbox.container(request.match_info["container_id"])
        if record is None:
            raise ControlError("no such container", 404)
        return {"container": record}

    def fail_next(_: web.Request, body: Body) -> None:
        sandbox.fail_next(body.pop("endpoint"), **body)

    control.get("/_sandbox/containers/{container_id}", container)
    control.post("/_sandbox/revoke", lambda _, body: sandbox.revoke_token(str(body["token"])))
    control.post("/_sandbox/fail_media_reads", lambda _, b: sandbox.fail_media_reads(b["count"]))
    control.post("/_sandbox/fail_next", fail_next)


def config_value(name: str, value: Any, current: Any) -> Any:
    """A new value for config field `name` (whose default is `current`), or ControlError."""
    if isinstance(current, str):
        if not isinstance(value, str) or not VERSION_RE.fullmatch(value):
            raise ControlError(f"{name} must look like 'v23.0'")
        return value
    return number_value(name, value, current)
