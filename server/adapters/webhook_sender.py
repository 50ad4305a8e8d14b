"""Webhook deliveries over HTTP (the WebhookSender port): one POST per attempt through the
egress guard (server/adapters/egress.py, the same one media fetching uses): no loopback,
private, link-local or metadata target unless the configuration allows it, the connection
made only to addresses the guard checked, its peer checked again. Redirects are not
followed (a 3xx is a failed attempt): a receiver says where it is when it is registered.
A 429 or 503 answer's Retry-After (seconds or an HTTP date, RFC 9110 section 10.2.3) is
passed on for the dispatcher to honour.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

import aiohttp
from yarl import URL

from server.adapters.egress import EgressPolicy, EgressRefused, check_peer, check_url, guarded_session
from server.domain.webhooks import Attempt

# The receiver's answer is read up to this much (only to finish the exchange; it is ignored).
MAX_ANSWER_BYTES = 64 * 1024


class HttpWebhookSender:
    def __init__(self, policy: EgressPolicy, *, time_limit: float = 10.0, allow_http: bool = False,
                 concurrency: int = 16) -> None:
        self._policy = policy
        self._time_limit = time_limit
        self._allow_http = allow_http
        self._session = guarded_session(policy, limit=concurrency)

    def url_refusal(self, url: str) -> str | None:
        try:
            check_url(url, self._policy, allow_http=self._allow_http)
        except EgressRefused as refused:
            return str(refused)
        return None

    async def post(self, url: str, headers: dict[str, str], body: str) -> Attempt:
        started = time.monotonic()
        try:
            target = check_url(url, self._policy, allow_http=self._allow_http)
            async with asyncio.timeout(self._time_limit):
                async with self._session.post(
                    target, data=body.encode(), headers=headers, allow_redirects=False
                ) as response:
                    check_peer(response, self._policy, URL(target))
                    await response.content.read(MAX_ANSWER_BYTES)
                    took = time.monotonic() - started
                    if 200 <= response.status < 300:
                        return Attempt(response.status, seconds=took)
                    wait = retry_after(response.headers.get("retry-after")) if response.status in (429, 503) else None
                    return Attempt(response.status, f"HTTP {response.status}", retry_after=wait, seconds=took)
        except EgressRefused as refused:
            return Attempt(0, f"refused: {refused}", seconds=time.monotonic() - started)
        except TimeoutError:
            return Attempt(0, f"no answer within {self._time_limit:g} s", seconds=time.monotonic() - started)
        except aiohttp.ClientError as err:
            return Attempt(0, f"connection failed ({type(err).__name__})", seconds=time.monotonic() - started)
        except OSError as err:
            return Attempt(
                0, f"connection failed ({err.strerror or type(err).__name__})", seconds=time.monotonic() - started
            )

    async def close(self) -> None:
        await self._session.close()


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After value asks to wait (a number of seconds or an HTTP date); None
    when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
