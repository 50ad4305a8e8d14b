"""Case 8, PostgreSQL vs SQLite: the same unary load on each store in the same run, and what
a publish costs the database.

For each store, `python -m server` runs against both emulators (own processes, delay 0) as in
case 1: on SQLite (a file in a temp dir) and on PostgreSQL with one replica (a fresh
database, created for the run and dropped after it). The service is launched through
bench.counted_server, which counts the round trips its asyncpg connections make (zero on
SQLite). At each concurrency level a closed-loop client process first warms up (the
connection pool grows to what the load needs), then the harness takes its readings and a
second client run is measured. The stores alternate (SQLite, PostgreSQL, PostgreSQL, SQLite
for `pg_rounds` = 2), as other work on a shared machine comes and goes, and each figure sums
its runs:

* throughput, latency, and the CPU time of every process of the deployment over the
  measured window (read by the client at the window's edges): the service, the emulators,
  the PostgreSQL backends serving the database (`pg_stat_activity` of the database: the pool
  and the change-feed listener), the server's own background processes (WAL writer,
  checkpointer, ...; shared with any other database on the server), and the load client;
* round trips to PostgreSQL per publish, and statements per publish on SQLite, counted on
  the service's side by kind (bench/counted_server.py);
* transactions committed per publish (pg_stat_database.xact_commit, read once the backends
  have reported; pg_stat_statements needs shared_preload_libraries, a server restart, so it
  is not used).

The target compares the service process's CPU per publish (on SQLite it includes the
database work, done in its own thread; on PostgreSQL that work is in the backends, shown
beside it).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench import pg
from bench.cases import Scale
from bench.cases.unary import _setup
from bench.counted_server import read_counts
from bench.harness import Processes, peak_rss_mb
from bench.report import CaseResult, Row, Target, num, table
from tests.support.processes import EmulatorProcess, ServiceProcess

NAME = "8. PostgreSQL vs SQLite"
IMAGES = 3
SERVICE = "replica"
EMULATORS = ("Instagram emulator", "TikTok emulator")
BACKEND = "PostgreSQL backend"
BACKGROUND = "PostgreSQL server process"
CLIENT = "load generator"
MACHINE = "machine (all processes)"


@dataclass
class Deployment:
    """Replicas of the service on one store, the two emulators, and what reads their counts."""

    store: str  # "SQLite" or "PostgreSQL"
    url: str | None  # the PostgreSQL database, None on SQLite
    instagram: EmulatorProcess
    tiktok: EmulatorProcess
    replicas: list[ServiceProcess] = field(default_factory=list)
    counts: list[Path] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def addresses(self) -> list[str]:
        return [r.address for r in self.replicas]

    def round_trips(self) -> dict[str, int]:
        """Round trips every replica made so far, by kind."""
        total: dict[str, int] = {}
        for replica, path in zip(self.replicas, self.counts, strict=True):
            for kind, n in read_counts(replica.pid, path).items():
                total[kind] = total.get(kind, 0) + n
        return total

    def watched(self) -> dict[str, int]:
        """The processes whose CPU the client reads at the measured window's edges."""
        pids = {f"{SERVICE} {i + 1}": r.pid for i, r in enumerate(self.replicas)}
        pids[EMULATORS[0]] = self.instagram.pid
        pids[EMULATORS[1]] = self.tiktok.pid
        if self.url is not None:
            pids |= {f"{BACKEND} {pid}": pid for pid in pg.backend_pids(self.url)}
            pids |= {f"{BACKGROUND}: {title}": pid for title, pid in pg.server_background_pids().items()}
        return pids


@contextlib.contextmanager
def deploy(ps: Processes, store: str, replicas: int = 1) -> Iterator[Deployment]:
    """Emulators of their own, then `replicas` services on a fresh store, set up for the load
    (an account, media, one publish end to end); the PostgreSQL database is dropped at exit."""
    with pg.fresh_database() if store == "PostgreSQL" else contextlib.nullcontext() as url:
        dep = Deployment(store, url, ps.instagram(processing_delay=0), ps.tiktok(processing_delay=0))
        key = Fernet.generate_key().decode()
        db = {"DISTRIBUTION_DB": url} if url else {}
        sqlite_file = ps.workdir / f"{store.lower()}-{len(ps.started)}.db"
        for i in range(replicas):
            counts = ps.workdir / f"round-trips-{len(ps.started)}-{i}.json"
            replica = ps.service(dep.instagram, dep.tiktok, db_path=None if url else sqlite_file,
                                 extra_env={"DISTRIBUTION_SECRET_KEYS": key, **db},
                                 args=["-m", "bench.counted_server", str(counts)])
            dep.replicas.append(replica)
            dep.counts.append(counts)
        dep.request = asyncio.run(_setup(dep.replicas[0].address))
        try:
            yield dep
        finally:
            for replica in dep.replicas:
                replica.stop()  # before the database is dropped under it


def measure(ps: Processes, dep: Deployment, level: int, warmup: float, duration: float) -> dict[str, Any]:
    """A warm-up client run at `level`, then a measured one spread over every replica: the
    client's figures for the window, plus round trips and commits per publish."""
    spec = {"mode": "closed_loop", "levels": [level], "targets": dep.addresses, "target": dep.addresses[0],
            "request": dep.request}
    ps.client({**spec, "warmup": 0.0, "duration": warmup})
    watched = dep.watched()  # after the warm-up: the pools have grown to what the load needs
    trips_before = dep.round_trips()
    commits_before = pg.settled_xact_commit(dep.url) if dep.url else 0
    run = ps.client({**spec, "warmup": 0.0, "duration": duration, "watch_pids": watched})["levels"][0]
    trips_after = dep.round_trips()
    commits = pg.settled_xact_commit(dep.url) - commits_before if dep.url else 0
    publishes = max(run["completed"], 1)
    trips = {k: trips_after.get(k, 0) - trips_before.get(k, 0) for k in trips_after}
    cpu = {name: s for name, s in run["cpu_s"].items() if s is not None}
    return {
        **run,
        "store": dep.store,
        "replicas": len(dep.replicas),
        "round_trips": trips,
        "round_trips_per_publish": sum(trips.values()) / publishes,
        "commits_per_publish": commits / publishes if dep.url else None,
        "cpu_ms_per_publish": {name: s / publishes * 1000 for name, s in cpu.items()},
        "service_ms": _sum(cpu, SERVICE) / publishes * 1000,
        "backends_ms": _sum(cpu, BACKEND) / publishes * 1000,
        "background_ms": _sum(cpu, BACKGROUND) / publishes * 1000,
        "rss_mb": max(peak_rss_mb(r.pid) for r in dep.replicas),
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several measured runs of one deployment as one: counts and CPU summed, throughput and
    per-publish figures over the sum, the median of the medians and the worst p99."""
    completed = sum(r["completed"] for r in runs)
    elapsed = sum(r["elapsed_s"] for r in runs)
    cpu: dict[str, float | None] = {}
    trips: dict[str, int] = {}
    errors: dict[str, int] = {}
    for r in runs:
        for name, used in r["cpu_s"].items():
            if used is not None:
                cpu[name] = (cpu.get(name) or 0.0) + used
        for kind, n in r["round_trips"].items():
            trips[kind] = trips.get(kind, 0) + n
        for key, n in r["errors"].items():
            errors[key] = errors.get(key, 0) + n
    n = max(completed, 1)
    commits = [r["commits_per_publish"] * r["completed"] for r in runs if r["commits_per_publish"] is not None]

    def per_publish(prefix: str) -> float:
        return float(sum(s or 0.0 for name, s in cpu.items() if name.startswith(prefix)) / n * 1000)

    return {
        **runs[0], "completed": completed, "elapsed_s": elapsed, "throughput": completed / elapsed if elapsed else 0,
        "median_ms": statistics.median(r["median_ms"] for r in runs), "p99_ms": max(r["p99_ms"] for r in runs),
        "errors": errors, "cpu_s": cpu, "round_trips": trips, "round_trips_per_publish": sum(trips.values()) / n,
        "commits_per_publish": sum(commits) / n if commits else None,
        "service_ms": per_publish(SERVICE), "backends_ms": per_publish(BACKEND),
        "background_ms": per_publish(BACKGROUND), "rss_mb": max(r["rss_mb"] for r in runs),
        "rounds": [r["throughput"] for r in runs], "runs": len(runs),
    }


def _sum(cpu: dict[str, float], prefix: str) -> float:
    return sum(s for name, s in cpu.items() if name.startswith(prefix))


def cpu_table(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """Each process's share of a core over the measured window, per run (a column each); the
    backends serving the database are summed into one row (their count beside it)."""

    def grouped(run: dict[str, Any]) -> dict[str, float]:
        out: dict[str, float] = {}
        backends = [s for n, s in run["cpu_s"].items() if n.startswith(BACKEND) and s is not None]
        for name, used in run["cpu_s"].items():
            if used is None or name.startswith(BACKEND):
                continue
            if name == CLIENT and backends:
                out[f"{BACKEND}s serving the database (all of them)"] = sum(backends)
            out[name] = used
        return out

    shares = [(label, {n: s / run["elapsed_s"] for n, s in grouped(run).items()}) for label, run in runs]
    names: list[str] = []
    for _label, share in shares:
        names += [n for n in share if n not in names]
    rows = [[name, *[f"{share[name]:.0%}" if name in share else "–" for _label, share in shares]] for name in names]
    backends = ", ".join(f"{label}: {sum(n.startswith(BACKEND) for n in run['cpu_s']) // run.get('runs', 1)}"
                         for label, run in runs)
    return (table(["Process (CPU over the window, % of one core)", *[label for label, _ in runs]], rows)
            + f"\n\nBackends serving the database (pools and change-feed listeners) per run: {backends}.")


def trips_text(run: dict[str, Any]) -> str:
    n = max(run["completed"], 1)
    kinds = ", ".join(f"{kind} {count / n:.1f}" for kind, count in sorted(run["round_trips"].items()) if count)
    return f"{run['round_trips_per_publish']:.1f} ({kinds or 'none'})"


def run(scale: Scale) -> CaseResult:
    result = CaseResult(NAME)
    if not pg.available():
        result.targets.append(Target(NAME, "PostgreSQL answers", pg.SKIP_NOTE, True))
        result.data = {"skipped": pg.SKIP_NOTE}
        return result
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {"SQLite": {}, "PostgreSQL": {}}
    top = max(scale.pg_levels)
    # Other work on a shared machine comes and goes: the stores alternate (SQLite, PostgreSQL,
    # PostgreSQL, SQLite, ...) and each figure sums its runs.
    order = [st for i in range(scale.pg_rounds) for st in (("SQLite", "PostgreSQL") if i % 2 == 0
                                                            else ("PostgreSQL", "SQLite"))]
    with Processes() as ps:
        for store in order:
            with deploy(ps, store) as dep:
                for lv in scale.pg_levels:
                    runs[store].setdefault(lv, []).append(measure(ps, dep, lv, scale.pg_warmup, scale.pg_duration))
    measured = {store: {lv: combine(r) for lv, r in by_level.items()} for store, by_level in runs.items()}
    result.data = {
        "measured": measured, "order": order,
        # The PostgreSQL server's work for this case: not other load on the machine.
        "database_cpu_s": sum(
            s or 0.0 for by_level in runs.values() for rs in by_level.values() for r in rs
            for name, s in r["cpu_s"].items() if name.startswith((BACKEND, BACKGROUND))
        ),
    }
    sqlite, postgres = measured["SQLite"], measured["PostgreSQL"]
    for level in scale.pg_levels:
        p, s = postgres[level], sqlite[level]
        result.rows.append(Row(
            case=NAME,
            scenario=f"PublishInstagramCarousel, {IMAGES} images, {level} concurrent, PostgreSQL, one replica",
            median_ms=p["median_ms"], p99_ms=p["p99_ms"], throughput=p["throughput"], rss_mb=p["rss_mb"],
            baseline="the same on SQLite, same run",
            base_median_ms=s["median_ms"], base_p99_ms=s["p99_ms"], base_throughput=s["throughput"],
            base_rss_mb=s["rss_mb"],
            ratio=(f"throughput {p['throughput'] / s['throughput']:.2f}×; service CPU/publish "
                   f"{p['service_ms'] / s['service_ms']:.2f}× (runs: PostgreSQL "
                   f"{', '.join(num(t) for t in p['rounds'])}/s, SQLite {', '.join(num(t) for t in s['rounds'])}/s)")
            if s["throughput"] and s["service_ms"] else "",
            notes=f"service CPU {num(p['service_ms'], 2)} ms/publish (SQLite {num(s['service_ms'], 2)}, "
            f"its database work included); PostgreSQL backends {num(p['backends_ms'], 2)} ms/publish; "
            f"round trips {trips_text(p)}; SQLite statements {trips_text(s)}; "
            f"{num(p['commits_per_publish'], 1)} commits/publish; "
            f"{p['completed']} publishes, {sum(p['errors'].values())} errors",
        ))
    p, s = postgres[top], sqlite[top]
    result.targets.append(Target(
        NAME, f"PostgreSQL service CPU per publish ≤ 1.5× SQLite's (one replica, {top} concurrent)",
        f"{num(p['service_ms'], 2)} vs {num(s['service_ms'], 2)} ms = {p['service_ms'] / s['service_ms']:.2f}× "
        f"(with the PostgreSQL backends' {num(p['backends_ms'], 2)} ms: "
        f"{(p['service_ms'] + p['backends_ms']) / s['service_ms']:.2f}×)",
        p["service_ms"] <= 1.5 * s["service_ms"]))
    errors = sum(sum(m["errors"].values()) for runs in measured.values() for m in runs.values())
    result.targets.append(Target(NAME, "0 errors on either store", str(errors), errors == 0))
    result.sections.append(
        "Database cost per publish (PostgreSQL, one replica), from the measured windows above: round trips "
        "counted in the service's asyncpg connections (bench/counted_server.py), commits from "
        "pg_stat_database, CPU from /proc of the backends serving the database and of the server's own "
        "processes (these serve every database on the server, so other clients' load shows there too).\n\n"
        + table(["Concurrent", "Round trips/publish (by kind)", "Commits/publish", "Backends CPU ms/publish",
                 "Server processes CPU ms/publish", "Service CPU ms/publish", "Publishes/s"],
                [[str(lv), trips_text(m), num(m["commits_per_publish"], 1), num(m["backends_ms"], 2),
                  num(m["background_ms"], 2), num(m["service_ms"], 2), num(m["throughput"])]
                 for lv, m in postgres.items()])
    )
    result.sections.append(
        "Statements per publish on SQLite, from the same windows (sqlite3's trace callback in the service: "
        "every statement the store thread runs, BEGIN and COMMIT of its group commits included):\n\n"
        + table(["Concurrent", "SQLite statements/publish (by kind)", "Service CPU ms/publish", "Publishes/s"],
                [[str(lv), trips_text(m), num(m["service_ms"], 2), num(m["throughput"])]
                 for lv, m in sqlite.items()])
    )
    result.sections.append(
        f"CPU by process at {top} concurrent (measured window; the machine has {__import__('os').cpu_count()} "
        "cores, shared with whatever else runs on it, shown in the machine row):\n\n"
        + cpu_table([("SQLite", s), ("PostgreSQL, one replica", p)])
    )
    return result
