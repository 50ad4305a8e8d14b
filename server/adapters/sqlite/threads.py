"""Names the store's threads for the operating system too (ps, top, /proc/<pid>/task/*/comm),
so an operator or a benchmark can tell the store thread's CPU from the event loop's."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

_PR_SET_NAME = 15
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if ctypes.util.find_library("c") else None


def name_this_thread() -> None:
    """Gives the calling thread's Python name (first 15 bytes) to the OS thread; Linux only."""
    prctl = getattr(_libc, "prctl", None)
    if prctl is not None:
        prctl(_PR_SET_NAME, threading.current_thread().name.encode()[:15], 0, 0, 0)
