"""Run order for the whole suite: the longest modules first.

`make test` spreads modules over two xdist workers (`--dist loadscope`), in collection order.
A two-minute module collected last (the bench smoke run sits in e2e/, late in the alphabet)
would start when the other worker is nearly done and add its whole length to the wall time;
started first, it runs beside everything else."""

from __future__ import annotations

import pytest

# Slowest first (from `--durations`): each is one xdist scope, so each stays on one worker.
LONGEST_FIRST = (
    "tests/e2e/test_bench_smoke.py",
    "tests/mutation/test_smoke.py",
    "tests/e2e/test_replicas.py",
    "tests/api/test_fuzz.py",
    "tests/e2e/test_crash_recovery.py",
    "tests/e2e/test_scheduling_processes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}

    def order(item: pytest.Item) -> int:
        return rank.get(item.nodeid.split("::", 1)[0], len(rank))

    items.sort(key=order)  # stable: the rest keep their collected order
