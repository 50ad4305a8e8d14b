"""The range-read file video probing reads through: the first bytes from what was already
fetched, then whole blocks, each fetched once, never beyond its budget. (Probing real videos:
tests/integration/test_video_inspection.py.)"""

from __future__ import annotations

import io

import pytest

from server.adapters.media_fetch.video import BLOCK, BudgetSpent, RangeFile


def test_reads_come_from_the_head_then_from_whole_blocks_fetched_once() -> None:
    data = bytes(range(256)) * 1024  # 256 KiB
    asked: list[tuple[int, int]] = []

    def read_range(start: int, length: int) -> bytes:
        asked.append((start, length))
        return data[start : start + length]

    file = RangeFile(read_range, len(data), data[:1000], budget=1 << 20)
    assert file.read(500) == data[:500] and asked == []
    file.seek(-10, io.SEEK_END)
    assert file.read(100) == data[-10:]
    file.seek(len(data) - 3000)
    assert file.read(2000) == data[-3000:-1000]
    assert asked == [(3 * BLOCK, BLOCK)]  # the last block, once
    assert file.bytes_read == 1000 + BLOCK


def test_a_read_beyond_the_budget_is_refused_before_it_is_sent() -> None:
    file = RangeFile(lambda s, n: b"\0" * n, 10 * BLOCK, b"", budget=BLOCK)
    file.seek(0)
    assert len(file.read(10)) == 10
    file.seek(5 * BLOCK)
    with pytest.raises(BudgetSpent):
        file.read(10)
