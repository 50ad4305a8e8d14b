"""`make replicas`: a local cluster in one command, to try replicas and takeovers by hand
(docs/replicas.md walks one).

It creates a fresh database on the local PostgreSQL server, starts the sandbox media host
and both platform emulators as processes of their own (shared by the replicas, as the real
platforms would be, and outliving any replica), then two replicas of `python -m server` on
that database with one sealing key, each on its own gRPC, HTTP and metrics ports. It prints
the addresses, writes each replica's process id to `<dir>/replica-N.pid`, and on Ctrl-C (or
SIGTERM) stops the replicas, the emulators and drops the database.

    python -m scripts.replicas --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from cryptography.fernet import Fernet

from tests.support.processes import EmulatorProcess, ServiceProcess, service_env

DEFAULT_SERVER = os.environ.get("DISTRIBUTION_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.replicas", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_SERVER,
                        help="a database on the server where this may create and drop databases (default %(default)s)")
    parser.add_argument("--replicas", type=int, default=2, help="how many replicas (default %(default)s)")
    parser.add_argument("--grpc-port", type=int, default=50061,
                        help="the first replica's gRPC port; the next ones count up (0: any free port)")
    parser.add_argument("--http-port", type=int, default=8061, help="the first replica's HTTP/JSON port (0: any)")
    parser.add_argument("--metrics-port", type=int, default=9461, help="the first replica's metrics port (0: any)")
    parser.add_argument("--emulator-port", type=int, default=8091,
                        help="the Instagram emulator's port; TikTok's is the next, the media host's after it (0: any)")
    parser.add_argument("--lease-seconds", type=float, default=5.0,
                        help="DISTRIBUTION_LEASE_SECONDS: how soon a dead replica's publishes are taken over")
    parser.add_argument("--processing-delay", type=float, default=3.0,
                        help="seconds the emulators keep a container or photo post processing")
    parser.add_argument("--dir", type=Path, default=Path("var/replicas"),
                        help="where logs and pid files go (default %(default)s)")
    return parser.parse_args(argv)


def _port(first: int, index: int) -> int:
    return 0 if first == 0 else first + index


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url`, dropped (with its connections)
    when the block ends."""
    name = f"distribution_replicas_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = server_url.rpartition("/")
        try:
            yield f"{base}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class LocalCluster:
    """The emulators and the replicas of one run, as processes."""

    def __init__(self, args: argparse.Namespace, database_url: str) -> None:
        self.dir = args.dir.resolve()
        delay = str(args.processing_delay)
        first = args.emulator_port
        self.instagram = EmulatorProcess("instagram", self.dir, "--processing-delay", delay, port=_port(first, 0))
        self.tiktok = EmulatorProcess(
            "tiktok", self.dir, "--processing-delay", delay, "--moderation-delay", "5", port=_port(first, 1)
        )
        self.media = EmulatorProcess("media", self.dir, port=_port(first, 2))
        self.args = args
        self.database_url = database_url
        self.replicas: list[ServiceProcess] = []

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await self.media.astart()
        # The platforms download the images they are given from the shared media host.
        for emulator in (self.instagram, self.tiktok):
            emulator.args += ["--media-host", self.media.origin]
        await asyncio.gather(self.instagram.astart(), self.tiktok.astart())
        key = Fernet.generate_key().decode()
        for i in range(self.args.replicas):
            settings = service_env(
                self.dir / f"replica-{i + 1}",
                self.instagram.base_url,
                self.tiktok.base_url,
                DISTRIBUTION_LISTEN=f"127.0.0.1:{_port(self.args.grpc_port, i)}",
                DISTRIBUTION_HTTP_LISTEN=f"127.0.0.1:{_port(self.args.http_port, i)}",
                DISTRIBUTION_METRICS_LISTEN=f"127.0.0.1:{_port(self.args.metrics_port, i)}",
                DISTRIBUTION_DB=self.database_url,
                DISTRIBUTION_SECRET_KEYS=key,
                DISTRIBUTION_LEASE_SECONDS=str(self.args.lease_seconds),
                DISTRIBUTION_SHUTDOWN_GRACE="5",
            )
            self.replicas.append(ServiceProcess(settings, self.dir / f"replica-{i + 1}.log"))
        # One at a time: the first migrates the new database, the others find it done.
        for i, replica in enumerate(self.replicas):
            await replica.astart()
            (self.dir / f"replica-{i + 1}.pid").write_text(f"{replica.pid}\n")

    def addresses(self) -> str:
        lines = [f"Distribution: {len(self.replicas)} replicas on one PostgreSQL database"]
        for i, replica in enumerate(self.replicas):
            banner = replica.output()
            http = _after(banner, "HTTP/JSON:")
            metrics = _after(banner, "Metrics:")
            lines.append(
                f"  replica {i + 1}: gRPC {replica.address}  HTTP {http}  metrics {metrics}  "
                f"pid {replica.pid} ({self.dir / f'replica-{i + 1}.pid'})"
            )
        lines += [
            f"  database:  {self.database_url} (dropped at the end)",
            f"  Instagram emulator: {self.instagram.base_url} (control: {self.instagram.origin}/_sandbox/posts)",
            f"  TikTok emulator:    {self.tiktok.base_url} (control: {self.tiktok.origin}/_sandbox/posts)",
            f"  media host:         {self.media.origin}",
            f"  logs:      {self.dir}/*.log",
            "Try a takeover: docs/replicas.md. Stop everything with Ctrl-C.",
        ]
        return "\n".join(lines)

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()
        for emulator in (self.instagram, self.tiktok, self.media):
            emulator.stop()
        for pid_file in self.dir.glob("replica-*.pid"):
            pid_file.unlink(missing_ok=True)


def _after(banner: str, label: str) -> str:
    for line in banner.splitlines():
        if line.strip().startswith(label):
            return line.split(label, 1)[1].split()[0]
    return "off"


async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        try:
            url = await stack.enter_async_context(fresh_database(args.postgres))
        except (OSError, asyncpg.PostgresError) as err:
            print(f"replicas: cannot create a database through {args.postgres} ({err}); start PostgreSQL, or "
                  "pass --postgres a database on a server where this user may create databases", file=sys.stderr)
            return 1
        cluster = LocalCluster(args, url)
        stack.callback(cluster.stop)  # before the database is dropped
        try:
            await cluster.start()
        except (RuntimeError, TimeoutError) as err:  # a process that exited or never said it was ready
            print(f"replicas: cannot start: {err}", file=sys.stderr)
            return 1
        print(cluster.addresses(), flush=True)
        await stop.wait()
        print("Stopping: the replicas, the emulators, then the database.", flush=True)
    print("Stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
