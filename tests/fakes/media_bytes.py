"""A fake of the MediaBytes port: files of given sizes by URL, read a range at a time in
pieces of at most `piece_bytes`, every read recorded; a URL may be scripted to fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from server.domain.ports import MediaUnavailable


@dataclass
class FakeMediaBytes:
    sizes: dict[str, int] = field(default_factory=dict)
    piece_bytes: int = 64 * 1024
    # Each read: (url, first, last).
    reads: list[tuple[str, int, int]] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)

    async def size(self, url: str) -> int:
        if url in self.unreadable or url not in self.sizes:
            raise MediaUnavailable(f"the media host could not be read: {url}")
        return self.sizes[url]

    async def read(self, url: str, first: int, last: int) -> AsyncIterator[bytes]:
        if url in self.unreadable:
            raise MediaUnavailable(f"the media host could not be read: {url}")
        self.reads.append((url, first, last))
        at = first
        while at <= last:
            n = min(self.piece_bytes, last - at + 1)
            yield bytes([at % 251]) * n
            at += n
