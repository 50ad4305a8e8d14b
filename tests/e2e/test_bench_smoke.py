"""Smoke test of the benchmark harness (bench/, `make bench`): every case at a tiny scale
(a few iterations, 20 publishes instead of 2,000, 10k history rows instead of 1M), so the
bench code cannot rot. It checks that each case runs end to end and that its results are
well-formed; it never asserts how fast anything is. The PostgreSQL cases (8, 9 and case 4's
PostgreSQL half) run on the machine's server, as the store tests do
(tests/support/postgres.py: skipped with one line where none answers, failed in CI)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.cases import (
    SMOKE,
    concurrency,
    console,
    history,
    http,
    media,
    postgres,
    replicas,
    schedule,
    single_media,
    tiktok_video,
    tracing,
    unary,
    upstream,
)
from bench.report import CaseResult
from bench.run import CASES, run_and_write
from tests.support.postgres import fresh_database

# Every case runs in the first test's set-up (about two minutes on a quiet 2-core machine,
# more beside the rest of the suite): the suite-wide per-test limit would cut it short.
pytestmark = pytest.mark.timeout(900)

# The run, once per process: should a worker interleave another module's tests with these
# (tearing the module fixture down), the two-minute run is still not made twice.
_RUN: dict[str, tuple[list[CaseResult], bool, Path]] = {}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, CaseResult], Path]:
    if "smoke" not in _RUN:
        out = tmp_path_factory.mktemp("bench") / "results.md"
        results, ok = run_and_write(list(CASES), SMOKE, out, "pytest smoke", log=lambda _text: None)
        _RUN["smoke"] = (results, ok, out)
    results, ok, out = _RUN["smoke"]
    assert ok, [t.measured for r in results for t in r.targets if t.target == "the case ran"]
    return {r.name: r for r in results}, out


def _finite(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value >= 0)


def test_every_case_gives_rows_beside_baselines_and_targets(smoke):
    results, _ = smoke
    assert set(results) == {
        unary.NAME, concurrency.NAME, upstream.NAME, history.NAME, media.NAME, http.NAME, schedule.NAME,
        postgres.NAME, replicas.NAME, console.NAME, tracing.NAME, single_media.NAME, tiktok_video.NAME,
    }
    for result in results.values():
        if result.data.get("skipped"):  # a PostgreSQL case where no server answers: its one line
            continue
        assert result.rows, result.name
        assert result.targets, result.name
        for row in result.rows:
            assert row.case == result.name and row.scenario and row.baseline
            for value in (row.median_ms, row.p99_ms, row.throughput, row.rss_mb,
                          row.base_median_ms, row.base_p99_ms, row.base_throughput, row.base_rss_mb):
                assert _finite(value), (row.scenario, value)
            assert row.median_ms is not None and row.p99_ms is not None and row.p99_ms >= row.median_ms
            assert row.rss_mb is not None and row.rss_mb > 0
        for target in result.targets:
            assert isinstance(target.met, bool) and target.measured and target.target


def test_tracing_measures_every_variant_beside_the_service_without_the_sdk(smoke):
    results, _ = smoke
    result = results[tracing.NAME]
    assert set(tracing.VARIANTS) <= set(result.data)
    for variant in tracing.VARIANTS:
        assert [lv["concurrency"] for lv in result.data[variant]] == [SMOKE.tracing_level] * SMOKE.tracing_rounds
        assert all(lv["completed"] > 0 and not lv["errors"] for lv in result.data[variant])
    assert [row.scenario.split(": ")[0].rsplit(" ", 1)[-1] for row in result.rows] == ["off", "on", "sampled"]
    on = next(row for row in result.rows if "tracing on" in row.scenario)
    assert "spans received" in on.notes and " 0 spans" not in on.notes
    assert [t.target for t in result.targets] == [
        "tracing off costs ≤ 2% server CPU per publish", "tracing on costs ≤ 15% server CPU per publish",
    ]


def test_unary_measures_the_service_and_the_bare_server_at_every_level(smoke):
    results, _ = smoke
    data = results[unary.NAME].data
    for side in ("service", "bare"):
        levels = {lv["concurrency"]: lv for lv in data[side]["levels"]}
        assert set(levels) == set(SMOKE.unary_levels)
        for lv in levels.values():
            assert lv["completed"] > 0 and not lv["errors"]
            assert lv["server_cpu_ms_per_call"] is not None and lv["server_cpu_ms_per_call"] >= 0
        assert data[side]["server_peak_rss_mb"] > 0
    assert len(results[unary.NAME].rows) == len(SMOKE.unary_levels)


def test_http_measures_publish_and_get_publish_over_both_transports(smoke):
    results, _ = smoke
    data = results[http.NAME].data
    for call in ("publish_instagram", "get_publish"):
        for transport in ("grpc", "http"):
            levels = [lv for run in data[f"{call} {transport}"] for lv in run["levels"]]
            assert {lv["concurrency"] for lv in levels} == set(SMOKE.http_levels)
            for lv in levels:
                assert lv["completed"] > 0 and not lv["errors"], (call, transport, lv["errors"])
                assert lv["server_cpu_ms_per_call"] is not None
    assert any("15% server CPU" in t.target for t in results[http.NAME].targets)


def test_concurrency_runs_every_publish_and_the_bare_pending_check(smoke):
    results, _ = smoke
    data = results[concurrency.NAME].data
    burst = data["burst"]
    assert burst["calls"] == SMOKE.burst_publishes
    assert burst["ok"] + burst["error_count"] == burst["calls"]
    assert burst["error_count"] == 0, burst["errors"]
    assert data["lone_instagram"]["ok"] == 1 and data["lone_tiktok"]["ok"] == 1
    assert data["health"]["n"] > 0
    assert len(data["bare"]) == 3  # default options, hard limit only, the fix
    for bare in data["bare"].values():
        assert bare["calls"] == SMOKE.bare_burst


def test_upstream_counts_platform_calls_for_every_scenario(smoke):
    results, _ = smoke
    scenarios = results[upstream.NAME].data["scenarios"]
    assert {(s["platform"], s["images"], s["delay"]) for s in scenarios} == {
        (platform, images, delay)
        for platform, images in upstream.SCENARIOS
        for delay in (0.0, SMOKE.upstream_delay)
    }
    for scenario in scenarios:
        assert scenario["latencies"] and all(c > 0 for c in scenario["calls"])
        if scenario["platform"] == "instagram":
            # at least one container per image, the carousel, the publish
            assert min(scenario["calls"]) >= scenario["images"] + 2
    assert any("polling adds" in t.target for t in results[upstream.NAME].targets)


def test_single_media_counts_calls_per_kind_and_bytes_read_per_video(smoke):
    results, _ = smoke
    data = results[single_media.NAME].data
    for kind in ("image", "reel"):
        publishes = data["publishes"][kind]
        assert len(publishes["calls"]) == SMOKE.single_media_publishes
        assert publishes["endpoints"]["create_container"] == 1 and publishes["endpoints"]["media_publish"] == 1
    assert [v["name"] for v in data["videos"]] == [
        name.format(s=SMOKE.single_media_noise_seconds) for name in single_media.VIDEOS
    ]
    assert all(0 < v["read"] <= v["size"] for v in data["videos"])


def test_history_times_every_query_and_explains_its_plan(smoke):
    results, _ = smoke
    data = results[history.NAME].data
    assert data["history"]["rows"] == SMOKE.history_rows and data["history"]["events"] > SMOKE.history_rows
    measured = data["measured"]
    assert any(name.startswith("GetPublish") for name in measured)
    assert sum(name.startswith("ListPublishes first page") for name in measured) >= 6
    assert any(f"page {SMOKE.history_deep_page} " in name for name in measured)
    for service, baseline in measured.values():
        assert service["n"] == SMOKE.history_samples and baseline["n"] == SMOKE.history_samples
    planned = {row[0] for row in data["plans"]}
    assert planned == set(measured)
    assert all(row[1] for row in data["plans"])  # an index name, or "none"


def test_console_counts_its_first_load_and_times_each_list_view_beside_curl(smoke):
    results, _ = smoke
    result = results[console.NAME]
    data = result.data
    assert data["rows"] == SMOKE.console_rows
    [load] = data["first_load"]
    kinds = [kind for kind, _path, _size in load["requests"]]
    assert kinds.count("stream") == 1 and "api" in kinds and kinds.count("file") >= 5
    assert all(size > 0 for kind, _path, size in load["requests"] if kind != "stream")
    paths = {path for _kind, path, _size in load["requests"]}
    assert {"/console/", "/console/js/app.js", "/console/console.css"} <= paths
    assert load["first_row_ms"] > 0
    assert set(data["list_view"]) == {"no filter", "state FAILED", "platform TikTok", "one account"}
    for figures in data["list_view"].values():
        assert figures["console"]["n"] == figures["curl"]["n"] == SMOKE.console_samples
        assert figures["bytes"] > 0
    assert len(result.rows) == 5 and len(result.targets) == 2


def test_report_is_markdown_with_the_machine_targets_and_results(smoke):
    results, out = smoke
    text = out.read_text()
    for heading in ("# Distribution benchmarks", "## Machine", "## Targets", "## Results"):
        assert heading in text
    for key in ("nproc", "cpu", "python", "grpcio", "date"):
        assert f"| {key} |" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Case | Scenario | Median ms | p99 ms |"))
    cells = lines[header].count(" | ")
    body = []
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        body.append(line)
    assert len(body) == sum(len(r.rows) for r in results.values())
    assert all(line.replace("\\|", "").count(" | ") == cells for line in body)
    for result in results.values():
        assert result.name in text


def test_schedule_runs_every_scheduled_publish_once_and_reads_its_lateness(smoke):
    results, _ = smoke
    data = results[schedule.NAME].data
    n = SMOKE.schedule_publishes
    assert data["burst"]["ok"] == n and data["sent"]["ok"] == n
    assert (data["records"], data["started"], data["published"], data["missed"]) == (n, n, n, 0)
    assert data["media_publish"] == n  # one post each, none twice
    assert data["scheduling_done_before_due_s"] > 0  # every call returned before the time
    assert len(data["lateness_s"]) == n and all(_finite(x) for x in data["lateness_s"])
    assert len(results[schedule.NAME].targets) == 2


@pytest.fixture
async def postgres_server() -> None:
    """Skips (or, in CI, fails) with one line when no PostgreSQL answers, as the store tests do."""
    async with fresh_database():
        pass


KINDS = {"statements", "pool reset", "transaction control", "prepare (statement not cached)"}


def _per_publish_costs_are_whole(run: dict, replicas_count: int) -> None:
    assert run["completed"] > 0 and not run["errors"], run["errors"]
    assert run["replicas"] == replicas_count
    # Every publish reads and writes the database: round trips are counted, by kind.
    assert run["round_trips"].get("statements", 0) >= run["completed"]
    assert set(run["round_trips"]) <= KINDS
    assert run["round_trips_per_publish"] > 0 and run["commits_per_publish"] > 0
    # CPU of every process of the deployment, read at the window's edges.
    names = set(run["cpu_s"])
    assert {f"{postgres.SERVICE} {i + 1}" for i in range(replicas_count)} <= names
    assert set(postgres.EMULATORS) <= names and {postgres.CLIENT, postgres.MACHINE} <= names
    assert any(n.startswith(postgres.BACKEND) for n in names)
    assert run["service_ms"] > 0 and run["backends_ms"] > 0


def test_postgres_case_measures_both_stores_and_the_database_cost(smoke, postgres_server):
    results, out = smoke
    result = results[postgres.NAME]
    measured = result.data["measured"]
    assert set(measured) == {"SQLite", "PostgreSQL"}
    for level in SMOKE.pg_levels:
        sqlite, pg_run = measured["SQLite"][level], measured["PostgreSQL"][level]
        assert sqlite["completed"] > 0 and not sqlite["errors"]
        # On SQLite the statements its store thread runs are counted instead (no asyncpg).
        assert set(sqlite["round_trips"]) <= {"SQLite statements", "SQLite transaction control"}
        assert sqlite["round_trips"]["SQLite statements"] >= sqlite["completed"]
        _per_publish_costs_are_whole(pg_run, 1)
        assert not any(kind.startswith("SQLite") for kind in pg_run["round_trips"])
        assert "pool reset" not in pg_run["round_trips"]  # the pools send no reset query at release
    assert len(result.rows) == len(SMOKE.pg_levels)
    assert any("1.5× SQLite" in t.target for t in result.targets)
    text = out.read_text()
    assert "Round trips/publish" in text and "Backends CPU ms/publish" in text
    assert "SQLite statements/publish" in text
    # Each case says what else the machine ran meanwhile, and a busy machine gives no verdict.
    assert "Other processes' CPU during the case" in text
    assert all(r.others_share is not None for r in results.values())


def test_replicas_case_spreads_callers_and_says_what_saturates(smoke, postgres_server):
    results, out = smoke
    result = results[replicas.NAME]
    measured = result.data["measured"]
    assert set(measured) == {1, 2}
    for count, run in measured.items():
        _per_publish_costs_are_whole(run, count)
    # Both replicas took calls: each one's CPU rose over the window.
    assert all(measured[2]["cpu_s"][f"{postgres.SERVICE} {i}"] > 0 for i in (1, 2))
    assert any("0.9× one replica" in t.target for t in result.targets)
    assert "What saturates" in out.read_text()


def test_history_runs_on_postgres_beside_sqlite(smoke, postgres_server):
    results, _ = smoke
    data = results[history.NAME].data
    pg_data = data["postgres"]
    assert pg_data["rows"] == SMOKE.history_rows
    # The same calls as on SQLite, each timed as often.
    assert set(pg_data["measured"]) == set(data["measured"])
    assert all(m["n"] == SMOKE.history_samples for m in pg_data["measured"].values())
    first_pages = [t for t in results[history.NAME].targets if "SQLite's: first page" in t.target]
    assert len(first_pages) == sum(name.startswith("ListPublishes first page") for name in data["measured"])
    assert all(row[1] != "none" for row in pg_data["plans"])  # every first page on an index


def test_the_tiktok_video_case_counts_calls_per_source_and_the_upload_beside_the_disk(smoke):
    results, _ = smoke
    data = results[tiktok_video.NAME].data
    assert set(data["calls"]) == {"PULL_FROM_URL", "FILE_UPLOAD"}
    assert data["calls"]["PULL_FROM_URL"]["calls"].get("upload", 0) == 0
    assert data["calls"]["FILE_UPLOAD"]["calls"]["upload"] == data["upload"]["chunks"]
    assert data["calls"]["FILE_UPLOAD"]["calls"]["init"] == 1
    assert data["upload"]["bytes"] >= SMOKE.video_chunk_mib * 1024 * 1024 * 2  # at least two chunks
    assert data["upload"]["seconds"] > 0 and data["disk_seconds"] > 0 and data["upload"]["peak_kib"] > 0
