"""A webhook receiver in memory (the WebhookSender port): records every POST and answers as
`answer(post_number)` says (a status code; 200 by default)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from server.domain.webhooks import Attempt


@dataclass
class Post:
    url: str
    headers: dict[str, str]
    body: str


@dataclass
class FakeWebhookSender:
    answer: Callable[[int], int] = lambda _n: 200
    refused_hosts: tuple[str, ...] = ("127.0.0.1", "10.0.0.1", "localhost")
    posts: list[Post] = field(default_factory=list)
    outcomes: list[bool] = field(default_factory=list)  # per post: answered 2xx

    def url_refusal(self, url: str) -> str | None:
        if not url.startswith("https://"):
            return "only https URLs are fetched"
        host = url.removeprefix("https://").split("/", 1)[0]
        return f"{host} is a private address" if host in self.refused_hosts else None

    async def post(self, url: str, headers: dict[str, str], body: str) -> Attempt:
        self.posts.append(Post(url, dict(headers), body))
        status = self.answer(len(self.posts))
        self.outcomes.append(200 <= status < 300)
        return Attempt(status) if 200 <= status < 300 else Attempt(status, f"HTTP {status}")
