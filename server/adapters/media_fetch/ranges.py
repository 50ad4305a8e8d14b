"""The MediaBytes port over HTTP: a media file read one byte range at a time (`Range:
bytes=a-b`), in pieces of at most `piece_bytes`, so an upload holds no more than a piece
however large the file.

`GuardedMediaBytes` reads from the file's own host through the egress guard (https, public
addresses only, redirects checked); `SandboxMediaBytes` applies the guard's URL-level checks
and reads from the sandbox media host, as the inspector's sandbox fetcher does.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import aiohttp

from server.adapters.egress import EgressPolicy, EgressRefused, guarded_session, open_guarded
from server.adapters.media_fetch.inspector import SandboxFetcher
from server.domain.ports import MediaUnavailable

PIECE_BYTES = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)")


class _RangeReader:
    piece_bytes = PIECE_BYTES

    def _open(self, url: str, headers: dict[str, str]) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        raise NotImplementedError

    async def size(self, url: str) -> int:
        try:
            async with self._open(url, {"Range": "bytes=0-0", "Accept-Encoding": "identity"}) as response:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if response.status == 206 and match:
                    return int(match.group(3))
                length = response.headers.get("Content-Length", "")
                if response.status == 200 and length.isdigit():
                    return int(length)
                raise MediaUnavailable(f"the media host states no size (HTTP {response.status})")
        except (EgressRefused, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise MediaUnavailable(_why(exc)) from None

    async def read(self, url: str, first: int, last: int) -> AsyncIterator[bytes]:
        headers = {"Range": f"bytes={first}-{last}", "Accept-Encoding": "identity"}
        want = last - first + 1
        try:
            async with self._open(url, headers) as response:
                match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
                if response.status == 200:
                    # A host that ignores Range sends the whole file: skip to the range, in
                    # pieces, holding no more than one.
                    await self._skip(response, first)
                elif response.status != 206 or not match or int(match.group(1)) != first:
                    raise MediaUnavailable(f"the media host did not serve bytes {first}-{last} "
                                           f"(HTTP {response.status})")
                got = 0
                while got < want:
                    piece = await response.content.read(min(self.piece_bytes, want - got))
                    if not piece:
                        raise MediaUnavailable(f"the media host ended bytes {first}-{last} after {got} bytes")
                    got += len(piece)
                    yield piece
        except (EgressRefused, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise MediaUnavailable(_why(exc)) from None

    async def _skip(self, response: aiohttp.ClientResponse, count: int) -> None:
        skipped = 0
        while skipped < count:
            piece = await response.content.read(min(self.piece_bytes, count - skipped))
            if not piece:
                raise MediaUnavailable(f"the media host's file ended before byte {count}")
            skipped += len(piece)

    async def close(self) -> None:
        raise NotImplementedError


class GuardedMediaBytes(_RangeReader):
    def __init__(self, policy: EgressPolicy, limit: int = 16) -> None:
        self._policy = policy
        self._session = guarded_session(policy, limit=limit)

    def _open(self, url: str, headers: dict[str, str]) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        return open_guarded(self._session, url, self._policy, headers=headers)

    async def close(self) -> None:
        await self._session.close()


class SandboxMediaBytes(_RangeReader):
    def __init__(self, media_host: str, policy: EgressPolicy = EgressPolicy()) -> None:
        self._router = SandboxFetcher(media_host, policy)
        self._session = aiohttp.ClientSession(trust_env=False, auto_decompress=False)

    @asynccontextmanager
    async def _open(self, url: str, headers: dict[str, str]) -> AsyncIterator[aiohttp.ClientResponse]:
        async with self._session.get(self._router.route(url), headers=headers, allow_redirects=False) as response:
            yield response

    async def close(self) -> None:
        await self._router.close()
        await self._session.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, EgressRefused):
        return f"URL refused: {exc}"
    return f"the media host could not be read: {exc or type(exc).__name__}"
