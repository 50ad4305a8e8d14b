"""``MediaHost``: the sandbox's stand-in for the web hosts media live on (Google Cloud
Storage first), serving real files for the URL convention (README.md)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from aiohttp import web

from server.sandbox.emulator import Emulator
from server.sandbox.media.convention import MediaSpec, NotServed, spec_for
from server.sandbox.media.images import file_head

ENDPOINTS = ("object",)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
                  "MP4": "video/mp4", "MOV": "video/quicktime", "WEBM": "video/webm", "AVI": "video/x-msvideo",
                  "MKV": "video/x-matroska", "TEXT": "text/plain; charset=utf-8"}


@dataclass
class MediaHostConfig:
    # What a bare `slow` in a file name waits before answering (`slow-3s` says its own).
    slow_seconds: float = 30.0


class MediaHost(Emulator[MediaHostConfig]):
    """Serves ``GET|HEAD /<host>/<path>`` with the file the URL convention describes, with
    byte ranges (``Range: bytes=a-b``), Content-Length and, for ranges, Content-Range."""

    def __init__(self, config: MediaHostConfig | None = None) -> None:
        super().__init__(config if config is not None else MediaHostConfig(), ENDPOINTS)
        self._stopping = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/_sandbox/calls", self._calls)
        self.app.router.add_route("GET", "/{host}/{path:.*}", self._serve)
        self.app.router.add_route("HEAD", "/{host}/{path:.*}", self._serve)

    async def stop(self) -> None:
        self._stopping.set()  # slow answers end now
        await super().stop()

    async def _calls(self, request: web.Request) -> web.Response:
        return web.json_response({"counts": dict(self.calls.counts), "total": self.calls.total()})

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.calls.record("object")
        host = request.match_info["host"].lower()
        path = "/" + request.match_info["path"]
        try:
            spec = spec_for(host, path, f"{host}{request.path_qs}")
        except NotServed as exc:
            return web.Response(status=400, text=f"{exc}\n")
        if spec.slow_seconds:
            wait = spec.slow_seconds if "slow-" in path.lower() else self.config.slow_seconds
            try:
                await asyncio.wait_for(self._stopping.wait(), wait)
                return web.Response(status=503, text="the sandbox media host is stopping\n")
            except TimeoutError:
                pass
        if spec.unreachable:
            return web.Response(status=404, text="No such object (the sandbox's unreachable URLs).\n")
        return await self._send(request, spec)

    async def _send(self, request: web.Request, spec: MediaSpec) -> web.StreamResponse:
        head = await asyncio.to_thread(file_head, spec)  # a large image or a video takes a while to make
        total = max(spec.total_bytes or 0, len(head))
        start, end = 0, total - 1
        status = 200
        ranged = _RANGE.match(request.headers.get("Range", "").strip())
        if ranged and total > 0:
            first, last = ranged.groups()
            if first:
                start, end = int(first), min(int(last), total - 1) if last else total - 1
            elif last:  # the last N bytes
                start, end = max(total - int(last), 0), total - 1
            if start >= total or start > end:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{total}"})
            status = 206
        response = web.StreamResponse(status=status)
        response.content_type = _CONTENT_TYPES[spec.format].split(";")[0]
        response.content_length = end - start + 1
        response.headers["Accept-Ranges"] = "bytes"
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        position = start
        while position <= end:
            stop = min(position + _CHUNK, end + 1)
            await response.write(_slice(head, position, stop))
            position = stop
        await response.write_eof()
        return response


def _slice(head: bytes, start: int, stop: int) -> bytes:
    """Bytes [start, stop) of the file: its real bytes, then zeros up to the padded size."""
    real = head[start:stop]
    return real + b"\x00" * (stop - start - len(real))
