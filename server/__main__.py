"""`python -m server`: run the service until SIGTERM or SIGINT, then shut down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from server.app import create_server
from server.config import ConfigError, Settings, load_settings
from server.logs import configure
from server.store.secrets import SecretKeyError

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
    service = await create_server(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "started",
        extra={
            "address": service.address,
            "instagram_api": "sandbox" if service.instagram_sandbox else settings.instagram_api_base,
            "tiktok_api": "sandbox" if service.tiktok_sandbox else settings.tiktok_api_base,
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
    loop_factory = None
    if settings.event_loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
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
