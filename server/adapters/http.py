"""HTTP for the platform adapters: one aiohttp session per platform, and the request helper
every platform call uses. What a failed call means is each platform's own business
(its `errors` module); this module only reports what happened on the wire."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, Span, StatusCode

log = logging.getLogger("distribution.platform")
# The process's tracer provider's (a no-op one while tracing is off): docs/tracing.md.
_tracer = trace.get_tracer("distribution.platform")

# Called after every platform call with (platform, endpoint, HTTP status or failure kind, seconds).
Observer = Callable[[str, str, str, float], None]


class NoUsableAnswer(Exception):
    """The call got no answer the API defines: the connection was refused or reset, it
    timed out, or the body is not a JSON object. `sent` is False only when the request
    surely never reached the platform (no connection was made); `http_status` is the
    status of an answer whose body was unreadable, else 0."""

    def __init__(self, detail: str, *, sent: bool, http_status: int = 0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sent = sent
        self.http_status = http_status


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
    observe: Observer | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Sends one request; returns (HTTP status, parsed JSON object, response headers).

    The token travels only in the Authorization header, never in the URL, and is never
    logged. Anything but a JSON object answer raises NoUsableAnswer. Traced as one span
    named for the platform's operation, with its HTTP status and platform error code
    (never the URL, its parameters, the body or the token).
    """
    with platform_span(platform, endpoint) as span:
        if span is None:
            return await _request_json(
                session, platform, endpoint, method, url, token=token, params=params, json_body=json_body,
                form=form, observe=observe,
            )
        try:
            answer = await _request_json(
                session, platform, endpoint, method, url, token=token, params=params, json_body=json_body,
                form=form, observe=observe,
            )
        except NoUsableAnswer as failed:
            if failed.http_status:
                span.set_attribute("http.response.status_code", failed.http_status)
            span.set_status(StatusCode.ERROR, "no usable answer")
            raise
        _traced_answer(span, answer[0], answer[1])
        return answer


@contextmanager
def platform_span(platform: str, endpoint: str) -> Iterator[Span | None]:
    """The span of one platform call, named for its operation (never its URL); None while
    tracing is off or the trace was dropped by the sampler, when no span is made at all."""
    parent = trace.get_current_span()
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider) or (
        parent.get_span_context().is_valid and not parent.is_recording()
    ):
        yield None
        return
    # start_span and attach rather than start_as_current_span: its own two generator context
    # managers cost a quarter of a span's creation (bench/profiles/tracing.md).
    span = _tracer.start_span(
        f"{platform} {endpoint}",
        attributes={"distribution.platform": platform, "distribution.platform.operation": endpoint},
    )
    current = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield span
    finally:
        otel_context.detach(current)
        span.end()


def _traced_answer(span: Span, status: int, body: dict[str, Any]) -> None:
    """The status and the platform's error code (Graph API `error.code` and `error_subcode`,
    TikTok `error.code` other than "ok") on the call's span."""
    if not span.is_recording():
        return
    span.set_attribute("http.response.status_code", status)
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if code is not None and code != "ok":
        span.set_attribute("distribution.platform.error_code", str(code))
        if isinstance(subcode := error.get("error_subcode"), int | str):  # type: ignore[union-attr]
            span.set_attribute("distribution.platform.error_subcode", str(subcode))
        span.set_status(StatusCode.ERROR, f"platform error {code}")
    elif status >= 400:
        span.set_status(StatusCode.ERROR, f"HTTP {status}")


async def _request_json(
    session: aiohttp.ClientSession,
    platform: str,
    endpoint: str,
    method: str,
    url: str,
    *,
    token: str | None,
    params: dict[str, str] | None,
    json_body: Any,
    form: dict[str, str] | None,
    observe: Observer | None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data: Any = None
    if json_body is not None:
        data = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json; charset=UTF-8"
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
        raise NoUsableAnswer(f"cannot connect: {exc.os_error}", sent=False) from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        outcome = "timeout" if isinstance(exc, asyncio.TimeoutError) else "connection_error"
        detail = "no answer in time" if isinstance(exc, asyncio.TimeoutError) else str(exc) or type(exc).__name__
        raise NoUsableAnswer(detail, sent=True) from None
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
        # The request arrived (an answer came back), so it may have been acted on.
        raise NoUsableAnswer(
            f"HTTP {status} with a body that is not a JSON object", sent=True, http_status=status
        )
    return status, body, response_headers


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """Retry-After in seconds; None when absent or not a number of seconds (an HTTP date
    is not used by either platform)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None  # NaN compares False too


def limit_wait(canonical: str, stated: float | None, window: float | None) -> float | None:
    """RetryInfo's delay for a platform's error: for a limit (RESOURCE_EXHAUSTED, all of which
    free with time) the wait the platform stated (Retry-After), else what its window implies;
    None for any other error."""
    if canonical != "RESOURCE_EXHAUSTED":
        return None
    return stated if stated is not None else window
