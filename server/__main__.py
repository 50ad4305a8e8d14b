"""`python -m server`: the command line. Runs the service until SIGTERM or SIGINT, then
shuts it down gracefully; anything that stops the start is one line on stderr."""

from __future__ import annotations

import os

# grpc's C core writes its own log lines (e.g. "I1129 ... Handshake failed") to stderr, not
# JSON: quiet them unless the operator asks for them (README, "Metrics and logs"). The core
# reads this once, when grpc is first imported (by the imports below), so it is set first.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import asyncio
import logging
import signal
import sys

import uvloop

from server.app import start_service
from server.config import Settings, StartError, load_settings
from server.logs import configure

log = logging.getLogger("distribution")

EXIT_UNEXPECTED = 1


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


async def serve(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)  # a signal during the start stops right after it
    try:
        service = await start_service(settings)
    except StartError:
        raise
    except Exception:
        # Not one of the failures a start expects: a bug. One JSON line, with the traceback.
        log.critical("cannot start: unexpected error", exc_info=True)
        return EXIT_UNEXPECTED
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
    return 0


def _refuse(err: StartError) -> int:
    print(f"distribution: cannot start: {err}", file=sys.stderr, flush=True)
    return err.exit_code


def main() -> int:
    try:
        settings = load_settings()
    except StartError as err:
        return _refuse(err)
    configure(settings.log_level)
    loop_factory = uvloop.new_event_loop if settings.event_loop == "uvloop" else None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(serve(settings))
    except StartError as err:
        return _refuse(err)


if __name__ == "__main__":
    sys.exit(main())
