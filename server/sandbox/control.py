"""The ``/_sandbox`` control API both emulators serve (see README.md#control-api).

Every route answers JSON. A bad request answers ``{"error": "<text>"}``: control code raises
``ControlError``, and the Python errors of the emulators' set-up methods (ValueError and
TypeError for a bad value, KeyError for a missing field or unknown id) are turned into one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from server.sandbox.common import CallLog
from server.sandbox.faults import FaultPlan

Body = dict[str, Any]
Answer = Callable[[web.Request], Any]
"""A GET or DELETE route: the JSON answer."""
Action = Callable[[web.Request, Body], Any]
"""A POST route given the JSON body: the JSON answer, or None for ``{"ok": true}``."""
Convert = Callable[[str, Any, Any], Any]
"""``convert(name, value, default)``: the config value to set, or ControlError."""
Respond = Callable[[web.Request], Awaitable[Any]]
"""A route as aiohttp calls it."""


class Controlled(Protocol):
    """What the shared routes read and change on an emulator."""

    config: Any  # a dataclass
    calls: CallLog
    faults: FaultPlan

    def posts(self, owner: str | None = None, /) -> list[dict[str, Any]]: ...

    def stats(self) -> dict[str, Any]: ...


class ControlError(Exception):
    """A bad control request, answered ``{"error": message}`` with HTTP `status`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ControlStyle:
    """Where the two emulators' control APIs have always answered differently.

    Kept per emulator because the tests, bench/ and the soak read these shapes.
    """

    posts_filter: str  # the query parameter narrowing GET /_sandbox/posts to one owner
    config_key: str | None  # /_sandbox/config answers {config_key: {...}}, or bare if None
    calls_total: bool  # GET /_sandbox/calls also answers "total"
    empty_body: bool  # an empty POST body reads as {} instead of being refused
    missing_status: int  # the status a KeyError (missing field, unknown id) answers ...
    missing_prefix: str  # ... and the text before the key


class Control:
    """Adds one emulator's control routes to its router and answers them alike."""

    def __init__(self, router: web.UrlDispatcher, style: ControlStyle) -> None:
        self._router = router
        self.style = style

    def get(self, path: str, answer: Answer) -> None:
        self._router.add_get(path, self._handler(_awaitable(answer)))

    def delete(self, path: str, answer: Answer) -> None:
        self._router.add_delete(path, self._handler(_awaitable(answer)))

    def post(self, path: str, action: Action, *, empty_body: bool | None = None) -> None:
        """`empty_body` overrides the style's choice for this route."""
        allow_empty = self.style.empty_body if empty_body is None else empty_body

        async def respond(request: web.Request) -> Any:
            return action(request, await read_body(request, allow_empty=allow_empty))

        self._router.add_post(path, self._handler(respond))

    def add_common(self, emulator: Controlled, convert: Convert) -> None:
        """The routes every emulator serves: posts, stats, calls, config and faults."""
        faults = emulator.faults

        def set_config(_: web.Request, body: Body) -> Body:
            update_config(emulator.config, body, convert)
            return self._config(emulator)

        def configure_faults(_: web.Request, body: Body) -> Body:
            faults.configure(body)
            return faults.snapshot()

        def clear_faults(_: web.Request) -> Body:
            faults.clear()
            return faults.snapshot()

        self.get("/_sandbox/posts", lambda r: {"posts": emulator.posts(self._owner(r))})
        self.get("/_sandbox/stats", lambda _: emulator.stats())
        self.get("/_sandbox/calls", lambda _: self._calls(emulator))
        self.get("/_sandbox/config", lambda _: self._config(emulator))
        self.post("/_sandbox/config", set_config)
        self.get("/_sandbox/faults", lambda _: faults.snapshot())
        # An empty body changes nothing, in both emulators, whatever their style.
        self.post("/_sandbox/faults", configure_faults, empty_body=True)
        self.delete("/_sandbox/faults", clear_faults)

    def _handler(self, respond: Respond) -> Respond:
        async def handler(request: web.Request) -> web.Response:
            # Any other exception is a sandbox bug: it reaches the emulator's last-resort answer.
            try:
                answer = await respond(request)
            except ControlError as exc:
                error = exc
            # The set-up methods are Python API first: they raise what Python callers expect.
            except KeyError as exc:
                error = ControlError(f"{self.style.missing_prefix}{exc}", self.style.missing_status)
            except (TypeError, ValueError) as exc:
                error = ControlError(str(exc))
            else:
                return web.json_response({"ok": True} if answer is None else answer)
            return web.json_response({"error": error.message}, status=error.status)

        return handler

    def _owner(self, request: web.Request) -> str | None:
        return request.query.get(self.style.posts_filter)

    def _calls(self, emulator: Controlled) -> Body:
        answer: Body = {"counts": dict(emulator.calls.counts)}
        if self.style.calls_total:
            answer["total"] = emulator.calls.total()
        return answer

    def _config(self, emulator: Controlled) -> Body:
        config = dataclasses.asdict(emulator.config)
        key = self.style.config_key
        return config if key is None else {key: config}


async def read_body(request: web.Request, *, allow_empty: bool) -> Body:
    """The JSON object a control request carries; `allow_empty`: no body reads as {}."""
    text = await request.text()
    if allow_empty and not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise ControlError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def update_config(config: Any, update: Body, convert: Convert) -> None:
    """Validates every field of `update` first, then sets them all on the dataclass `config`:
    a bad body changes nothing."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    values: Body = {}
    for name, value in update.items():
        if name not in fields:
            raise ControlError(f"unknown config field {name!r}")
        # The declared default gives the field's type (a config built with processing_delay=0
        # still takes 0.3 later).
        default = fields[name].default
        current = getattr(config, name) if default is dataclasses.MISSING else default
        values[name] = convert(name, value, current)
    for name, value in values.items():
        setattr(config, name, value)


def number_value(name: str, value: Any, current: Any) -> int | float:
    """A numeric config value: non-negative, and whole where the default is an int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ControlError(f"{name} must be a non-negative number")
    if isinstance(current, int) and not isinstance(value, int):
        raise ControlError(f"{name} must be an integer")
    return float(value) if isinstance(current, float) else value


def _awaitable(answer: Answer) -> Respond:
    async def respond(request: web.Request) -> Any:
        return answer(request)

    return respond
