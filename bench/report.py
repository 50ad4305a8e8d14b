"""Result records and the Markdown report (`bench/results.md`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measured scenario beside its baseline from the same run."""

    case: str
    scenario: str
    median_ms: float | None
    p99_ms: float | None
    throughput: float | None  # calls (or publishes) per second
    rss_mb: float | None  # server peak RSS (VmHWM)
    baseline: str  # what the baseline is
    base_median_ms: float | None = None
    base_p99_ms: float | None = None
    base_throughput: float | None = None
    base_rss_mb: float | None = None
    ratio: str = ""  # how the figure compares with its baseline, in words
    notes: str = ""


@dataclass
class Target:
    case: str
    target: str
    measured: str
    met: bool


@dataclass
class CaseResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # extra Markdown (tables, findings)
    data: dict[str, Any] = field(default_factory=dict)  # raw figures, for tests and debugging
    # CPU other processes took while the case ran, as a share of one core (bench.harness.OtherLoad).
    others_share: float | None = None

    @property
    def contended(self) -> bool:
        from bench.harness import CONTENDED_SHARE  # noqa: PLC0415 - the report module stands alone otherwise

        return self.others_share is not None and self.others_share > CONTENDED_SHARE


def num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100 and digits <= 1:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f}" if value < 10 else num(value)


def table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(results: list[CaseResult]) -> str:
    headers = [
        "Case", "Scenario", "Median ms", "p99 ms", "Throughput /s", "Server peak RSS MB",
        "Baseline (same run)", "Base median ms", "Base p99 ms", "Base throughput /s", "Base peak RSS MB",
        "Ratio to baseline", "Notes",
    ]
    rows = [
        [r.case, r.scenario, ms(r.median_ms), ms(r.p99_ms), num(r.throughput), num(r.rss_mb),
         r.baseline, ms(r.base_median_ms), ms(r.base_p99_ms), num(r.base_throughput), num(r.base_rss_mb),
         r.ratio, r.notes]
        for result in results
        for r in result.rows
    ]
    return table(headers, rows)


def targets_table(results: list[CaseResult]) -> str:
    rows = [
        [t.case, t.target, t.measured,
         ("⚠️ contended, no verdict (" if result.contended else "") + ("✅ met" if t.met else "❌ missed")
         + (")" if result.contended else "")]
        for result in results
        for t in result.targets
    ]
    return table(["Case", "Target", "Measured", "Met?"], rows)


def load_table(results: list[CaseResult]) -> str:
    """Each case's machine: the CPU other processes took while it ran."""
    rows = [
        [r.name, "–" if r.others_share is None else f"{r.others_share:.0%} of one core",
         "contended: figures not used for a verdict; rerun it on a quiet machine" if r.contended else "quiet"]
        for r in results
    ]
    return table(["Case", "Other processes' CPU during the case", "Verdict"], rows)


def render(results: list[CaseResult], machine: dict[str, str], command: str, elapsed_s: float,
           profiles: list[tuple[Path, str]] | None = None) -> str:
    met = sum(t.met for r in results if not r.contended for t in r.targets)
    total = sum(len(r.targets) for r in results if not r.contended)
    contended = [r.name for r in results if r.contended]
    parts = [
        "# Distribution benchmarks",
        "",
        f"Produced by `{command}` in {elapsed_s / 60:.1f} min; every baseline was measured in the same run. "
        "Re-run to refresh; the code is in `bench/` (`bench/run.py` describes each case).",
        "",
        "## Machine",
        "",
        table(["", ""], [[k, v] for k, v in machine.items()]),
        "",
        "## Load beside each case",
        "",
        "CPU that processes outside the benchmark took while each case ran (the machine's busy time less the "
        "benchmark's own processes and the database work it caused). A case where others took more than 20% "
        "of one core is contended: its figures are shown but give no verdict.",
        "",
        load_table(results),
        "",
        f"## Targets ({met} of {total} met on quiet cases"
        + (f"; {len(contended)} contended case(s) without a verdict: {', '.join(contended)}" if contended else "")
        + ")",
        "",
        targets_table(results),
        "",
        "## Results",
        "",
        "Latencies are per call as the client saw it. Throughput is completed calls per second "
        "(for sequential measurements, 1 / mean latency). Server peak RSS is VmHWM of the "
        "server process under test at the end of the case.",
        "",
        results_table(results),
        "",
    ]
    for result in results:
        if result.sections:
            parts += [f"## {result.name}: details", ""]
            for section in result.sections:
                parts += [section, ""]
    if profiles:
        parts += [
            "## Profiles of the misses",
            "",
            "Made separately with `python -m bench.profile unary|burst|memory|history` (needs py-spy, which is "
            "not a project dependency); each file has the breakdown by layer and the top functions.",
            "",
        ]
        parts += [f"- [{path.name}](profiles/{path.name}): {headline}" for path, headline in profiles]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
