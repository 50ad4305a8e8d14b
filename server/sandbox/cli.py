"""The command line both emulators share: ``python -m server.sandbox.<name> --port N ...``.

Prints the base URL on stdout (scripts read that line), serves on uvloop until SIGINT or
SIGTERM, then stops the emulator (its port is released, its state file written) and exits
0. A state file that cannot be used stops the start with one line on stderr (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import uvloop

from server.sandbox.emulator import Emulator
from server.sandbox.persist import StateFileError


def parser(
    prog: str, description: str, *, port: int, processing_delay: float
) -> argparse.ArgumentParser:
    """An argument parser with the options every emulator takes; add the platform's own."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, default=port, help="loopback port (0 picks a free one)")
    parser.add_argument("--processing-delay", type=float, default=processing_delay)
    parser.add_argument(
        "--state", type=Path, metavar="FILE",
        help="keep the emulator's world in FILE across restarts (loaded at start, written after every change)",
    )
    return parser


def serve(emulator: Emulator[Any], port: int, title: str) -> None:
    """Serves `emulator` on 127.0.0.1:`port` until SIGINT or SIGTERM, then stops it."""
    # A Ctrl-C before the handlers are installed (while starting) still ends quietly.
    try:
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(_serve(emulator, port, title))
    except StateFileError as err:
        print(f"{title}: --state {err.path} {err.reason}; fix or delete it to start afresh", file=sys.stderr)
        sys.exit(2)


async def _serve(emulator: Emulator[Any], port: int, title: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await emulator.start(port)
    try:
        print(url, flush=True)
        print(f"{title} serving; Ctrl-C to stop.", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await emulator.stop()
