"""Applying injected faults to HTTP: the middleware, stalls and connection resets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from server.sandbox.faults.rules import Fault

Render = Callable[[Fault], web.Response]
"""Builds an emulator's error response for a fault (kinds 5xx, 429, timeout, error_after_live).

``fault.status`` is the HTTP status to send; for 429 it may be None (the platform default).
"""

_FAULT_KEY = web.RequestKey("sandbox_fault", Fault)


class FaultInjected(Exception):
    """Raised by ``FaultPlan.inject`` for a before-serving fault; the middleware answers it.

    Emulator catch-alls must let it through (``except FaultInjected: raise``).
    """

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault.kind} on {fault.endpoint}")
        self.fault = fault


def apply_after_serving(request: web.Request, fault: Fault) -> None:
    """Leaves an after-serving fault on the request, for the middleware to apply."""
    request[_FAULT_KEY] = fault


class Stalls:
    """The running stalls of timeout faults, so that stopping an emulator can end them."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[bool]] = set()

    async def stall(self, seconds: float) -> bool:
        """Sleeps `seconds`; False if ``release()`` ended the stall early."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(seconds, _settle, waiter, True)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)

    def release(self) -> None:
        """Ends every running stall now (their connections are reset)."""
        for waiter in list(self._waiters):
            _settle(waiter, False)


def middleware(stalls: Stalls, render: Render) -> Middleware:
    """The aiohttp middleware applying injected faults; must be the outermost one."""

    @web.middleware
    async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except FaultInjected as exc:
            return await _before(request, exc.fault, render, stalls)
        fault = request.get(_FAULT_KEY)
        if fault is None:
            return response
        return await _after(request, fault, response, render, stalls)

    return fault_middleware


async def _before(
    request: web.Request, fault: Fault, render: Render, stalls: Stalls
) -> web.StreamResponse:
    """Nothing happened: answer the fault instead of the call."""
    if fault.kind == "reset":
        return abort_connection(request)
    if fault.kind == "timeout":
        if not await stalls.stall(fault.stall_seconds) or _closing(request):
            return abort_connection(request)
        return render(fault)
    response = render(fault)
    if fault.kind == "429":
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


async def _after(
    request: web.Request,
    fault: Fault,
    response: web.StreamResponse,
    render: Render,
    stalls: Stalls,
) -> web.StreamResponse:
    """The call took effect: replace, delay or drop its answer."""
    if fault.kind == "reset":
        return abort_connection(request)
    if fault.kind == "timeout":
        if not await stalls.stall(fault.stall_seconds) or _closing(request):
            return abort_connection(request)
        return response
    return render(fault)  # error_after_live


def abort_connection(request: web.Request) -> web.Response:
    """Resets the request's connection (RST, no HTTP response) and returns a response that
    aiohttp will fail to send (it treats that as a client disconnection, quietly)."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError, TypeError, ValueError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=500)


def _closing(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _settle(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)
