"""`python -m server`: the command line. Runs the service until SIGTERM or SIGINT, then
shuts it down gracefully; anything that stops the start is one line on stderr.

stderr carries the service's log, one JSON object per line; the start banner, for people,
goes to stdout.
"""

from __future__ import annotations

import os

# grpc's C core writes its own log lines (e.g. "I1129 ... Handshake failed") to stderr, not
# JSON: quiet them unless the operator asks for them (docs/operations.md). The core
# reads this once, when grpc is first imported (by the imports below), so it is set first.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import asyncio
import logging
import signal
import sys
from typing import Any

import uvloop

from server.app import Service, start_service
from server.config import SETTINGS, Settings, StartError, load_settings, unknown_variables
from server.logs import configure

log = logging.getLogger("distribution")

EXIT_UNEXPECTED = 1


def banner(service: Service) -> str:
    """What a person starting the service needs to know, and how to try it."""
    facts = service.facts()
    address, security = facts["address"], facts["transport_security"]
    auth = []
    if facts["api_key_workspaces"]:
        auth.append(f"API keys for {_count(facts['api_key_workspaces'], 'workspace')}")
    if security == "mutual_tls":
        mapped = facts["client_certificate_workspaces"]
        auth.append(f"client certificates mapped to {_count(mapped, 'workspace')}")
    if not auth:
        auth.append("none: every caller shares one workspace (loopback only)")
    lines = [
        f"Distribution is listening on {address}",
        "  Transport:      " + {
            "plaintext": "plaintext",
            "tls": "TLS",
            "mutual_tls": "mutual TLS (clients need a certificate signed by DISTRIBUTION_TLS_CLIENT_CA)",
        }[security],
        "  Authentication: " + "; ".join(auth),
        f"  Platforms:      Instagram {facts['instagram_api']}; TikTok {facts['tiktok_api']}",
        f"  Store:          {facts['store']}",
        f"  Metrics:        {facts['metrics']}",
    ]
    if facts["http"] != "off":
        lines.append(f"  HTTP/JSON:      {facts['http']} (OpenAPI: {facts['http']}/api/v1/openapi.json)")
    if facts["console"] != "off":
        lines.append(f"  Console:        {facts['console']} (in a browser)")
    if facts["health_listen"] != "off":
        lines.append(f"  Health probes:  {facts['health_listen']} (plaintext, grpc.health.v1 only)")
    tool = ".venv/bin/grpcurl -plaintext"
    lines.append("Try it (README.md, then docs/walkthrough.md):")
    if security != "plaintext":
        tool = ".venv/bin/grpcurl -cacert CA.pem"
        note = "CA.pem: the CA that signed DISTRIBUTION_TLS_CERT"
        if security == "mutual_tls":
            tool += " -cert CLIENT.pem -key CLIENT.key"
            note += "; CLIENT.pem, CLIENT.key: a client certificate it signed, and its key"
        lines.append(f"  ({note})")
    lines += [f"  {tool} {address} list", f"  {tool} {address} grpc.health.v1.Health/Check"]
    if facts["api_key_workspaces"]:
        lines.append('  Calls to the API also need -H "authorization: Bearer $KEY" (health and reflection do not).')
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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
    facts: dict[str, Any] = service.facts()
    log.info("started", extra=facts)
    print(banner(service), flush=True)
    await stop.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace})
    await service.stop()
    log.info("stopped")
    return 0


def _refuse(err: StartError) -> int:
    print(f"distribution: cannot start: {err}", file=sys.stderr, flush=True)
    return err.exit_code


def warn_unknown_variables() -> None:
    """One WARNING per DISTRIBUTION_* variable that is no setting (a typo, an old name): the
    start goes on, as it did without it. Its value is never logged."""
    for unknown in unknown_variables(os.environ, (setting.env for setting in SETTINGS)):
        log.warning(unknown.message(), extra={"variable": unknown.name, "did_you_mean": unknown.meant or ""})


def main() -> int:
    try:
        settings = load_settings()
    except StartError as err:
        return _refuse(err)
    configure(settings.log_level)
    warn_unknown_variables()
    loop_factory = uvloop.new_event_loop if settings.event_loop == "uvloop" else None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(serve(settings))
    except StartError as err:
        return _refuse(err)


if __name__ == "__main__":
    sys.exit(main())
