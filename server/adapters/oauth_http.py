"""The HTTP of the connect flows' calls (code exchange, profile read), shared by both
platforms' connectors: an unusable answer is an ExchangeFailure the caller may retry by
starting again; what an answer means is each platform's own business."""

from __future__ import annotations

from typing import Any

import aiohttp

from server.adapters.http import NoUsableAnswer, Observer, request_json
from server.domain.connections import ExchangeFailure, ExchangeProblem


async def oauth_call(
    session: aiohttp.ClientSession,
    platform: str,
    endpoint: str,
    method: str,
    url: str,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    observe: Observer | None = None,
) -> tuple[int, dict[str, Any]]:
    try:
        status, payload, _ = await request_json(
            session, platform, endpoint, method, url, token=token, params=params, form=form, observe=observe
        )
    except NoUsableAnswer as exc:
        raise ExchangeFailure(ExchangeProblem.UNAVAILABLE, f"no usable answer to {endpoint}: {exc.detail}") from None
    if status >= 500 or status == 429:
        raise ExchangeFailure(ExchangeProblem.UNAVAILABLE, f"HTTP {status} from {endpoint}", str(status))
    return status, payload


def text(value: Any, limit: int = 300) -> str:
    """A platform's message, printable and bounded, for an error detail."""
    return "".join(c for c in str(value or "")[:limit] if c.isprintable())


def seconds(value: Any) -> int:
    """A lifetime in seconds as the platform gave it; 0 when absent or not a number."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
