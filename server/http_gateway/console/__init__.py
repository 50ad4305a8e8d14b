"""The console: a read-mostly page for the people who debug publishes, served at /console/
on the HTTP gateway's port.

It is static files only (server/http_gateway/console/static/, shipped as package data) that
call the public HTTP API from the browser with the caller's own API key: no endpoint of its
own, no data in the files, so the files need no key while every API call keeps its
authentication. Each console response carries a Content-Security-Policy that allows scripts,
styles, images and fetches from the service's own origin only (no inline code, no framing,
Trusted Types required so that no HTML string can reach the page), with nosniff and
no-referrer. The files are read once at start, kept with their gzip form and a validator
(ETag), and looked up by name in that table, so no request path ever reaches the file system.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from google.rpc import code_pb2

from server.http_gateway import errors

log = logging.getLogger("distribution.http")

PREFIX = "/console/"
STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Below this the gzip framing costs more than it saves.
_GZIP_FROM_BYTES = 512


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def load_files(directory: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every file under `directory` by its path relative to it ("js/app.js")."""
    files: dict[str, StaticFile] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else ():
        body = path.read_bytes()
        content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        packed = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= _GZIP_FROM_BYTES else None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        files[path.relative_to(directory).as_posix()] = StaticFile(body, packed, content_type, etag)
    return files


def _accepts_gzip(request: web.BaseRequest) -> bool:
    offered = request.headers.get("Accept-Encoding", "")
    return any(part.split(";")[0].strip().lower() == "gzip" for part in offered.split(","))


class Console:
    """The console's paths: `/console` (to `/console/`), `/console/` (the page) and its files.

    The gateway hands it every request under those paths, after the checks every request
    passes (aiohttp's parser limits, the gateway's own refusals); what it refuses it raises
    as errors.Refused, which the gateway answers as every other refusal (AIP-193 JSON, the
    request id, the log line). A path under /console/ never reaches an API method."""

    def __init__(self, files: dict[str, StaticFile] | None = None) -> None:
        self.files = load_files() if files is None else files
        if INDEX not in self.files:  # an install without the package data: say so once
            log.warning("the console's files are missing; /console/ answers 404", extra={"directory": str(STATIC_DIR)})

    @staticmethod
    def serves(path: str) -> bool:
        return path == PREFIX.rstrip("/") or path.startswith(PREFIX)

    def answer(self, request: web.BaseRequest) -> web.StreamResponse:
        """The file `request` asks for. Raises errors.Refused for another method than GET
        or HEAD (405) and a name that is not a shipped file (404)."""
        if request.method not in ("GET", "HEAD"):
            raise errors.Refused(
                405, code_pb2.UNIMPLEMENTED, f"The console's files take GET or HEAD, not {request.method[:20]}",
                "METHOD_NOT_ALLOWED", {**SECURITY_HEADERS, "Allow": "GET, HEAD"},
            )
        if request.path == PREFIX.rstrip("/"):
            return web.Response(status=308, headers={**SECURITY_HEADERS, "Location": PREFIX})
        found = self.files.get(request.path[len(PREFIX):] or INDEX)
        if found is None:
            raise errors.Refused(
                404, code_pb2.NOT_FOUND, f"No console file at this path; the console is at {PREFIX}",
                "CONSOLE_FILE_NOT_FOUND", SECURITY_HEADERS,
            )
        headers = {**SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if found.etag in (tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")):
            return web.Response(status=304, headers=headers)
        body = found.body
        if found.gzipped is not None and _accepts_gzip(request):
            body = found.gzipped
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers={**headers, "Content-Type": found.content_type})
