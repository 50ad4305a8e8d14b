"""Case 9, replicas: two replicas of the service against one, on one PostgreSQL database.

Each run has its own fresh database and its own emulators (own processes, delay 0). One
closed-loop client process drives `replicas_callers` callers (PublishInstagramCarousel, 3
images), caller i calling replica i mod n, as a round-robin balancer would; a warm-up run
comes first, then the measured window (same method as case 8, bench/cases/postgres.py).
Other work on a shared machine comes and goes, so the runs alternate, 1, 2, 2, 1, ...
(`replicas_rounds` of each), and each figure sums its runs.

This machine has 2 cores, so a second replica cannot add CPU: the question is what the
coordination between replicas (leases, the change feed every replica hears, shared rate
windows and quotas) costs, so the target is two replicas ≥ 0.9× one replica's throughput.
The CPU of every process over the window (replicas, emulators, PostgreSQL backends and
server processes, the load client, and the whole machine) says what saturates.
"""

from __future__ import annotations

import os
from typing import Any

from bench import pg
from bench.cases import Scale
from bench.cases.postgres import (
    BACKEND,
    BACKGROUND,
    CLIENT,
    EMULATORS,
    IMAGES,
    MACHINE,
    SERVICE,
    combine,
    cpu_table,
    deploy,
    measure,
    trips_text,
)
from bench.harness import Processes
from bench.report import CaseResult, Row, Target, num, table

NAME = "9. Replicas on PostgreSQL"
TARGET_RATIO = 0.9


def _groups(run: dict[str, Any]) -> dict[str, float]:
    """Share of one core over the window, by kind of process."""
    cpu = {n: s for n, s in run["cpu_s"].items() if s is not None}
    elapsed = run["elapsed_s"]

    def share(*prefixes: str) -> float:
        return float(sum(s for n, s in cpu.items() if n.startswith(prefixes)) / elapsed)

    return {
        "replicas": share(SERVICE), "emulators": share(*EMULATORS), "PostgreSQL backends": share(BACKEND),
        "PostgreSQL server processes": share(BACKGROUND), "load generator": share(CLIENT),
        "machine": share(MACHINE),
    }


def saturation(run: dict[str, Any], cores: int) -> str:
    """What limits the run, in words, from its CPU shares."""
    groups = _groups(run)
    ours = sum(v for k, v in groups.items() if k != "machine")
    others = max(groups["machine"] - ours, 0.0)
    busiest_replica = max((s / run["elapsed_s"] for n, s in run["cpu_s"].items()
                           if n.startswith(SERVICE) and s is not None), default=0.0)
    parts = [f"machine {groups['machine']:.0%} busy of {cores * 100}% ({cores} cores)"]
    parts += [f"{k} {v:.0%}" for k, v in groups.items() if k != "machine"]
    parts.append(f"other processes on the machine {others:.0%}")
    if groups["machine"] >= 0.9 * cores:
        candidates = {**{k: v for k, v in groups.items() if k != "machine"}, "other processes on the machine": others}
        top = max(candidates.items(), key=lambda kv: kv[1])
        verdict = f"the cores are saturated; the largest consumer: {top[0]} ({top[1]:.0%})"
    elif busiest_replica >= 0.9:
        verdict = f"a replica's event loop is saturated ({busiest_replica:.0%} of a core)"
    else:
        verdict = "no process is CPU-bound: latency (round trips, waits) bounds the closed loop"
    return f"{verdict}. " + ", ".join(parts)


def deployment_ms(run: dict[str, Any]) -> float:
    """CPU per publish of every process of the deployment (replicas, emulators, database,
    load client): what a publish costs in all, whoever spends it."""
    ours = sum(s or 0.0 for name, s in run["cpu_s"].items() if name != MACHINE)
    return float(ours / max(run["completed"], 1) * 1000)


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    if not pg.available():
        result.targets.append(Target(NAME, "PostgreSQL answers", pg.SKIP_NOTE, True))
        result.data = {"skipped": pg.SKIP_NOTE}
        return result
    callers = scale.replicas_callers
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    order = [n for i in range(scale.replicas_rounds) for n in ((1, 2) if i % 2 == 0 else (2, 1))]
    with Processes() as ps:
        for n in order:
            with deploy(ps, "PostgreSQL", replicas=n) as dep:
                runs[n].append(measure(ps, dep, callers, scale.replicas_warmup, scale.replicas_duration))
    measured = {n: combine(r) for n, r in runs.items()}
    result.data = {
        "measured": measured, "order": order,
        # The PostgreSQL server's work for this case: not other load on the machine.
        "database_cpu_s": sum(s or 0.0 for rs in runs.values() for r in rs for name, s in r["cpu_s"].items()
                              if name.startswith((BACKEND, BACKGROUND))),
    }
    one, two = measured[1], measured[2]
    cores = os.cpu_count() or 1
    ratio = two["throughput"] / one["throughput"] if one["throughput"] else 0.0
    result.rows.append(Row(
        case=NAME,
        scenario=f"PublishInstagramCarousel, {IMAGES} images, {callers} callers spread over 2 replicas, PostgreSQL",
        median_ms=two["median_ms"], p99_ms=two["p99_ms"], throughput=two["throughput"], rss_mb=two["rss_mb"],
        baseline="one replica, same callers, same run (its own fresh database)",
        base_median_ms=one["median_ms"], base_p99_ms=one["p99_ms"], base_throughput=one["throughput"],
        base_rss_mb=one["rss_mb"],
        ratio=f"throughput {ratio:.2f}× one replica's (runs in order {order}: one replica "
        f"{', '.join(num(t) for t in one['rounds'])}/s; two {', '.join(num(t) for t in two['rounds'])}/s)",
        notes=f"service CPU {num(two['service_ms'], 2)} ms/publish (one replica {num(one['service_ms'], 2)}); "
        f"backends {num(two['backends_ms'], 2)} (one replica {num(one['backends_ms'], 2)}) ms/publish; "
        f"round trips {trips_text(two)} (one replica {two['round_trips_per_publish']:.1f} vs "
        f"{one['round_trips_per_publish']:.1f}); {two['completed']} publishes, "
        f"{sum(two['errors'].values())} errors",
    ))
    result.targets.append(Target(
        NAME, f"two replicas ≥ {TARGET_RATIO}× one replica's throughput ({callers} callers)",
        f"{num(two['throughput'])}/s vs {num(one['throughput'])}/s = {ratio:.2f}×; saturates: "
        f"{saturation(two, cores).split('.')[0]}",
        ratio >= TARGET_RATIO))
    errors = sum(sum(m["errors"].values()) for m in measured.values())
    result.targets.append(Target(NAME, "0 errors with one or two replicas", str(errors), errors == 0))
    result.sections.append(
        f"Coordination cost in CPU (steadier than throughput on a shared machine): every process of the deployment "
        f"spent {num(deployment_ms(two), 2)} ms per publish with two replicas and {num(deployment_ms(one), 2)} ms "
        f"with one ({deployment_ms(two) / deployment_ms(one):.2f}×); the replicas {num(two['service_ms'], 2)} vs "
        f"{num(one['service_ms'], 2)} ms, the PostgreSQL backends {num(two['backends_ms'], 2)} vs "
        f"{num(one['backends_ms'], 2)} ms; round trips {two['round_trips_per_publish']:.1f} vs "
        f"{one['round_trips_per_publish']:.1f} per publish."
    )
    result.sections.append(
        "What saturates (CPU over the measured windows; a share of one core):\n\n"
        + table(["Run", "Publishes/s", "What limits it"],
                [[f"{n} replica{'s' if n > 1 else ''}", num(m["throughput"]), saturation(m, cores)]
                 for n, m in measured.items()])
        + "\n\n" + cpu_table([(f"{n} replica{'s' if n > 1 else ''}", m) for n, m in measured.items()])
    )
    return result
