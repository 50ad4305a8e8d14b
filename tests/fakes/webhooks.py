"""A webhook receiver in memory (the WebhookSender port): records every POST and answers as
`answer(post_number)` says (a status code; 200 by default), with `retry_after(post_number)`
seconds on a 429 or 503. With `gate` set, each POST waits for it (an attempt held in flight),
and the most POSTs in flight at once per URL are counted."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass, field

from server.domain.webhooks import Attempt, sign


@dataclass
class Post:
    url: str
    headers: dict[str, str]
    body: str


@dataclass
class FakeWebhookSender:
    answer: Callable[[int], int] = lambda _n: 200
    retry_after: Callable[[int], float | None] = lambda _n: None
    refused_hosts: tuple[str, ...] = ("127.0.0.1", "10.0.0.1", "localhost")
    posts: list[Post] = field(default_factory=list)
    outcomes: list[bool] = field(default_factory=list)  # per post: answered 2xx
    gate: asyncio.Event | None = None
    in_flight: collections.Counter[str] = field(default_factory=collections.Counter)
    most_in_flight: collections.Counter[str] = field(default_factory=collections.Counter)

    def url_refusal(self, url: str) -> str | None:
        if not url.startswith("https://"):
            return "only https URLs are fetched"
        host = url.removeprefix("https://").split("/", 1)[0]
        return f"{host} is a private address" if host in self.refused_hosts else None

    async def post(self, url: str, headers: dict[str, str], body: str) -> Attempt:
        self.posts.append(Post(url, dict(headers), body))
        number = len(self.posts)
        self.in_flight[url] += 1
        self.most_in_flight[url] = max(self.most_in_flight[url], self.in_flight[url])
        try:
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight[url] -= 1
        status = self.answer(number)
        self.outcomes.append(200 <= status < 300)
        if 200 <= status < 300:
            return Attempt(status, seconds=0.01)
        wait = self.retry_after(number) if status in (429, 503) else None
        return Attempt(status, f"HTTP {status}", retry_after=wait, seconds=0.01)

    def verified_by(self, post: Post, secret: str) -> bool:
        """Whether `secret` signed this POST (one of its signatures)."""
        expected = sign(secret, post.headers["webhook-id"], int(post.headers["webhook-timestamp"]), post.body)
        return expected in post.headers["webhook-signature"].split()
