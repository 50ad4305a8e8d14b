"""The one aiohttp session per platform, and the request helper every adapter call uses."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable

import aiohttp

from server.platforms.errors import PlatformConnectionError

log = logging.getLogger("distribution.platform")

# Called after every platform call with (platform, endpoint, HTTP status or failure kind, seconds).
Observer = Callable[[str, str, str, float], None]


def new_session(timeout_seconds: float = 30.0) -> aiohttp.ClientSession:
    """A session for one platform: pooled keep-alive connections, bounded per call."""
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=100, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_seconds, connect=10),
        json_serialize=lambda obj: json.dumps(obj, separators=(",", ":"), ensure_ascii=False),
        raise_for_status=False,
    )


async def request_json(
    session: aiohttp.ClientSession,
    platform: str,
    endpoint: str,
    method: str,
    url: str,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    content_type: str | None = None,
    observe: Observer | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Sends one request; returns (HTTP status, parsed JSON object, response headers).

    The token travels only in the Authorization header, never in the URL, and is never
    logged. Network failures become PlatformConnectionError, marked maybe_sent unless the
    connection was never made.
    """
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data: Any = None
    if json_body is not None:
        data = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        headers["Content-Type"] = content_type or "application/json; charset=UTF-8"
    elif form is not None:
        data = form
    started = time.perf_counter()
    outcome = "error"
    try:
        async with session.request(method, url, params=params, data=data, headers=headers) as response:
            raw = await response.read()
            status = response.status
            outcome = str(status)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
    except aiohttp.ClientConnectorError as exc:
        outcome = "connect_error"
        raise PlatformConnectionError(platform, endpoint, f"cannot connect: {exc.os_error}", False) from None
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        outcome = "timeout" if isinstance(exc, asyncio.TimeoutError) else "connection_error"
        detail = type(exc).__name__ if isinstance(exc, asyncio.TimeoutError) else str(exc) or type(exc).__name__
        raise PlatformConnectionError(platform, endpoint, detail, True) from None
    finally:
        elapsed = time.perf_counter() - started
        if observe is not None:
            observe(platform, endpoint, outcome, elapsed)
        log.debug(
            "platform call",
            extra={"platform": platform, "endpoint": endpoint, "status": outcome,
                   "duration_ms": round(elapsed * 1000, 2)},
        )
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PlatformConnectionError(
            platform, endpoint, f"HTTP {status} with a body that is not a JSON object", status >= 500
        )
    return status, body, response_headers


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
