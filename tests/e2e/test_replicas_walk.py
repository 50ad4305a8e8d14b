"""`make replicas` and the takeover walk of docs/replicas.md, as a reader runs them: the
script's cluster on a fresh PostgreSQL database, the page's block pasted into bash (only the
addresses change), then Ctrl-C (SIGINT): every process ends and the database is dropped."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path

import asyncpg

from tests.support.paths import ROOT
from tests.support.postgres import ADMIN_URL, _admin
from tests.support.processes import Child, clean_env

PAGE = ROOT / "docs" / "replicas.md"
# The addresses the page's block names, as `make replicas` gives them by default.
DEFAULTS = ("127.0.0.1:50061", "127.0.0.1:50062", "http://127.0.0.1:8091", "PIDS=var/replicas")
READY = r"Stop everything with Ctrl-C\.\n"


def walk_block() -> str:
    found = re.search(r"<!-- takeover-walk -->\n```bash\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert found is not None, "docs/replicas.md lost its takeover walk"
    block = found.group(1)
    assert all(default in block for default in DEFAULTS), "the walk changed its addresses: update this test"
    return block


def _alive(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}").stat()
    except FileNotFoundError:
        return False
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


async def _databases(prefix: str) -> set[str]:
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%")
    finally:
        await admin.close()
    return {row["datname"] for row in rows}


async def test_make_replicas_runs_the_takeover_walk_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    await (await _admin()).close()  # skips (or fails in CI) where no PostgreSQL answers
    block = walk_block()
    cluster = Child(
        "replicas",
        ["-m", "scripts.replicas", "--postgres", ADMIN_URL, "--dir", str(tmp_path),
         "--grpc-port", "0", "--http-port", "0", "--metrics-port", "0", "--emulator-port", "0",
         "--lease-seconds", "2", "--processing-delay", "2"],
        tmp_path / "replicas.out",
        clean_env(),
    )
    cluster.start_seconds = 120.0
    cluster.spawn()
    try:
        await asyncio.wait_for(cluster.await_for(READY), 120)
        printed = cluster.output()
        grpc = re.findall(r"replica \d: gRPC (\S+)", printed)
        pids = [int(p) for p in re.findall(r" pid (\d+) ", printed)]
        instagram = re.search(r"Instagram emulator: (http://127\.0\.0\.1:\d+)", printed)
        database = re.search(r"database:\s+postgresql://\S+/(distribution_replicas_\w+)", printed)
        assert len(grpc) == 2 and len(pids) == 2 and instagram and database, printed
        assert database.group(1) in await _databases("distribution_replicas_")

        script = (
            block.replace(DEFAULTS[0], grpc[0]).replace(DEFAULTS[1], grpc[1])
            .replace(DEFAULTS[2], instagram.group(1)).replace(DEFAULTS[3], f"PIDS={tmp_path}")
        )
        walked = await asyncio.to_thread(
            subprocess.run, ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=150, check=False
        )
        out = walked.stdout + walked.stderr
        assert walked.returncode == 0, out
        assert "Code: Unavailable" in walked.stderr, out  # the call to the killed replica
        assert not _alive(pids[0]) and _alive(pids[1]), out
        assert re.search(r'^    "state": "PUBLISH_STATE_PUBLISHED"', walked.stdout, re.MULTILINE), out
        types = re.findall(r'"type": "(\w+)"', walked.stdout)
        assert types[:2] == ["CREATED", "PROCESSING_STARTED"] and "PUBLISHED" in types, out
        assert (types.count("CHILD_CONTAINER_CREATED"), types.count("CAROUSEL_CONTAINER_CREATED")) == (2, 1), out
        assert walked.stdout.rstrip().endswith("1 post on Instagram"), out

        cluster._popen().send_signal(signal.SIGINT)
        assert await asyncio.to_thread(cluster.wait, 60) == 0, cluster.output()
        assert cluster.output().rstrip().endswith("Stopped."), cluster.output()
        assert not any(_alive(pid) for pid in pids)
        assert database.group(1) not in await _databases("distribution_replicas_")
        assert not await asyncio.to_thread(lambda: list(tmp_path.glob("replica-*.pid")))
    finally:
        cluster.kill()
