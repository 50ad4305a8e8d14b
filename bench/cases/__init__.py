"""The benchmark cases. Each module's `run(scale)` returns a bench.report.CaseResult."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How big each case runs: FULL for `make bench`, SMOKE for tests/e2e/test_bench_smoke.py."""

    name: str
    # 1. unary overhead: closed-loop concurrency levels, warm-up and window per level (s)
    unary_levels: tuple[int, ...] = (1, 16, 64)
    unary_warmup: float = 2.0
    unary_duration: float = 8.0
    # 2. concurrency: publishes started at once (half each platform), emulator delay (s)
    burst_publishes: int = 2000
    burst_delay: float = 2.0
    burst_instagram_accounts: int = 100
    bare_burst: int = 2000
    # 3. upstream cost: emulator delay for the slow run (s), publishes per scenario
    upstream_delay: float = 2.0
    upstream_fast_iterations: int = 10
    upstream_slow_iterations: int = 3
    # 4. history: rows inserted, timed calls per query, how deep the deep page is
    history_rows: int = 1_000_000
    history_samples: int = 300
    history_deep_page: int = 20
    # 6. HTTP gateway: closed-loop levels, warm-up and window per level (s), alternating rounds
    http_levels: tuple[int, ...] = (16,)
    http_warmup: float = 2.0
    http_duration: float = 6.0
    http_rounds: int = 2
    # 7. scheduling: publishes scheduled for one second (and as many immediate ones), how far
    # ahead they are scheduled (s), emulator delay (s)
    schedule_publishes: int = 1000
    schedule_lead: float = 20.0
    schedule_delay: float = 0.5
    # 8. PostgreSQL vs SQLite: closed-loop levels, warm-up and measured window per level (s)
    pg_levels: tuple[int, ...] = (1, 16, 64)
    pg_warmup: float = 2.0
    pg_duration: float = 8.0
    pg_rounds: int = 2  # runs of each store, alternating SQLite, PostgreSQL, PostgreSQL, SQLite
    # 9. replicas: callers, warm-up and measured window (s)
    replicas_callers: int = 64
    replicas_warmup: float = 3.0
    replicas_duration: float = 10.0
    replicas_rounds: int = 2  # runs of each (1, 2, 2, 1, ...): drift on a shared machine evens out
    # 10. console: publishes in the store, first loads (each in a new browser context), draws
    # of the list view per filter (and as many curl calls of the same URL)
    console_rows: int = 10_000
    console_loads: int = 5
    console_samples: int = 30
    # 11. tracing: closed-loop concurrency, warm-up and measured window (s), rounds of the three
    # services (alternating order)
    tracing_level: int = 16
    tracing_warmup: float = 2.0
    tracing_duration: float = 8.0
    tracing_rounds: int = 2
    # 12. single image and Reel: publishes of each kind (each on a fresh account), and the
    # seconds of random pictures in the large test videos (about 5 MB a second at 720x1280)
    single_media_publishes: int = 5
    single_media_noise_seconds: int = 2
    # 13. TikTok video: the uploaded video (the media host's convention: random pictures of
    # this size and length; 720x1280 for 3 s is about 59 MB) and the chunk size (MiB)
    video_file: str = "noise-720x1280-3s"
    video_chunk_mib: int = 10


FULL = Scale("full")
SMOKE = Scale(
    "smoke",
    unary_levels=(1, 4),
    unary_warmup=0.2,
    unary_duration=0.5,
    burst_publishes=20,
    burst_delay=0.2,
    burst_instagram_accounts=2,
    bare_burst=20,
    upstream_delay=0.2,
    upstream_fast_iterations=1,
    upstream_slow_iterations=1,
    history_rows=10_000,
    history_samples=5,
    history_deep_page=3,
    http_levels=(2,),
    http_warmup=0.2,
    http_duration=0.5,
    http_rounds=1,
    schedule_publishes=20,
    schedule_lead=6.0,
    schedule_delay=0.2,
    pg_levels=(4,),
    pg_warmup=0.3,
    pg_duration=0.8,
    pg_rounds=1,
    replicas_callers=4,
    replicas_warmup=0.3,
    replicas_duration=0.8,
    replicas_rounds=1,
    console_rows=500,
    single_media_publishes=2,
    single_media_noise_seconds=1,
    console_loads=1,
    console_samples=2,
    tracing_level=2,
    tracing_warmup=0.2,
    tracing_duration=0.5,
    tracing_rounds=1,
    video_file="noise-360x640-2s",
    video_chunk_mib=5,
)
