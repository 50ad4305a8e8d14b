"""Smoke test of the benchmark harness (bench/, `make bench`): every case at a tiny scale
(a few iterations, 20 publishes instead of 2,000, 10k history rows instead of 1M), so the
bench code cannot rot. It checks that each case runs end to end and that its results are
well-formed; it never asserts how fast anything is."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.cases import SMOKE, concurrency, history, http, media, schedule, unary, upstream
from bench.report import CaseResult
from bench.run import CASES, run_and_write


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, CaseResult], Path]:
    out = tmp_path_factory.mktemp("bench") / "results.md"
    results, ok = run_and_write(list(CASES), SMOKE, out, "pytest smoke", log=lambda _text: None)
    assert ok, [t.measured for r in results for t in r.targets if t.target == "the case ran"]
    return {r.name: r for r in results}, out


def _finite(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value >= 0)


def test_every_case_gives_rows_beside_baselines_and_targets(smoke):
    results, _ = smoke
    assert set(results) == {
        unary.NAME, concurrency.NAME, upstream.NAME, history.NAME, media.NAME, http.NAME, schedule.NAME
    }
    for result in results.values():
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
