"""`python -m server`: the command line. Runs the service until SIGTERM or SIGINT, then
shuts it down gracefully; a bad setting stops it at start with one line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvloop

from server.adapters.crypto import SecretKeyError
from server.app import start_service
from server.config import ConfigError, Settings, load_settings
from server.logs import configure

log = logging.getLogger("distribution")


def _banner(settings: Settings, address: str) -> str:
    sandbox = settings.instagram_api_base == "sandbox" or settings.tiktok_api_base == "sandbox"
    lines = [
        f"Distribution is listening on {address}"
        + (" (platforms: built-in sandbox emulators, no credentials needed)" if sandbox else ""),
        "Try it (README.md has the full walkthrough):",
        f"  .venv/bin/grpcurl -plaintext {address} list",
        f"  .venv/bin/grpcurl -plaintext {address} grpc.health.v1.Health/Check",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


async def serve(settings: Settings) -> None:
    service = await start_service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "started",
        extra={
            "address": service.address,
            "instagram_api": "sandbox" if service.sandboxes.instagram else settings.instagram_api_base,
            "tiktok_api": "sandbox" if service.sandboxes.tiktok else settings.tiktok_api_base,
            "db": str(settings.db_path),
        },
    )
    print(_banner(settings, service.address), file=sys.stderr, flush=True)
    await stop.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace})
    await service.stop()
    log.info("stopped")


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as err:
        print(f"distribution: configuration error: {err}", file=sys.stderr)
        return 2
    configure(settings.log_level)
    loop_factory = uvloop.new_event_loop if settings.event_loop == "uvloop" else None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(settings))
    except (ConfigError, SecretKeyError) as err:
        print(f"distribution: configuration error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"distribution: cannot start: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
