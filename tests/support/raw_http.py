"""Requests written byte for byte to the HTTP gateway's socket, for what an HTTP client will not
send (non-UTF-8 headers, two Authorization headers, a forged Host, request lines over the
limits), and the answer read back with its AIP-193 error body."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    data: bytes

    @property
    def body(self) -> Any:
        """The JSON body, or None for an answer of another type (a console file) or none."""
        if not self.data or not self.headers.get("content-type", "").startswith("application/json"):
            return None
        return json.loads(self.data)

    @property
    def error(self) -> dict[str, Any]:
        body = self.body
        assert isinstance(body, dict) and set(body) == {"error"}, (self.status, self.headers, self.data[:300])
        error: dict[str, Any] = body["error"]
        return error

    def reason(self) -> str:
        return str(next(d for d in self.error["details"] if d["@type"].endswith("ErrorInfo"))["reason"])

    def violations(self) -> dict[str, str]:
        for detail in self.error["details"]:
            if detail["@type"].endswith("BadRequest"):
                return {v["field"]: v["description"] for v in detail["fieldViolations"]}
        raise AssertionError(f"no BadRequest in {self.error}")


async def raw(origin: str, request: bytes) -> Answer:
    """Sends `request` as is and reads one answer (by Content-Length, or to the close)."""
    where = urlsplit(origin)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        length = headers.get("content-length")
        data = await asyncio.wait_for(reader.readexactly(int(length)) if length else reader.read(), 20)
    finally:
        writer.close()
    return Answer(status, headers, data)


def request(
    verb: str, path: str | bytes, body: bytes = b"", headers: tuple[tuple[str, str | bytes], ...] = (),
    host: str | None = "127.0.0.1",
) -> bytes:
    """An HTTP/1.1 request with `Connection: close`; `host=None` sends no Host header."""
    target = path if isinstance(path, bytes) else path.encode()
    lines = [verb.encode() + b" " + target + b" HTTP/1.1", b"Connection: close"]
    if host is not None:
        lines.insert(1, b"Host: " + host.encode())
    for name, value in headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    if body:
        lines += [b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def assert_aip193(answer: Answer, status: int, code_name: str, reason: str | None = None) -> None:
    """`answer` is google.rpc.Status JSON sent with `status`, its `code` that status."""
    assert answer.status == status, (answer.status, answer.data[:300])
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    assert (answer.error["code"], answer.error["status"]) == (status, code_name), answer.error
    assert answer.error["message"]
    if reason is not None:
        assert answer.reason() == reason
