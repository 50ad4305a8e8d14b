"""WAL checkpoints on a thread of their own, off the store thread.

In WAL mode a commit only appends to the -wal file; a checkpoint later copies those pages
into the database file and fsyncs it. SQLite's default runs the checkpoint inside the
commit that crosses 1,000 WAL pages, so every few dozen publishes one store call (and
every call batched behind it) waited for an fsync: at one publish at a time that was the
+15 ms tail of the unary benchmark's p99. The store's connection turns automatic
checkpoints off (`wal_autocheckpoint = 0`) and this thread runs a PASSIVE checkpoint on
its own connection every `interval` seconds instead. PASSIVE never blocks the store's
reads or writes; pages a reader still needs are simply left for the next pass.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from server.adapters.sqlite.threads import name_this_thread

log = logging.getLogger("distribution.store")

# Seconds between checkpoints. Under the 2,000-publish burst the WAL grows a few MB a second.
CHECKPOINT_INTERVAL = 0.5
# The -wal file is cut back to this size after a checkpoint that emptied it.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class Checkpointer:
    def __init__(self, path: Path, interval: float = CHECKPOINT_INTERVAL) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread after its current pass (blocks until then)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        name_this_thread()
        conn = sqlite3.connect(str(self._path), isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            while not self._stop.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # e.g. the disk is full: the next pass tries again
                    log.warning("wal checkpoint failed", extra={"error": str(exc)})
        finally:
            conn.close()
