"""TikTok's chunk rules as a pure function (server/domain/tiktok_video.py, chunk_plan): for
every file size and preferred chunk size, the plan covers the file exactly, in order, with
chunks TikTok takes (media transfer guide: 5 to 64 MB, the final one up to 128 MB, 1 to 1000
chunks, total_chunk_count = floor(video_size / chunk_size), a small file whole)."""

from __future__ import annotations

import itertools

# Hypothesis imports these lazily, mid-run, which the unit layer's no-file guard refuses.
import hypothesis.internal.conjecture.optimiser
import hypothesis.internal.conjecture.shrinker  # noqa: F401
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.tiktok_video import (
    MAX_CHUNK_BYTES,
    MAX_CHUNKS,
    MAX_FINAL_CHUNK_BYTES,
    MAX_VIDEO_BYTES,
    MIN_CHUNK_BYTES,
    chunk_plan,
)

MiB = 1024 * 1024


@settings(database=None, deadline=None)
@given(
    video_size=st.integers(min_value=1, max_value=MAX_VIDEO_BYTES),
    preferred=st.integers(min_value=1, max_value=200 * MiB),
)
def test_every_plan_covers_the_file_in_chunks_tiktok_takes(video_size: int, preferred: int) -> None:
    plan = chunk_plan(video_size, preferred)
    assert 1 <= plan.total_chunk_count <= MAX_CHUNKS
    assert plan.total_chunk_count == video_size // plan.chunk_size
    ranges = [plan.byte_range(i) for i in range(plan.total_chunk_count)]
    assert ranges[0][0] == 0 and ranges[-1][1] == video_size - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    sizes = [last - first + 1 for first, last in ranges]
    if plan.total_chunk_count == 1:
        # A file no larger than a chunk goes whole (a file under 5 MB must).
        assert sizes == [video_size] and (video_size > MIN_CHUNK_BYTES or plan.chunk_size == video_size)
    else:
        assert all(MIN_CHUNK_BYTES <= size <= MAX_CHUNK_BYTES for size in sizes[:-1])
        assert plan.chunk_size <= sizes[-1] <= MAX_FINAL_CHUNK_BYTES


def test_the_last_chunk_absorbs_the_trailing_bytes() -> None:
    plan = chunk_plan(23 * MiB, 10 * MiB)
    assert (plan.chunk_size, plan.total_chunk_count) == (10 * MiB, 2)
    assert plan.byte_range(1) == (10 * MiB, 23 * MiB - 1)


def test_a_preferred_size_outside_tiktoks_bounds_is_brought_within_them() -> None:
    assert chunk_plan(100 * MiB, 1).chunk_size == MIN_CHUNK_BYTES
    assert chunk_plan(1000 * MiB, 500 * MiB).chunk_size == MAX_CHUNK_BYTES


def test_a_file_under_five_mib_is_one_chunk_of_its_size() -> None:
    plan = chunk_plan(4 * MiB + 7, 10 * MiB)
    assert (plan.video_size, plan.chunk_size, plan.total_chunk_count) == (4 * MiB + 7, 4 * MiB + 7, 1)


@pytest.mark.parametrize("size", [0, MAX_VIDEO_BYTES + 1])
def test_an_empty_or_oversized_file_has_no_plan(size: int) -> None:
    with pytest.raises(ValueError):
        chunk_plan(size, 10 * MiB)


def test_a_range_past_the_plan_is_refused() -> None:
    with pytest.raises(IndexError):
        chunk_plan(30 * MiB, 10 * MiB).byte_range(3)
