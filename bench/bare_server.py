"""The baseline for the unary case: a bare grpc.aio server, nothing but the transport.

It implements PublishingService.PublishInstagramCarousel with a canned response of the
real response type: no interceptor, no validation, no database, no platform calls.
`--option key=value` passes a grpc server option (used to test
`grpc.server.max_pending_requests` under a burst); `--delay` makes each call wait before
answering, to hold calls in flight as a slow publish would.

    python -m bench.bare_server --listen 127.0.0.1:0 [--delay 0] [--option k=v ...]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import grpc
from distribution.v1 import publish_pb2, publishing_service_pb2, publishing_service_pb2_grpc

CANNED = publishing_service_pb2.PublishInstagramCarouselResponse(
    instagram_publish_id="6f1c4f8e-2b1a-4d3e-9c57-0a6d2f9e1b42",
    ig_media_id="17895695668004550",
    permalink="https://www.instagram.com/p/Cx1a2B3c4D5/",
    image_count=3,
    state=publish_pb2.PUBLISH_STATE_PUBLISHED,
)


class BarePublishing(publishing_service_pb2_grpc.PublishingServiceServicer):
    def __init__(self, delay: float) -> None:
        self._delay = delay

    async def PublishInstagramCarousel(self, request, context):  # gRPC's method name
        if self._delay:
            await asyncio.sleep(self._delay)
        response = publishing_service_pb2.PublishInstagramCarouselResponse()
        response.CopyFrom(CANNED)
        response.image_count = len(request.media_ids)
        return response


def _option(text: str) -> tuple[str, int | str]:
    key, _, value = text.partition("=")
    return key, int(value) if value.lstrip("-").isdigit() else value


async def serve(listen: str, delay: float, options: list[tuple[str, int | str]]) -> None:
    server = grpc.aio.server(options=options)
    publishing_service_pb2_grpc.add_PublishingServiceServicer_to_server(BarePublishing(delay), server)
    port = server.add_insecure_port(listen)
    await server.start()
    print(f"bare server listening on {listen.rsplit(':', 1)[0]}:{port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_server")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--option", action="append", default=[], help="grpc server option key=value")
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.delay, [_option(o) for o in args.option]))


if __name__ == "__main__":
    main()
