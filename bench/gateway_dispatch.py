"""How the HTTP gateway reaches the gRPC methods, measured: in process through the same
interceptors (server/grpc_api/inprocess.py, what it does) against a loopback gRPC channel to
the service's own port (the other option), both driven from the service's process, as the
gateway would be.

    .venv/bin/python -m bench.gateway_dispatch [--calls 2000]

Prints CPU (process time: every thread, grpc's included) and wall time per GetPublish of a
published Instagram carousel, in alternating rounds. Not part of `make bench`: it decided a
design once; case 6 (bench/cases/http.py) measures the gateway as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import grpc
from distribution.v1 import publishing_service_pb2 as pb

from server.app import start_service
from server.grpc_api.inprocess import Caller
from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from tests.support import settings as fast
from tests.support.client import Stubs, connect, images, register
from tests.support.inprocess import running

METHOD = "/distribution.v1.PublishingService/GetPublish"


async def measure(calls: int, rounds: int) -> None:
    async with running(InstagramSandbox(fast.instagram_config())) as instagram, \
            running(TikTokSandbox(fast.tiktok_config())) as tiktok:
        settings = fast.fast_settings(Path(tempfile.mkdtemp()), instagram.base_url, tiktok.base_url)
        service = await start_service(settings)
        try:
            async with grpc.aio.insecure_channel(service.address) as channel:
                accounts, media, publishing = Stubs.on(channel)
                account = await connect(accounts)
                published = await publishing.PublishInstagramCarousel(pb.PublishInstagramCarouselRequest(
                    media_ids=await register(media, *images(3)), instagram_account_id=account.id
                ))
                request = pb.GetPublishRequest(id=published.instagram_publish_id)
                caller = Caller(metadata=(("x-request-id", "bench"),))
                ways = {
                    "in process": lambda: service.grpc.calls.unary(METHOD, request, caller),
                    "loopback channel": lambda: publishing.GetPublish(request),
                }
                for round_ in range(rounds):
                    for name, call in ways.items():
                        for _ in range(calls // 10):  # warm up
                            await call()
                        cpu, wall = time.process_time(), time.perf_counter()
                        for _ in range(calls):
                            await call()
                        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                        print(f"round {round_ + 1}, {name}: {cpu / calls * 1000:.3f} ms CPU, "
                              f"{wall / calls * 1000:.3f} ms wall per GetPublish")
        finally:
            await service.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    logging.disable(logging.CRITICAL)  # one access log line per call would be measured too
    asyncio.run(measure(options.calls, options.rounds))


if __name__ == "__main__":
    main()
