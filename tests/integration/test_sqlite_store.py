"""The SQLite store: WAL, migrations, idempotent open, group commit, checkpoints off the
commit path. (Tokens sealed at rest: test_secrets_at_rest.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from server.adapters.migrations import MIGRATIONS
from server.adapters.sqlite.checkpoints import Checkpointer
from server.adapters.sqlite.database import MAX_BATCH, Database, atomic
from server.adapters.sqlite.rows import select
from tests.support.waiting import eventually

LATEST = max(m.version for m in MIGRATIONS)


def pragma(db: Database, name: str):
    return db.run(lambda conn: conn.execute(f"PRAGMA {name}").fetchone()[0])


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))


async def test_open_uses_wal_and_migrates_to_the_latest_version(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    try:
        assert (await pragma(db, "journal_mode")).lower() == "wal"
        assert await pragma(db, "user_version") == LATEST
        assert await pragma(db, "foreign_keys") == 1
    finally:
        await db.close()
    # Both persist in the file, as any other client sees it.
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert {"accounts", "media", "publishes", "publish_events"} <= set(tables(tmp_path / "store.db"))


async def test_open_creates_missing_directories(tmp_path):
    db = Database(tmp_path / "a" / "b" / "store.db")
    await db.open()
    await db.close()
    assert (tmp_path / "a" / "b" / "store.db").is_file()


async def test_opening_twice_is_idempotent_and_keeps_data(tmp_path):
    path = tmp_path / "store.db"
    first = Database(path)
    await first.open()
    await first.run(
        lambda conn: conn.execute(
            "INSERT INTO media (id, workspace_id, url, mime_type, kind, storage, created_at)"
            " VALUES ('m1', 'w', 'gs://b/x.jpg', 'image/jpeg', 'IMAGE', 'GCS', '2026-01-01T00:00:00.000000Z')"
        )
    )
    await first.close()
    schema = tables(path)

    second = Database(path)
    await second.open()
    try:
        assert await pragma(second, "user_version") == LATEST
        rows = await second.run(lambda conn: list(conn.query("SELECT id, url FROM media")))
        assert rows == [{"id": "m1", "url": "gs://b/x.jpg"}]
    finally:
        await second.close()
    assert tables(path) == schema


async def test_two_open_databases_on_one_file(tmp_path):
    path = tmp_path / "store.db"
    a, b = Database(path), Database(path)
    await a.open()
    await b.open()
    try:
        assert await pragma(b, "user_version") == LATEST
    finally:
        await a.close()
        await b.close()


def insert_media(media_id: str, fail: bool = False):
    """A store call with two statements; with fail=True it breaks after the first."""

    def call(db):
        with atomic(db):
            db.conn.execute(
                "INSERT INTO media (id, workspace_id, url, mime_type, kind, storage, created_at)"
                " VALUES (?, 'w', 'gs://b/x.jpg', 'image/jpeg', 'IMAGE', 'GCS', '2026-01-01T00:00:00.000000Z')",
                [media_id],
            )
            if fail:
                raise RuntimeError(f"{media_id} failed after its first statement")
            db.conn.execute("UPDATE media SET width = 1 WHERE id = ?", [media_id])
        return media_id

    return call


async def test_concurrent_calls_share_commits_and_a_failed_call_leaves_nothing(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    commits: list[str] = []
    await db.run(lambda conn: conn.conn.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None))
    try:
        saved = await asyncio.gather(*(db.run(insert_media(f"a{i}")) for i in range(40)))
        assert saved == [f"a{i}" for i in range(40)]
        # Calls queued together were committed together.
        assert len(commits) < 20

        results = await asyncio.gather(
            *(db.run(insert_media(f"b{i}", fail=(i == 17))) for i in range(40)), return_exceptions=True
        )
        assert isinstance(results[17], RuntimeError)
        assert [r for i, r in enumerate(results) if i != 17] == [f"b{i}" for i in range(40) if i != 17]
        rows = await db.run(lambda conn: select(conn, "SELECT id, width FROM media WHERE id LIKE 'b%'"))
        # Every other call of its batch is saved whole; the failed one left not even its first statement.
        assert sorted(r["id"] for r in rows) == sorted(f"b{i}" for i in range(40) if i != 17)
        assert {r["width"] for r in rows} == {1}
    finally:
        await db.close()


async def test_reads_alone_run_without_a_transaction_and_among_writes_share_theirs(tmp_path):
    """A read-only call costs no BEGIN and COMMIT of its own; batched with writes it reads
    inside their transaction (and sees what they wrote before it)."""
    db = Database(tmp_path / "store.db")
    await db.open()
    sent: list[str] = []
    await db.run(lambda conn: conn.conn.set_trace_callback(lambda sql: sent.append(sql.split()[0].upper())))
    count = "SELECT count(*) AS n FROM media"
    try:
        sent.clear()
        assert await asyncio.gather(*(db.read(select, count) for _ in range(3))) == [[{"n": 0}]] * 3
        assert sent == ["SELECT"] * 3
        sent.clear()
        written, read = await asyncio.gather(db.run(insert_media("w1")), db.read(select, count))
        assert (written, read) == ("w1", [{"n": 1}])
        assert sent[0] == "BEGIN" and sent[-1] == "COMMIT" and "SELECT" in sent
    finally:
        await db.close()


async def test_a_lone_failing_call_is_rolled_back(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    try:
        with pytest.raises(RuntimeError):
            await db.run(insert_media("lonely", fail=True))
        assert await db.run(lambda conn: select(conn, "SELECT id FROM media")) == []
        assert await db.run(insert_media("next")) == "next"  # the store goes on
    finally:
        await db.close()


async def test_commits_never_checkpoint_the_wal_a_thread_of_its_own_does(tmp_path):
    path = tmp_path / "store.db"
    db = Database(path, checkpoint_interval=3600)  # its checkpoint thread waits an hour
    await db.open()
    try:
        # 6 MB: far past SQLite's default of checkpointing in the commit crossing 1,000 WAL pages.
        for batch in range(60):
            await db.run(lambda conn, b=batch: conn.conn.executemany(
                "INSERT INTO media (id, workspace_id, url, mime_type, kind, storage, created_at)"
                " VALUES (?, 'w', ?, 'image/jpeg', 'IMAGE', 'GCS', '2026-01-01T00:00:00.000000Z')",
                [(f"row-{b}-{i}-", "gs://b/" + "x" * 1000) for i in range(100)],
            ))
        data, wal = await asyncio.to_thread(lambda: (path.read_bytes(), Path(f"{path}-wal").read_bytes()))
        assert b"row-0-0-" not in data  # no commit copied anything into the file
        assert b"row-0-0-" in wal

        def until_checkpointed() -> None:
            """Waits (10 s at most) for another thread to copy the last row into the file."""
            deadline = time.monotonic() + 10
            while b"row-59-99-" not in path.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.05)

        checkpoints = Checkpointer(path, interval=0.05)  # what the store runs, on a short clock
        checkpoints.start()
        try:
            await asyncio.to_thread(until_checkpointed)
        finally:
            await asyncio.get_running_loop().run_in_executor(None, checkpoints.stop)
        data = await asyncio.to_thread(path.read_bytes)
        assert b"row-0-0-" in data and b"row-59-99-" in data  # checkpointed while the store is open
        rows = await db.run(select, "SELECT count(*) AS n FROM media")
        assert rows == [{"n": 6000}]
    finally:
        await db.close()


async def test_a_closed_or_never_opened_database_refuses_calls_and_closes_quietly(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.close()  # nothing started: nothing to stop
    with pytest.raises(RuntimeError, match="database is not open"):
        await db.run(lambda conn: 1)
    await db.open()
    await db.open()  # a second open keeps the one store thread
    await db.close()
    with pytest.raises(RuntimeError, match="database is not open"):
        await db.run(lambda conn: 1)


async def test_an_in_memory_database_migrates_and_keeps_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = Database(":memory:")
    await db.open()
    try:
        assert await pragma(db, "user_version") == LATEST
        assert await db.run(insert_media("m1")) == "m1"
        assert [r["id"] for r in await db.run(lambda conn: select(conn, "SELECT id FROM media"))] == ["m1"]
    finally:
        await db.close()
    assert list(tmp_path.iterdir()) == []  # no database file, no WAL, no checkpoint thread's leftovers


async def test_more_calls_than_a_batch_holds_are_all_saved(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    try:
        count = MAX_BATCH * 2 + 10
        ids = [f"m{i}" for i in range(count)]
        async with queued_behind(db):
            calls = [asyncio.ensure_future(db.run(insert_media(media_id))) for media_id in ids]
        assert await asyncio.gather(*calls) == ids
        rows = await db.run(lambda conn: select(conn, "SELECT id FROM media"))
        assert sorted(r["id"] for r in rows) == sorted(ids)
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def queued_behind(db: Database):
    """Holds the store thread on a call of its own while the body queues calls; they are let
    through after every task created in the body has put its call in the queue (a callback
    scheduled after those tasks' first steps), so they reach the thread together."""
    started, gate = threading.Event(), threading.Event()

    def hold(conn) -> bool:
        started.set()
        return gate.wait(30)

    holder = asyncio.ensure_future(db.run(hold))
    await eventually(started.is_set, "the store thread runs the holding call")  # alone in its batch
    yield
    asyncio.get_running_loop().call_soon(gate.set)
    assert await holder is True


def add_child(child_id: str, parent_id: str):
    def call(db):
        db.conn.execute("INSERT INTO child (id, parent) VALUES (?, ?)", [child_id, parent_id])
        return child_id

    return call


async def with_deferred_foreign_key(db: Database) -> None:
    """A table whose foreign key is checked at COMMIT: a call that breaks it runs without an
    error, and its batch's commit fails (as on a full disk)."""
    for sql in (
        "CREATE TABLE parent (id TEXT PRIMARY KEY)",
        "CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO parent (id) VALUES ('p')",
    ):
        await db.run(lambda conn, sql=sql: conn.conn.execute(sql))


async def test_a_failed_commit_fails_every_call_of_its_batch_and_saves_none(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    try:
        await with_deferred_foreign_key(db)
        async with queued_behind(db):
            calls = [
                asyncio.ensure_future(db.run(add_child("good", "p"))),
                asyncio.ensure_future(db.run(add_child("orphan", "nobody"))),
                asyncio.ensure_future(db.run(insert_media("m1"))),
            ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results  # none may look saved
        assert await db.run(lambda conn: select(conn, "SELECT id FROM child")) == []
        assert await db.run(lambda conn: select(conn, "SELECT id FROM media")) == []
        assert await db.run(add_child("after", "p")) == "after"  # the store goes on
    finally:
        await db.close()


async def test_after_a_failed_call_each_call_of_its_batch_commits_or_fails_alone(tmp_path):
    db = Database(tmp_path / "store.db")
    await db.open()
    try:
        await with_deferred_foreign_key(db)
        async with queued_behind(db):
            calls = [
                asyncio.ensure_future(db.run(insert_media("broken", fail=True))),
                asyncio.ensure_future(db.run(add_child("orphan", "nobody"))),
                asyncio.ensure_future(db.run(add_child("good", "p"))),
            ]
        broken, orphan, good = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(broken, RuntimeError)
        assert isinstance(orphan, sqlite3.IntegrityError)  # its own commit failed, and only its
        assert good == "good"
        assert [r["id"] for r in await db.run(lambda conn: select(conn, "SELECT id FROM child"))] == ["good"]
        assert await db.run(lambda conn: select(conn, "SELECT id FROM media")) == []
    finally:
        await db.close()


async def test_atomic_is_a_transaction_of_its_own_outside_the_store_thread(tmp_path):
    path = tmp_path / "store.db"
    db = Database(path)
    await db.open()
    await db.close()
    conn = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    try:
        with pytest.raises(RuntimeError):
            insert_media("half", fail=True)(conn)
        assert not conn.conn.in_transaction
        assert insert_media("whole")(conn) == "whole"
        assert [r["id"] for r in select(conn, "SELECT id, width FROM media")] == ["whole"]
        assert select(conn, "SELECT width FROM media")[0]["width"] == 1  # both statements committed
    finally:
        conn.close()
