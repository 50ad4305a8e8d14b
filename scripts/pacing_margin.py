"""Measures what DISTRIBUTION_TIKTOK_PACING_MARGIN must cover: the time from the pacer letting a
TikTok call go (its slot taken in the store's window) to the call's arrival at the server, and
above all how much that time differs between calls (server/adapters/tiktok/pacing.py).

The real TikTok client sends creator_info calls for one token to the TikTok emulator on
loopback, in bursts of concurrent calls on a fresh connection pool each (the first call of a
burst opens the connection, as a publish after a quiet spell does), while the event loop is
kept busy by other tasks. The slot store is the SQLite store's (in memory) or, with
--postgres URL, PostgreSQL's (one more round trip between the slot and the send).

    .venv/bin/python -m scripts.pacing_margin [--bursts 20] [--size 10] [--postgres URL]

Prints the grant-to-arrival times (min, median, p99, max) and their spread (max - min), which
is the least margin that keeps arrivals as far apart as the grants.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from server.adapters.http import new_session
from server.adapters.local import LocalRateWindows
from server.adapters.tiktok import RateLimits, TikTokClient
from server.domain.ports import RateWindows
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig

TOKEN = "pacing-margin-token"


class RecordingWindows:
    """The store's windows, noting when each slot was taken (monotonic clock)."""

    def __init__(self, windows: RateWindows, granted: list[float]) -> None:
        self._windows = windows
        self._granted = granted

    async def take(self, key: str, limit: int, window: float) -> float:
        delay = await self._windows.take(key, limit, window)
        if delay == 0:
            self._granted.append(time.monotonic())
        return delay


def arrival_recorder(arrived: list[float]) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v2/"):
            arrived.append(time.monotonic())
        return await handler(request)

    return record


async def busy(stop: asyncio.Event) -> None:
    """Other work on the event loop: short CPU slices, as a replica serving calls has."""
    while not stop.is_set():
        sum(range(20_000))
        await asyncio.sleep(0)


async def measure(bursts: int, size: int, postgres: str) -> list[float]:
    """The k-th arrival minus the k-th grant, for every k. Pairing by rank is what counts:
    the server's window holds the k-th to (k+limit)-th arrivals, the pacer's the grants."""
    granted: list[float] = []
    arrived: list[float] = []
    sandbox = TikTokSandbox(TikTokSandboxConfig(creator_info_limit_per_minute=0))
    sandbox.app.middlewares.insert(0, arrival_recorder(arrived))
    await sandbox.start()
    store = None
    if postgres:
        from cryptography.fernet import Fernet  # noqa: PLC0415

        from server.adapters.crypto import TokenCipher  # noqa: PLC0415
        from server.adapters.postgres import PostgresStore  # noqa: PLC0415

        store = await PostgresStore.open(postgres, TokenCipher([Fernet.generate_key()]), pool_size=4)
        windows: RateWindows = store.rate_windows
    else:
        windows = LocalRateWindows()
    stop = asyncio.Event()
    loaders = [asyncio.create_task(busy(stop)) for _ in range(4)]
    try:
        for _ in range(bursts):
            # A fresh connection pool: the burst's first call opens a connection.
            session = new_session()
            client = TikTokClient(session, sandbox.base_url, RecordingWindows(windows, granted),
                                  RateLimits(creator_info=1_000_000, margin=0.0))
            await asyncio.gather(*(client.creator_info(TOKEN) for _ in range(size)))
            await session.close()
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*loaders)
        await sandbox.stop()
        if store is not None:
            await store.close()
    return [a - g for a, g in zip(sorted(arrived), sorted(granted), strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--postgres", default="", help="a postgresql:// URL: PostgreSQL's slot store")
    args = parser.parse_args()
    delays = sorted(asyncio.run(measure(args.bursts, args.size, args.postgres)))
    ms = [d * 1000 for d in delays]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{len(ms)} calls, grant to arrival (ms): min {ms[0]:.1f}, median {statistics.median(ms):.1f}, "
          f"p99 {p99:.1f}, max {ms[-1]:.1f}; spread (least margin) {ms[-1] - ms[0]:.1f} ms")


if __name__ == "__main__":
    main()
