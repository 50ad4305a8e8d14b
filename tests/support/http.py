"""An HTTP client for the service's HTTP/JSON gateway (server/http_gateway/): JSON in and
out over a real socket, and the AIP-193 error body read back."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict


@dataclass
class Reply:
    status: int
    body: Any
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)

    @property
    def error(self) -> dict[str, Any]:
        """The AIP-193 error object of an error reply."""
        assert isinstance(self.body, dict) and "error" in self.body, self.body
        error: dict[str, Any] = self.body["error"]
        return error

    def detail(self, kind: str) -> dict[str, Any]:
        """The error detail of `kind` (e.g. "ErrorInfo", "BadRequest", "RetryInfo")."""
        for detail in self.error["details"]:
            if detail["@type"] == f"type.googleapis.com/google.rpc.{kind}":
                return dict(detail)
        raise AssertionError(f"no {kind} in {self.error}")

    @property
    def reason(self) -> str:
        return str(self.detail("ErrorInfo")["reason"])

    @property
    def violations(self) -> dict[str, str]:
        return {v["field"]: v["description"] for v in self.detail("BadRequest")["fieldViolations"]}


class HttpApi:
    """Calls against one origin, e.g. http://127.0.0.1:41234, with optional default headers."""

    def __init__(self, origin: str, headers: dict[str, str] | None = None, ssl_context: ssl.SSLContext | None = None):
        self.origin = origin
        self.headers = headers or {}
        self.ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpApi:
        connector = aiohttp.TCPConnector(ssl=self.ssl_context) if self.ssl_context is not None else None
        self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def call(
        self, verb: str, path: str, json_body: Any = None, *, data: bytes | str | None = None,
        headers: dict[str, str] | None = None, params: Any = None,
    ) -> Reply:
        assert self._session is not None
        async with self._session.request(
            verb, self.origin + path, json=json_body, data=data, params=params,
            headers={**self.headers, **(headers or {})},
        ) as response:
            text = await response.text()
            try:
                body = json.loads(text) if text else None
            except json.JSONDecodeError:
                body = text
            return Reply(response.status, body, CIMultiDict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Reply:
        return await self.call("POST", path, json_body, **kwargs)

    async def each_line(self, path: str) -> AsyncIterator[str]:
        """A streaming GET's non-empty lines as they come (a 200 answer is insisted on)."""
        assert self._session is not None
        async with self._session.get(self.origin + path, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            async for raw in response.content:
                if line := raw.decode().strip():
                    yield line

    async def lines(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
        """A streaming GET read to its end: status, content type and its non-empty lines."""
        assert self._session is not None
        async with self._session.get(self.origin + path, headers={**self.headers, **(headers or {})}) as response:
            text = await response.text()
            return response.status, response.content_type, [line for line in text.splitlines() if line]
