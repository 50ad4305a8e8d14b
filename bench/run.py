"""Runs the benchmark cases and writes the Markdown report.

    python -m bench.run                        # every case (make bench) -> bench/results.md
    python -m bench.run --only history --out bench/results-history.md   # make bench-history
    python -m bench.run --scale smoke --out /tmp/r.md   # seconds; what tests/e2e/test_bench_smoke.py runs

Cases (see each module's docstring for the method):

1. unary       bench/cases/unary.py        service vs a bare grpc.aio server, closed loop 1/16/64
2. concurrency bench/cases/concurrency.py  2,000 publishes at once, platforms taking 2 s
3. upstream    bench/cases/upstream.py     platform calls per publish, latency added by polling
4. history     bench/cases/history.py      GetPublish / ListPublishes over 1M records vs plain SELECTs
5. media       bench/cases/media.py        RegisterMedia with inspection vs without; memory per inspection
6. http        bench/cases/http.py         publish and GetPublish over the HTTP gateway vs over gRPC
7. schedule    bench/cases/schedule.py     1,000 publishes scheduled for one second vs 1,000 at once
8. postgres    bench/cases/postgres.py     the unary load on PostgreSQL (one replica) vs SQLite; database cost
9. replicas    bench/cases/replicas.py     two replicas vs one on PostgreSQL at 64 callers; what saturates
10. console    bench/cases/console.py      the console's first load; its list view over 10,000 publishes vs curl
11. tracing    bench/cases/tracing.py      CPU per publish with traces exported / tracing off vs no tracing code
12. single_media bench/cases/single_media.py  image/Reel calls vs the minimum; bytes read per video
13. video        bench/cases/tiktok_video.py  TikTok video: calls per publish vs the minimum; upload vs disk; memory

Cases 8 and 9 (and case 4's PostgreSQL half) need a PostgreSQL server (bench/pg.py); where none
answers they report one line saying so.

Every process under test (service, emulators, bare server, load clients) runs on its own; the
table prints to stdout and goes to --out. A case that crashes is reported as such (its target
row says why) and the exit status is 1; a missed target is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.cases import (
    FULL,
    SMOKE,
    Scale,
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
from bench.harness import OtherLoad, machine
from bench.report import CaseResult, Target, render, results_table, targets_table
from tests.support.paths import ROOT as REPO

CASES: dict[str, tuple[str, Callable[[Scale], CaseResult]]] = {
    "unary": (unary.NAME, unary.run),
    "concurrency": (concurrency.NAME, concurrency.run),
    "upstream": (upstream.NAME, upstream.run),
    "history": (history.NAME, history.run),
    "media": (media.NAME, media.run),
    "http": (http.NAME, http.run),
    "schedule": (schedule.NAME, schedule.run),
    "postgres": (postgres.NAME, postgres.run),
    "replicas": (replicas.NAME, replicas.run),
    "console": (console.NAME, console.run),
    "tracing": (tracing.NAME, tracing.run),
    "single_media": (single_media.NAME, single_media.run),
    "video": (tiktok_video.NAME, tiktok_video.run),
}


def run_cases(names: list[str], scale: Scale, log: Callable[[str], None] = print) -> tuple[list[CaseResult], bool]:
    results, ok = [], True
    for name in names:
        title, case = CASES[name]
        log(f"== {title} ({scale.name})")
        started = time.perf_counter()
        load = OtherLoad()
        try:
            result = case(scale)
        except Exception as exc:
            ok = False
            log(traceback.format_exc())
            result = CaseResult(title, targets=[Target(title, "the case ran", f"crashed: {exc!r}", False)])
        result.data["seconds"] = time.perf_counter() - started
        result.others_share = load.share(float(result.data.get("database_cpu_s", 0.0)))
        log(f"   {result.data['seconds']:.0f} s; other processes took {result.others_share:.0%} of one core"
            + (" (contended: no verdict)" if result.contended else ""))
        results.append(result)
    return results, ok


def _profiles() -> list[tuple[Path, str]]:
    """bench/profiles/*.md with their first line, for the report to point at."""
    found = []
    for path in sorted((REPO / "bench" / "profiles").glob("*.md")):
        lines = path.read_text().splitlines()
        found.append((path, lines[0].lstrip("# ") if lines else ""))
    return found


def run_and_write(names: list[str], scale: Scale, out: Path, command: str,
                  log: Callable[[str], None] = print) -> tuple[list[CaseResult], bool]:
    """Runs the cases, writes the report to `out`; returns the results and whether every case ran."""
    started = time.perf_counter()
    results, ok = run_cases(names, scale, log)
    report = render(results, machine(), command, time.perf_counter() - started, _profiles() if scale is FULL else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    return results, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="run only this case (repeatable)")
    parser.add_argument("--scale", choices=("full", "smoke"), default="full")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.md")
    args = parser.parse_args(argv)
    names = args.only or list(CASES)
    scale = FULL if args.scale == "full" else SMOKE
    command = "make bench" if names == list(CASES) else (
        "make bench-history" if names == ["history"] else "python -m bench.run " + " ".join(sys.argv[1:]))
    if args.scale != "full":
        command += f" (scale {args.scale})"
    results, ok = run_and_write(names, scale, args.out, command, log=lambda text: print(text, flush=True))
    print()
    print(targets_table(results))
    print()
    print(results_table(results))
    print(f"\nwritten to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
