"""Webhook deliveries over HTTP (the WebhookSender port): one POST per attempt through the
egress guard (server/adapters/egress.py, the same one media fetching uses): no loopback,
private, link-local or metadata target unless the configuration allows it, the connection
made only to addresses the guard checked, its peer checked again. Redirects are not
followed (a 3xx is a failed attempt): a receiver says where it is when it is registered.
"""

from __future__ import annotations

import asyncio

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
        try:
            target = check_url(url, self._policy, allow_http=self._allow_http)
            async with asyncio.timeout(self._time_limit):
                async with self._session.post(
                    target, data=body.encode(), headers=headers, allow_redirects=False
                ) as response:
                    check_peer(response, self._policy, URL(target))
                    await response.content.read(MAX_ANSWER_BYTES)
                    if 200 <= response.status < 300:
                        return Attempt(response.status)
                    return Attempt(response.status, f"HTTP {response.status}")
        except EgressRefused as refused:
            return Attempt(0, f"refused: {refused}")
        except TimeoutError:
            return Attempt(0, f"no answer within {self._time_limit:g} s")
        except aiohttp.ClientError as err:
            return Attempt(0, f"connection failed ({type(err).__name__})")
        except OSError as err:
            return Attempt(0, f"connection failed ({err.strerror or type(err).__name__})")

    async def close(self) -> None:
        await self._session.close()
