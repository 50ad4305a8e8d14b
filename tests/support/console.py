"""The console's world for browser tests, screenshots and the benchmark: `python -m server`
as `make run` starts it (both platforms on the built-in sandbox, on free ports, the HTTP
gateway on), and a small synchronous client of its HTTP API that makes accounts, media
and publishes as a caller would."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.client import INSTAGRAM_USER_ID
from tests.support.processes import ServiceProcess, service_env

_CONSOLE = r"Console:\s+(http://\S+/console/)"


@contextmanager
def console_service(workdir: Path, **overrides: str) -> Iterator[tuple[ServiceProcess, str]]:
    """The service with its console: (process, console URL). The sandbox takes
    DISTRIBUTION_SANDBOX_PROCESSING_DELAY per container or post (0.5 s unless overridden),
    so a publish is seen going through PROCESSING."""
    defaults = {"DISTRIBUTION_HTTP_LISTEN": "127.0.0.1:0", "DISTRIBUTION_SANDBOX_PROCESSING_DELAY": "0.5"}
    settings = service_env(workdir, **{**defaults, **overrides})
    service = ServiceProcess(settings, workdir / "service.log")
    service.start()
    try:
        yield service, console_url(service)
    finally:
        service.stop()


def console_url(service: ServiceProcess) -> str:
    """The console's URL, as the started service's banner names it."""
    return service.wait_for(_CONSOLE, 10).group(1)


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """JSON over HTTP against `origin` (e.g. http://127.0.0.1:41234), with an API key or none."""

    def __init__(self, origin: str, key: str = "") -> None:
        self.origin = origin.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(
            self.origin + "/api/v1" + path, method=method, headers=headers,
            data=None if body is None else json.dumps(body).encode(),
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, json.loads(err.read() or b"{}")) from None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, {} if body is None else body)

    # --- what a caller makes ---------------------------------------------------------------

    def instagram_account(self, username: str = "demo", external: str = INSTAGRAM_USER_ID) -> str:
        return str(self.post("/accounts", {
            "platform": "INSTAGRAM", "externalAccountId": external, "username": username,
            "accessToken": "sandbox-token",
        })["account"]["id"])

    def tiktok_account(self, username: str = "demo_tt", external: str = "sandbox-open-id") -> str:
        return str(self.post("/accounts", {
            "platform": "TIKTOK", "externalAccountId": external, "username": username,
            "accessToken": "sandbox-tiktok-token",
        })["account"]["id"])

    def media(self, *urls: str) -> list[str]:
        return [str(self.post("/media", {"url": url})["media"]["id"]) for url in urls]

    def images(self, n: int, prefix: str) -> list[str]:
        """`n` JPEGs the sandbox media host serves (GCS-hosted, so TikTok may pull them)."""
        return self.media(*(f"gs://demo-bucket/{prefix}-{i}.jpg" for i in range(n)))

    def instagram(self, account: str, media: list[str], caption: str = "", **fields: Any) -> Any:
        return self.post("/publish/instagram/carousel", {
            "mediaIds": media, "instagramAccountId": account, "caption": caption, "allowDuplicate": True, **fields,
        })

    def tiktok(self, account: str, media: list[str], caption: str = "", **fields: Any) -> Any:
        return self.post("/publish/tiktok/carousel", {
            "mediaIds": media, "tiktokAccountId": account, "caption": caption, "allowDuplicate": True,
            "privacyLevel": "PUBLIC_TO_EVERYONE", "postMode": "direct", "creatorConsentObtained": True, **fields,
        })

    def publishes(self, **query: str) -> list[dict[str, Any]]:
        text = "&".join(f"{k}={v}" for k, v in query.items())
        return list(self.get("/publishes" + (f"?{text}" if text else "")).get("publishes", []))


def later(minutes: float) -> str:
    """An RFC 3339 time `minutes` from now (for publish_time)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def origin_of(console_url: str) -> str:
    found = re.match(r"(https?://[^/]+)", console_url)
    assert found is not None, console_url
    return found.group(1)
