"""The SQLite database: one connection owned by one thread, versioned migrations, WAL.

Every query runs on the store's own thread (`Database.run`), so the event loop never
blocks on SQLite and the connection is never shared between threads.

The thread works in batches: every call queued while it was busy is taken at once, run
in one transaction, committed once, and answered with one wake-up of the event loop.
Under load that turns dozens of commits and loop wake-ups into one of each (group
commit). Should a call fail, the batch is rolled back and each call run again alone, so a
failed call leaves nothing behind and never takes the others with it. A caller is
answered only after the commit, so a result in hand is always saved.

Every SQLite statement hands the GIL to the event loop and back, and under load each
hand-back waits for the loop: so store calls use as few statements as they can (no
savepoints; `atomic` below is free inside a batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from server.adapters.migrations import MIGRATIONS
from server.adapters.sqlite.checkpoints import CHECKPOINT_INTERVAL, WAL_SIZE_LIMIT, Checkpointer
from server.adapters.sqlite.threads import name_this_thread

T = TypeVar("T")

log = logging.getLogger("distribution.store")

# Most calls taken into one transaction: bounds how long the first of them waits for its commit.
MAX_BATCH = 256

# (fn, args, kwargs, future, loop, writes): a call that only reads says so (`Database.read`).
_Job = tuple[
    Callable[..., Any], tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop, bool
]
_STOP: Any = object()


class Database:
    def __init__(self, path: Path | str, checkpoint_interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = Path(path)
        self._checkpoints = Checkpointer(self.path, checkpoint_interval) if str(path) != ":memory:" else None
        self._db: sqlite_utils.Database | None = None
        # A C-level queue: putting a job and waking the store thread for it is one call, with
        # no Python-level lock or condition on either side (they showed in the store profile).
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="sqlite", daemon=True)
            self._thread.start()
        self._db = await self._submit(lambda: _open(self.path))
        if self._checkpoints is not None:
            self._checkpoints.start()

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Runs fn(db, *args, **kwargs) on the store thread and returns its result."""
        if self._db is None:
            raise RuntimeError("database is not open")
        return await self._submit(fn, (self._db, *args), kwargs)

    async def read(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """As `run`, for a call that only reads: a batch of reads alone runs without a
        transaction (each statement reads one consistent snapshot), saving its BEGIN and
        COMMIT; among writes it joins their transaction."""
        if self._db is None:
            raise RuntimeError("database is not open")
        return await self._submit(fn, (self._db, *args), kwargs, writes=False)

    async def close(self) -> None:
        if self._thread is None:
            return
        if self._checkpoints is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpoints.stop)
        if self._db is not None:
            db, self._db = self._db, None
            await self._submit(db.close)
        self._jobs.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None

    def _submit(
        self, fn: Callable[..., T], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
        writes: bool = True,
    ) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, args, kwargs or {}, future, loop, writes))
        return future

    # --- the store thread -----------------------------------------------------

    def _work(self) -> None:
        name_this_thread()
        jobs = self._jobs
        while True:
            batch = [jobs.get()]  # waits, without the GIL, for the first call
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                self._answer(self._run_batch(batch[: batch.index(_STOP)]))
                return
            self._answer(self._run_batch(batch))

    def _run_batch(self, batch: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        try:
            return self._run_in_transaction(batch)
        except BaseException as exc:
            log.exception("store batch failed", extra={"calls": len(batch)})
            return [(job, False, exc) for job in batch]

    def _run_in_transaction(self, batch: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        if self._db is None or not any(job[5] for job in batch):  # opening, or reads only: no transaction
            return [self._run_one(job) for job in batch]
        conn = self._db.conn
        conn.execute("BEGIN")
        done = [self._run_one(job) for job in batch]
        if not all(ok for _, ok, _ in done):
            # A call failed, maybe part-way: undo the batch, then run each call alone, so
            # the failed one leaves nothing behind and the others are unaffected by it.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return done if len(batch) == 1 else [self._run_alone(job) for job in batch]
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed", extra={"calls": len(batch), "error": str(exc)})
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Nothing of the batch was saved: every call fails, none may look saved.
            return [(job, False, exc) for job in batch]
        return done

    def _run_alone(self, job: _Job) -> tuple[_Job, bool, Any]:
        assert self._db is not None
        conn = self._db.conn
        conn.execute("BEGIN")
        outcome = self._run_one(job)
        if outcome[1]:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                outcome = (job, False, exc)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return outcome

    @staticmethod
    def _run_one(job: _Job) -> tuple[_Job, bool, Any]:
        fn, args, kwargs, _, _, _ = job
        try:
            return job, True, fn(*args, **kwargs)
        except BaseException as exc:
            return job, False, exc

    @staticmethod
    def _answer(outcomes: list[tuple[_Job, bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, _, _, future, loop, _), ok, value in outcomes:
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, answers)


def _settle(answers: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in answers:
        if future.done():
            continue  # its caller was cancelled
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _open(path: Path) -> sqlite_utils.Database:
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 5000")
    db.enable_wal()
    # NORMAL is corruption-safe under WAL and loses nothing on a process crash.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    # Checkpoints run on their own thread (server/store/checkpoints.py), never in a commit.
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    migrate(db)
    return db


@contextlib.contextmanager
def atomic(db: sqlite_utils.Database) -> Iterator[None]:
    """Makes a store call's statements all-or-nothing. Calls run inside their batch's
    transaction (see Database), which a failed call rolls back before the others are run
    again alone; so within a batch this only marks intent, outside one it is a transaction."""
    if db.conn.in_transaction:
        yield
        return
    db.conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> None:
    """Applies every migration newer than the file's user_version, each in one transaction."""
    current = schema_version(db)
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        with db.atomic():
            for sql in migration.sqlite:
                db.conn.execute(sql)
            db.conn.execute(f"PRAGMA user_version = {int(migration.version)}")
