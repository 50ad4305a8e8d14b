"""Case 4, history: GetPublish and ListPublishes over one million publish records.

`history_rows` records are bulk-loaded (bench.history_data) into a fresh database made by the
service's own migrations; then `python -m server` is started on it (platforms: the built-in
sandbox, delay 0, for the few in-flight records it resumes at start; measuring starts once
they have settled). From the harness, one call at a time: GetPublish of random publishes, the
first page (page_size 50) of ListPublishes for each filter, and a deep page reached by
following next_page_token. The baseline is a plain SELECT of the same shape (same WHERE,
ORDER BY created_at DESC, id DESC, LIMIT 51, same parameters) on the same file with sqlite3,
in the same run.

Query plans: the statements the service really runs are captured with sqlite3's trace
callback while the service's own repository code (PublishHistory over PublishRepository)
serves each query in-process, and each is put through EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from distribution.v1 import account_pb2, publish_pb2, publishing_service_pb2_grpc
from distribution.v1 import publishing_service_pb2 as pb
from google.protobuf import timestamp_pb2

from bench import pg
from bench.cases import Scale
from bench.counted_server import read_counts
from bench.harness import Processes, peak_rss_mb, summarize
from bench.history_data import WORKSPACE, History, build, build_postgres
from bench.report import CaseResult, Row, Target, ms, table

NAME = "4. History"
PAGE = 50
TERMINAL = ("PUBLISHED", "FAILED", "DELIVERED_TO_INBOX", "UNCONFIRMED")
DB_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class Filter:
    """One ListPublishes filter: the same values as a gRPC request and as baseline SQL."""

    account: str | None = None
    platform: str | None = None
    state: str | None = None
    after: datetime | None = None
    before: datetime | None = None

    def request(self, token: str = "") -> pb.ListPublishesRequest:
        req = pb.ListPublishesRequest(page_size=PAGE, page_token=token)
        if self.account:
            req.account_id = self.account
        if self.platform:
            req.platform = account_pb2.Platform.Value("PLATFORM_" + self.platform)
        if self.state:
            req.state = publish_pb2.PublishState.Value("PUBLISH_STATE_" + self.state)
        for name, value in (("create_time_after", self.after), ("create_time_before", self.before)):
            if value is not None:
                ts = timestamp_pb2.Timestamp()
                ts.FromDatetime(value)
                getattr(req, name).CopyFrom(ts)
        return req

    def sql(self, cursor: tuple[str, str] | None = None) -> tuple[str, list[Any]]:
        clauses, params = ["workspace_id = ?"], [WORKSPACE]
        for column, value in (("account_id", self.account), ("platform", self.platform), ("state", self.state)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.after is not None:
            clauses.append("created_at >= ?")
            params.append(self.after.strftime(DB_FORMAT))
        if self.before is not None:
            clauses.append("created_at < ?")
            params.append(self.before.strftime(DB_FORMAT))
        if cursor is not None:
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params += [cursor[0], cursor[0], cursor[1]]
        sql = f"SELECT * FROM publishes WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id DESC LIMIT ?"
        return sql, [*params, PAGE + 1]

    def domain(self) -> Any:
        from server.domain.models import Platform, PublishFilter, PublishState  # noqa: PLC0415

        return PublishFilter(
            account_id=self.account,
            platform=Platform(self.platform) if self.platform else None,
            state=PublishState(self.state) if self.state else None,
            created_after=self.after,
            created_before=self.before,
        )


def _when(text: str) -> datetime:
    return datetime.strptime(text, DB_FORMAT).replace(tzinfo=UTC)


def _filters(history: History, n: int, seed: int = 11) -> dict[str, list[Filter]]:
    rng = random.Random(seed)
    accounts = list(history.accounts)  # in connection order: the same accounts on either store
    oldest, newest = _when(history.oldest), _when(history.newest)
    week, month = timedelta(days=7), timedelta(days=30)

    def window(length: timedelta) -> tuple[datetime, datetime]:
        span = max((newest - oldest - length).total_seconds(), 0.0)
        start = oldest + timedelta(seconds=rng.random() * span)
        return start, start + length

    def combo_window() -> tuple[datetime, datetime]:
        return newest - month, newest + timedelta(seconds=1)

    return {
        "none": [Filter() for _ in range(n)],
        "account": [Filter(account=accounts[i % len(accounts)]) for i in range(n)],
        "platform": [Filter(platform=("INSTAGRAM", "TIKTOK")[i % 2]) for i in range(n)],
        "state": [Filter(state=TERMINAL[i % len(TERMINAL)]) for i in range(n)],
        "time range (7 days)": [Filter(after=a, before=b) for a, b in (window(week) for _ in range(n))],
        "account + state FAILED + last 30 days": [
            Filter(account=accounts[i % len(accounts)], state="FAILED", after=combo_window()[0],
                   before=combo_window()[1]) for i in range(n)],
        "platform + state": [
            Filter(platform=("INSTAGRAM", "TIKTOK")[i % 2], state=TERMINAL[(i // 2) % len(TERMINAL)])
            for i in range(n)],
    }


# --- measuring -------------------------------------------------------------------------------


async def _grpc_times(stub: Any, method: str, requests: list[Any], warmup: int) -> tuple[list[float], int]:
    call = getattr(stub, method)
    for request in requests[:warmup]:
        await call(request, timeout=30)
    latencies, items = [], 0
    for request in requests:
        started = time.perf_counter()
        response = await call(request, timeout=30)
        latencies.append(time.perf_counter() - started)
        items += len(getattr(response, "publishes", ())) if method == "ListPublishes" else len(response.events)
    return latencies, items


def _sql_times(conn: sqlite3.Connection | None, statements: list[list[tuple[str, list[Any]]]],
               warmup: int) -> list[float]:
    if conn is None:  # the PostgreSQL half: its baseline is the SQLite service
        return []
    for group in statements[:warmup]:
        for sql, params in group:
            conn.execute(sql, params).fetchall()
    latencies = []
    for group in statements:
        started = time.perf_counter()
        for sql, params in group:
            conn.execute(sql, params).fetchall()
        latencies.append(time.perf_counter() - started)
    return latencies


def _slowest(group: list[Filter], latencies: list[float]) -> str:
    """Names the slowest platform/state value among a filter's variants (when it has such values)."""
    by_value: dict[str, list[float]] = {}
    for f, latency in zip(group, latencies, strict=True):
        key = ", ".join(f"{k} {v}" for k, v in (("platform", f.platform), ("state", f.state)) if v)
        if key:
            by_value.setdefault(key, []).append(latency)
    if len(by_value) < 2:
        return ""
    key, values = max(by_value.items(), key=lambda kv: sorted(kv[1])[len(kv[1]) // 2])
    return f"; slowest: {key} (median {sorted(values)[len(values) // 2] * 1000:.1f} ms)"


async def _deep_token(stub: Any, pages: int) -> str:
    token = ""
    for _ in range(pages - 1):
        token = (await stub.ListPublishes(Filter().request(token), timeout=30)).next_page_token
    return token


def _deep_cursor(conn: sqlite3.Connection | None, pages: int) -> tuple[str, str] | None:
    cursor = None
    if conn is None:
        return None
    for _ in range(pages - 1):
        sql, params = Filter().sql(cursor)
        rows = conn.execute(sql.replace("SELECT *", "SELECT created_at, id"), params).fetchall()
        cursor = rows[PAGE - 1]
    return cursor


async def _measure(address: str, conn: sqlite3.Connection | None, history: History, scale: Scale) -> dict[str, Any]:
    n = scale.history_samples
    warmup = max(2, n // 10)
    filters = _filters(history, n)
    out: dict[str, Any] = {}
    async with grpc.aio.insecure_channel(address) as channel:
        stub = publishing_service_pb2_grpc.PublishingServiceStub(channel)
        ids = [history.sample_ids[i % len(history.sample_ids)] for i in range(n)]
        latencies, items = await _grpc_times(stub, "GetPublish", [pb.GetPublishRequest(id=i) for i in ids], warmup)
        base = _sql_times(conn, [[("SELECT * FROM publishes WHERE id = ?", [i]),
                                  ("SELECT * FROM publish_events WHERE publish_id = ? AND id > ? ORDER BY id", [i, 0])]
                                 for i in ids], warmup)
        out["GetPublish (with its timeline)"] = (latencies, base, f"{items / n:.1f} events per publish")
        for name, group in filters.items():
            latencies, items = await _grpc_times(stub, "ListPublishes", [f.request() for f in group], warmup)
            base = _sql_times(conn, [[f.sql()] for f in group], warmup)
            out[f"ListPublishes first page, filter: {name}"] = (
                latencies, base, f"{items / n:.1f} items per page" + _slowest(group, latencies))
        for depth in _depths(scale):
            token = await _deep_token(stub, depth)
            cursor = _deep_cursor(conn, depth)
            latencies, items = await _grpc_times(stub, "ListPublishes", [Filter().request(token)] * n, warmup)
            base = _sql_times(conn, [[Filter().sql(cursor)]] * n, warmup)
            out[_deep_name(depth)] = (
                latencies, base, f"{items / n:.1f} items per page; {(depth - 1) * PAGE:,} rows in")
        first = max(_depths(scale)) + 1
        latencies, base = await _unseen_pages(stub, conn, first, n)
        out[UNSEEN] = (latencies, base, f"pages {first:,} to {first + n - 1:,}, each served once, no warm-up")
    return out


# The service keeps each listed publish's rendered message until the record changes
# (server/api/rendered.py), so repeated pages above are mostly served from kept renderings.
# This row is the other end: pages nobody asked for before, every publish rendered.
UNSEEN = "ListPublishes, pages never served before (every publish rendered), no filter"


async def _unseen_pages(
    stub: Any, conn: sqlite3.Connection | None, first: int, n: int
) -> tuple[list[float], list[float]]:
    token, cursor = await _deep_token(stub, first), _deep_cursor(conn, first)
    latencies, base = [], []
    for _ in range(n):
        started = time.perf_counter()
        token = (await stub.ListPublishes(Filter().request(token), timeout=30)).next_page_token
        latencies.append(time.perf_counter() - started)
        if conn is None:
            continue
        sql, params = Filter().sql(cursor)
        started = time.perf_counter()
        conn.execute(sql, params).fetchall()
        base.append(time.perf_counter() - started)
        rows = conn.execute(sql.replace("SELECT *", "SELECT created_at, id"), params).fetchall()
        cursor = rows[PAGE - 1]
    return latencies, base


# --- query plans -------------------------------------------------------------------------------

_INDEX_RE = re.compile(r"USING (?:COVERING )?INDEX (\w+)|USING (INTEGER PRIMARY KEY|PRIMARY KEY)")


def _plan(conn: sqlite3.Connection, sql: str, params: list[Any] | None = None) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params or [])]


def _constrained(details: list[str]) -> set[str]:
    """Columns the plan's index search constrains, e.g. {"workspace_id", "state", "created_at"}."""
    columns: set[str] = set()
    for d in details:
        for inner in re.findall(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$", d):
            columns.update(re.findall(r"([a-z_]+)\s*[=<>]", inner))
            for group in re.findall(r"\(([a-z_,]+)\)\s*[<>=]", inner):
                columns.update(group.split(","))
    return columns


def _plan_summary(details: list[str], filter_columns: set[str]) -> tuple[str, list[str], list[str]]:
    """(indexes used, full scans and sorts, filter columns the index does not constrain)."""
    indexes = [m.group(1) or m.group(2) for d in details for m in _INDEX_RE.finditer(d)]
    scans = []
    for d in details:
        if re.match(r"SCAN \w+", d):
            scans.append(f"full {'index ' if 'INDEX' in d else 'table '}scan: {d}")
        if "TEMP B-TREE" in d:
            scans.append(f"sort: {d}")
    residual = sorted(filter_columns - _constrained(details))
    return ", ".join(dict.fromkeys(indexes)) or "none", scans, residual


def _filter_columns(name: str, history: History) -> set[str]:
    if name.startswith("GetPublish"):
        return set()
    key = name.split("filter: ", 1)[-1]
    f = _filters(history, 1).get(key, [Filter()])[0]
    columns = {c for c, v in (("account_id", f.account), ("platform", f.platform), ("state", f.state)) if v}
    if f.after or f.before or ("page" in name and "first page" not in name):
        columns.add("created_at")
    return columns


def _what_if_analyze(path: Path, history: History, measured: dict[str, Any], samples: int) -> str:
    """Runs ANALYZE on the loaded file (the service never does) and re-plans and re-times the
    baseline list queries: does the planner pick a better index once it has statistics?"""
    conn = sqlite3.connect(str(path))
    try:
        started = time.perf_counter()
        conn.execute("PRAGMA analysis_limit = 1000")
        conn.execute("ANALYZE")
        analyze_s = time.perf_counter() - started
        filters = _filters(history, samples)
        rows = []
        for key, group in filters.items():
            name = f"ListPublishes first page, filter: {key}"
            sql, params = group[0].sql()
            index_after = _plan_summary(_plan(conn, sql, params), set())[0]
            after = summarize(_sql_times(conn, [[f.sql()] for f in group], max(2, samples // 10)))
            before = summarize(measured[name][1]) if name in measured else None
            rows.append([key, index_after, ms(before["p99_ms"]) if before else "–", ms(after["p99_ms"])])
    finally:
        conn.close()
    return (f"What if the service kept planner statistics? `ANALYZE` (analysis_limit 1000, {analyze_s:.1f} s) "
            "on the loaded file, then the baseline SELECTs again (the service itself never runs ANALYZE or "
            "`PRAGMA optimize`, so it plans without statistics):\n\n"
            + table(["Filter", "Index chosen with statistics", "Baseline p99 ms without", "Baseline p99 ms with"],
                    rows))


def _depths(scale: Scale) -> tuple[int, int]:
    return scale.history_deep_page, scale.history_deep_page * 10


def _deep_name(depth: int) -> str:
    return f"ListPublishes page {depth} (next_page_token followed), no filter"


def _baseline_sql(name: str, history: History) -> list[tuple[str, list[Any]]]:
    """The baseline statements for a measured query (used when the service's were not captured)."""
    if name.startswith("GetPublish"):
        sample = history.sample_ids[0]
        return [("SELECT * FROM publishes WHERE id = ?", [sample]),
                ("SELECT * FROM publish_events WHERE publish_id = ? AND id > ? ORDER BY id", [sample, 0])]
    key = name.split("filter: ", 1)[-1]
    filters = _filters(history, 1)
    return [filters[key][0].sql() if key in filters else Filter().sql((history.newest, history.sample_ids[0]))]


async def _service_statements(path: Path, history: History, depths: tuple[int, ...]) -> dict[str, list[str]]:
    """The SELECTs the service's own history code runs for each query (sqlite3 trace callback)."""
    from server.adapters.clock import SystemClock  # noqa: PLC0415
    from server.adapters.sqlite.database import Database  # noqa: PLC0415
    from server.adapters.sqlite.publishes import SqlitePublishStore  # noqa: PLC0415
    from server.services.history import PublishHistory  # noqa: PLC0415
    from server.services.workflow.publish_log import PublishLog  # noqa: PLC0415

    database = Database(path)
    await database.open()
    statements: list[str] = []
    captured: dict[str, list[str]] = {}
    try:
        await database.run(lambda db: db.conn.set_trace_callback(statements.append))
        publishes = SqlitePublishStore(database)
        publish_history = PublishHistory(publishes, publishes, PublishLog(publishes, SystemClock()))

        def take(name: str) -> None:
            captured[name] = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            statements.clear()

        statements.clear()
        await publish_history.get(WORKSPACE, history.sample_ids[0])
        take("GetPublish (with its timeline)")
        for name, group in _filters(history, 1).items():
            await publish_history.list_page(WORKSPACE, PAGE, "", group[0].domain())
            take(f"ListPublishes first page, filter: {name}")
        for deep in depths:
            token = ""
            for _ in range(deep - 1):
                token = (await publish_history.list_page(WORKSPACE, PAGE, token, Filter().domain())).next_page_token
            statements.clear()
            await publish_history.list_page(WORKSPACE, PAGE, token, Filter().domain())
            take(_deep_name(deep))
        token = ""
        for _ in range(max(depths)):
            token = (await publish_history.list_page(WORKSPACE, PAGE, token, Filter().domain())).next_page_token
        statements.clear()
        page = await publish_history.list_page(WORKSPACE, PAGE, token, Filter().domain())
        await publish_history.records(WORKSPACE, page.items)  # nothing kept: every record read
        take(UNSEEN)
        await database.run(lambda db: db.conn.set_trace_callback(None))
    finally:
        await database.close()
    return captured


# --- the PostgreSQL half ------------------------------------------------------------------------

PG_TARGET = 2.0  # PostgreSQL's first-page p99 within this many times SQLite's


def _pg_settle(url: str, timeout: float = 60.0) -> int:
    """`_settle` on PostgreSQL: waits until the resumed in-flight records are finished."""
    deadline = time.monotonic() + timeout
    while True:
        unfinished = "SELECT count(*) AS n FROM publishes WHERE state IN ('PENDING', 'PROCESSING')"
        left = int(pg.query(url, unfinished)[0]["n"])
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _pg_plans(url: str, history: History) -> list[list[str]]:
    """EXPLAIN of the service's first-page statement (server/adapters/postgres/publishes.py,
    list_page) for each filter: the index PostgreSQL's planner picks, with its statistics."""
    rows = []
    for name, group in _filters(history, 1).items():
        f, params, clauses = group[0], [WORKSPACE], ["workspace_id = $1"]
        for column, value in (("account_id", f.account), ("platform", f.platform), ("state", f.state)):
            if value is not None:
                params.append(value)
                clauses.append(f"{column} = ${len(params)}" + ("::uuid" if column == "account_id" else ""))
        for op, value in ((">=", f.after), ("<", f.before)):
            if value is not None:
                params.append(value)
                clauses.append(f"created_at {op} ${len(params)}")
        sql = (f"SELECT id, revision, created_at FROM publishes WHERE {' AND '.join(clauses)}"
               f" ORDER BY created_at DESC, id DESC LIMIT {PAGE + 1}")
        plan = [r[0] for r in pg.query(url, "EXPLAIN " + sql, *params)]
        scans = re.findall(r"(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\w+)", " ".join(plan))
        indexes = sorted(set(scans))
        rows.append([name, ", ".join(indexes) or "none", "; ".join(p.strip() for p in plan)[:300]])
    return rows


def _postgres_half(scale: Scale, workdir: Path) -> dict[str, Any]:
    """The same history (same seed) on PostgreSQL, a fresh database; the service on it, measured
    with the same calls (no SQL baseline: the SQLite service of the same run is the baseline)."""
    with pg.fresh_database("distribution_history") as url:
        history = build_postgres(url, scale.history_rows)
        size_mb = int(pg.query(url, "SELECT pg_database_size(current_database()) AS n")[0]["n"]) / 1e6
        counts = workdir / "history-round-trips.json"
        with Processes(workdir) as ps:
            service = ps.service(None, None, extra_env={
                "DISTRIBUTION_DB": url,
                "DISTRIBUTION_SECRET_KEYS": history.secret_key,
                "DISTRIBUTION_SANDBOX_PROCESSING_DELAY": "0",
            }, args=["-m", "bench.counted_server", str(counts)])
            left = _pg_settle(url)
            before = read_counts(service.pid, counts)
            measured = asyncio.run(_measure(service.address, None, history, scale))
            after = read_counts(service.pid, counts)
            rss = peak_rss_mb(service.pid)
            service.stop()
        plans = _pg_plans(url, history)
    trips = {kind: n - before.get(kind, 0) for kind, n in after.items() if n - before.get(kind, 0)}
    return {"history": history, "measured": measured, "rss": rss, "left": left, "size_mb": size_mb, "plans": plans,
            "round_trips": trips}


def _trips_per_call(half: dict[str, Any]) -> str:
    """Round trips per timed call, over every call the measurement made (warm-ups and page walks
    included), from bench/counted_server.py."""
    calls = sum(len(latencies) for latencies, _base, _note in half["measured"].values())
    trips = half["round_trips"]
    if not calls or not trips:
        return ""
    kinds = ", ".join(f"{kind} {n / calls:.1f}" for kind, n in sorted(trips.items()))
    return (f"Round trips to PostgreSQL per timed call, averaged over everything the measurement sent (warm-ups "
            f"and page walks too): {sum(trips.values()) / calls:.1f} ({kinds}).")


def _postgres_rows(result: CaseResult, half: dict[str, Any], sqlite: dict[str, Any]) -> None:
    history: History = half["history"]
    for name, (latencies, _base, note) in half["measured"].items():
        s, b = summarize(latencies), summarize(sqlite[name][0])
        result.rows.append(Row(
            case=NAME, scenario=f"{name}, PostgreSQL", median_ms=s["median_ms"], p99_ms=s["p99_ms"],
            throughput=1000 / s["mean_ms"], rss_mb=half["rss"],
            baseline="the same call to the service on SQLite, same rows, same run",
            base_median_ms=b["median_ms"], base_p99_ms=b["p99_ms"], base_throughput=1000 / b["mean_ms"],
            ratio=f"median {s['median_ms'] / b['median_ms']:.1f}×, p99 {s['p99_ms'] / b['p99_ms']:.1f}×",
            notes=f"{note}; {s['n']} calls",
        ))
        if name.startswith("ListPublishes first page"):
            result.targets.append(Target(
                NAME, f"PostgreSQL p99 ≤ {PG_TARGET:g}× SQLite's: {name.removeprefix('ListPublishes ')}",
                f"{ms(s['p99_ms'])} vs {ms(b['p99_ms'])} ms = {s['p99_ms'] / b['p99_ms']:.1f}×",
                s["p99_ms"] <= PG_TARGET * b["p99_ms"]))
    result.sections.append(
        f"History on PostgreSQL: the same {history.rows:,} publishes (same seed) and {history.events:,} events, "
        f"loaded into a fresh database with COPY (server/adapters/postgres/bulk.py) in {history.seconds:.0f} s "
        f"(COPY {history.insert_seconds:.0f} s; indexes, foreign keys and ANALYZE {history.index_seconds:.0f} s); "
        f"database {half['size_mb']:,.0f} MB. ANALYZE runs after the load as autovacuum would on a default "
        "server (this machine's server runs with autovacuum off). In-flight records left unsettled at measuring "
        f"time: {half['left']}. {_trips_per_call(half)} Plans of the service's first-page statement "
        "(EXPLAIN):\n\n"
        + table(["Filter", "Index", "Plan"], half["plans"])
    )


# --- the case ------------------------------------------------------------------------------------


def _settle(path: Path, timeout: float = 60.0) -> int:
    """Waits until the records the service resumed at start are finished; returns how many are left."""
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # a fresh snapshot each time
        try:
            left = conn.execute(
                "SELECT count(*) FROM publishes WHERE state IN ('PENDING', 'PROCESSING')").fetchall()[0][0]
        finally:
            conn.close()
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def run(scale: Scale, workdir: Path | None = None) -> CaseResult:
    result = CaseResult(NAME)
    with tempfile.TemporaryDirectory(prefix="distribution-history-", dir=workdir) as tmp:
        path = Path(tmp) / "history.db"
        history = build(path, scale.history_rows)
        with Processes(Path(tmp)) as ps:
            service = ps.service(None, None, db_path=path, extra_env={
                "DISTRIBUTION_SECRET_KEYS": history.secret_key,
                "DISTRIBUTION_SANDBOX_PROCESSING_DELAY": "0",
            })
            left = _settle(path)
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                measured = asyncio.run(_measure(service.address, conn, history, scale))
            finally:
                conn.close()
            rss = peak_rss_mb(service.pid)
            service.stop()
        size_mb = path.stat().st_size / 1e6
        postgres_half = _postgres_half(scale, Path(tmp)) if pg.available() else None
        try:
            statements = asyncio.run(_service_statements(path, history, _depths(scale)))
            statements_note = "the service's own statements (trace callback)"
        except Exception as exc:  # the plans then come from the baseline SQL only
            statements, statements_note = {}, f"baseline SQL only (capturing the service's failed: {exc!r})"
        plan_conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        plan_rows, full_scans, unbounded = [], [], []
        for name in measured:
            captured = statements.get(name)
            for sql, params in ([(sql, None) for sql in captured] if captured else _baseline_sql(name, history)):
                details = _plan(plan_conn, sql, params)
                # Reading a page's records by primary key filters nothing: no filter columns.
                by_id = " id IN (" in sql
                index, scans, residual = _plan_summary(details, set() if by_id else _filter_columns(name, history))
                full_scans += [f"{name}: {f}" for f in scans]
                if residual:
                    unbounded.append(f"{name.split('filter: ', 1)[-1]}: {', '.join(residual)} not in {index}")
                findings = scans + [f"{', '.join(residual)} checked row by row: not in the index, so the scan "
                                    "is not bounded by it" for _ in [0] if residual]
                plan_rows.append([name, index, "; ".join(details), "; ".join(findings) or "none",
                                  re.sub(r"\s+", " ", sql)[:200]])
        plan_conn.close()
        what_if = _what_if_analyze(path, history, measured, min(scale.history_samples, 100))

    result.data = {"history": {"rows": history.rows, "events": history.events, "build_s": history.seconds},
                   "measured": {k: (summarize(v[0]), summarize(v[1])) for k, v in measured.items()},
                   "plans": plan_rows, "unsettled": left}
    for name, (latencies, base, note) in measured.items():
        s, b = summarize(latencies), summarize(base)
        result.rows.append(Row(
            case=NAME, scenario=name, median_ms=s["median_ms"], p99_ms=s["p99_ms"],
            throughput=1000 / s["mean_ms"], rss_mb=rss,
            baseline="plain indexed SELECT, sqlite3, same shape and file",
            base_median_ms=b["median_ms"], base_p99_ms=b["p99_ms"], base_throughput=1000 / b["mean_ms"],
            ratio=f"median {s['median_ms'] / b['median_ms']:.1f}×, p99 {s['p99_ms'] / b['p99_ms']:.1f}×",
            notes=f"{note}; {s['n']} calls",
        ))
        if name.startswith("ListPublishes") and ("first page" in name or f"page {scale.history_deep_page} " in name):
            result.targets.append(Target(NAME, f"p99 < 5 ms: {name.removeprefix('ListPublishes ')}",
                                         f"{ms(s['p99_ms'])} ms (baseline {ms(b['p99_ms'])} ms)", s["p99_ms"] < 5.0))
    if postgres_half is not None:
        _postgres_rows(result, postgres_half, measured)
        result.data["postgres"] = {
            "rows": postgres_half["history"].rows, "build_s": postgres_half["history"].seconds,
            "measured": {k: summarize(v[0]) for k, v in postgres_half["measured"].items()},
            "plans": postgres_half["plans"],
        }
    else:
        result.sections.append(f"History on PostgreSQL: {pg.SKIP_NOTE}.")
    result.targets.append(Target(NAME, "every list query uses an index, no full scan (EXPLAIN QUERY PLAN)",
                                 "; ".join(full_scans) or "all index searches, no full scan"
                                 + (f"; but filters checked row by row: {'; '.join(unbounded)}" if unbounded else ""),
                                 not full_scans))
    result.sections.append(
        f"History data: {history.rows:,} publishes and {history.events:,} timeline events over "
        f"{len(history.accounts)} accounts, {history.oldest[:10]} to {history.newest[:10]}; database "
        f"{size_mb:,.0f} MB, built in {history.seconds:.0f} s (executemany {history.insert_seconds:.0f} s, "
        f"index build {history.index_seconds:.0f} s). In-flight records left unsettled at measuring time: "
        f"{left}. Each query was timed {scale.history_samples} times after a warm-up, one call at a time."
    )
    result.sections.append(
        f"Query plans ({statements_note}), EXPLAIN QUERY PLAN on the loaded file:\n\n"
        + table(["Query", "Index", "Plan", "Finding", "SQL"], plan_rows)
    )
    result.sections.append(what_if)
    return result
