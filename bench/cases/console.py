"""Case 10, the console: its first load, and its list view over 10,000 publishes beside curl.

`console_rows` publish records are bulk-loaded (bench.history_data, as in case 4) and
`python -m server` serves them with its HTTP gateway on and no API keys (the loopback console
opens directly). Debian's headless Chromium, driven by Playwright, then measures:

- **First load**, `console_loads` times, each in a new browser context (empty cache): every
  request made until the newest 50 publishes are drawn and the workspace stream is open,
  with the bytes received for each (response headers and encoded body, as Chromium reports
  them; the event stream, still open, counts as a request without bytes), split into the
  console's own files and API calls; and the time from navigation start to the first row
  drawn, read in the page (performance.now() once a MutationObserver sees the row and the
  page is laid out).
- **List view**, `console_samples` times per filter with the page open: the view drawn again
  for that filter (location.hash), timed in the page from the change until its 50 rows are
  in the page and laid out: the ListPublishes call, JSON parsing, the table and its layout.

The baseline of the list view is the same ListPublishes call (the URL the console requested,
byte for byte) made by curl in the same run, `console_samples` times: its time_total
(connect to last byte) and size_download. The console's time adds what a person needs
(parsing and drawing); the targets say how much that may add, and how light the first load is.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, Request

from bench.cases import Scale
from bench.cases.history import _settle
from bench.harness import Processes, peak_rss_mb, summarize
from bench.history_data import build
from bench.report import CaseResult, Row, Target, ms, num, table
from tests.support.browser import LAPTOP, chromium
from tests.support.console import console_url, origin_of

NAME = "10. Console"
PAGE = 50
# The largest first load the target allows: what a slow mobile link fetches in about a second.
FIRST_LOAD_KB = 150
FIRST_LOAD_REQUESTS = 20
# What drawing may add to the API call it shows (median), over curl's time for that call.
DRAW_ADDS_MS = 50

# Records the moment the first publish row is in the page and laid out (run before the
# console's own scripts; reading offsetHeight makes the browser lay the page out first).
_FIRST_ROW = """
window.__firstRow = null;
new MutationObserver((_changes, observer) => {
  if (!document.querySelector('main tr[data-id]')) return;
  observer.disconnect();
  void document.body.offsetHeight;
  window.__firstRow = performance.now();
}).observe(document, { childList: true, subtree: true });
"""

# Draws the list for `route` again and resolves with the milliseconds it took.
_REDRAW = """async (route) => {
  const main = document.getElementById('main');
  main.replaceChildren();
  const started = performance.now();
  const drawn = new Promise((resolve) => {
    const look = () => main.querySelector('table.rows tbody tr[data-id]') && !main.hasAttribute('aria-busy');
    const observer = new MutationObserver(() => {
      if (!look()) return;
      observer.disconnect();
      void document.body.offsetHeight; // laid out, as a person would see it
      resolve(performance.now() - started);
    });
    observer.observe(main, { childList: true, subtree: true, attributes: true });
  });
  location.hash = route;
  return drawn;
}"""


@dataclass
class Load:
    """One first load: each request with what it was and the bytes received."""

    first_row_ms: float
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, path, bytes)

    def of(self, kind: str) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] == kind]


def _kind(request: Request, origin: str) -> str:
    path = request.url[len(origin):]
    if path.endswith(":watch") or ":watch?" in path:
        return "stream"
    return "api" if path.startswith("/api/") else "file"


def _first_load(page: Page, url: str, origin: str) -> Load:
    made: list[Request] = []

    def record(request: Request) -> None:
        made.append(request)

    page.on("request", record)
    page.add_init_script(_FIRST_ROW)
    page.goto(url)
    page.wait_for_selector(f"main tr[data-id]:nth-child({PAGE})")
    page.wait_for_selector('#live[data-state="live"]')
    load = Load(first_row_ms=float(page.evaluate("window.__firstRow")))
    for request in made:
        kind = _kind(request, origin)
        size = 0
        if kind != "stream":  # its body never ends; the rest are complete by now
            sizes = request.sizes()
            size = sizes["responseHeadersSize"] + sizes["responseBodySize"]
        load.requests.append((kind, request.url[len(origin):], size))
    page.remove_listener("request", record)
    return load


def _list_views(page: Page, routes: list[str], samples: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Milliseconds per redraw of each route, and the API URL each one requested."""
    times: dict[str, list[float]] = {route: [] for route in routes}
    urls: dict[str, str] = {}
    for _ in range(samples):
        for route in routes:  # in turn, so each hash differs from the one before
            with page.expect_request(lambda r: "/api/v1/publishes?" in r.url) as requested:
                times[route].append(float(page.evaluate(_REDRAW, route)) / 1000)
            urls[route] = requested.value.url
    return times, urls


def _curl(url: str, samples: int) -> tuple[list[float], int]:
    curl = shutil.which("curl")
    if curl is None:
        raise RuntimeError("curl is missing: `make bench` installs it")
    times, size = [], 0
    for _ in range(samples):
        done = subprocess.run(
            [curl, "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}", url],
            capture_output=True, text=True, check=True, timeout=60,
        )
        seconds, size_text, status = done.stdout.split()
        if status != "200":
            raise RuntimeError(f"curl {url}: HTTP {status}")
        times.append(float(seconds))
        size = int(size_text)
    return times, size


def _routes(accounts: dict[str, str]) -> dict[str, str]:
    busiest = next(iter(accounts))  # the first account connected is the busiest (Zipf-like)
    return {
        "no filter": "/publishes",
        "state FAILED": "/publishes?" + urlencode({"state": "FAILED"}),
        "platform TikTok": "/publishes?" + urlencode({"platform": "TIKTOK"}),
        "one account": "/publishes?" + urlencode({"accountId": busiest}),
    }


def run(scale: Scale, workdir: Path | None = None) -> CaseResult:
    result = CaseResult(NAME)
    with tempfile.TemporaryDirectory(prefix="distribution-console-", dir=workdir) as tmp:
        path = Path(tmp) / "history.db"
        history = build(path, scale.console_rows)
        with Processes(Path(tmp)) as ps:
            service = ps.service(None, None, db_path=path, extra_env={
                "DISTRIBUTION_SECRET_KEYS": history.secret_key,
                "DISTRIBUTION_SANDBOX_PROCESSING_DELAY": "0",
                "DISTRIBUTION_HTTP_LISTEN": "127.0.0.1:0",
            })
            _settle(path)  # the in-flight records the service resumes at start are finished
            url = console_url(service)
            origin = origin_of(url)
            routes = _routes(history.accounts)
            with chromium() as browser:
                loads = []
                for _ in range(scale.console_loads):
                    context = browser.new_context(viewport=LAPTOP)
                    loads.append(_first_load(context.new_page(), url, origin))
                    context.close()
                context = browser.new_context(viewport=LAPTOP)
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector(f"main tr[data-id]:nth-child({PAGE})")
                console_times, api_urls = _list_views(page, list(routes.values()), scale.console_samples)
                context.close()
            curl_times = {route: _curl(api_urls[route], scale.console_samples) for route in routes.values()}
            rss = peak_rss_mb(service.pid)

    _report(result, scale, loads, routes, console_times, curl_times, rss)
    return result


def _report(result: CaseResult, scale: Scale, loads: list[Load], routes: dict[str, str],
            console_times: dict[str, list[float]], curl_times: dict[str, tuple[list[float], int]],
            rss: float) -> None:
    last = loads[-1]
    total_kb = sum(size for _, _, size in last.requests) / 1000
    count = len(last.requests)
    first_row = summarize([load.first_row_ms / 1000 for load in loads])
    result.data = {
        "rows": scale.console_rows,
        "first_load": [{"first_row_ms": load.first_row_ms, "requests": load.requests} for load in loads],
        "list_view": {name: {"console": summarize(console_times[route]), "curl": summarize(curl_times[route][0]),
                             "bytes": curl_times[route][1]} for name, route in routes.items()},
    }
    result.rows.append(Row(
        case=NAME, scenario=f"first load (new context, {scale.console_rows:,} publishes): first row drawn",
        median_ms=first_row["median_ms"], p99_ms=first_row["p99_ms"], throughput=None, rss_mb=rss,
        baseline="none (the figures are requests and bytes)",
        notes=f"{count} requests, {total_kb:.1f} kB received: {len(last.of('file'))} console files "
        f"({sum(s for _, _, s in last.of('file')) / 1000:.1f} kB gzipped), {len(last.of('api'))} API calls "
        f"({sum(s for _, _, s in last.of('api')) / 1000:.1f} kB), the event stream; {len(loads)} loads",
    ))
    added = {}
    for name, route in routes.items():
        console, (curl, size) = summarize(console_times[route]), curl_times[route]
        base = summarize(curl)
        added[name] = console["median_ms"] - base["median_ms"]
        result.rows.append(Row(
            case=NAME, scenario=f"list view, {name}: {PAGE} publishes fetched and drawn",
            median_ms=console["median_ms"], p99_ms=console["p99_ms"], throughput=None, rss_mb=rss,
            baseline="the same ListPublishes URL with curl, same run",
            base_median_ms=base["median_ms"], base_p99_ms=base["p99_ms"], base_rss_mb=rss,
            ratio=f"{console['median_ms'] / base['median_ms']:.1f}× curl (+{added[name]:.1f} ms)",
            notes=f"{size / 1000:.1f} kB of JSON per page; {console['n']} draws, {base['n']} curl calls",
        ))
    result.targets.append(Target(
        NAME, f"first load: at most {FIRST_LOAD_REQUESTS} requests and {FIRST_LOAD_KB} kB received",
        f"{count} requests, {total_kb:.1f} kB", count <= FIRST_LOAD_REQUESTS and total_kb <= FIRST_LOAD_KB,
    ))
    worst = max(added, key=lambda name: added[name])
    result.targets.append(Target(
        NAME, f"list view: drawing adds at most {DRAW_ADDS_MS} ms (median) to curl's time for the same call",
        f"+{added[worst]:.1f} ms at worst ({worst})", added[worst] <= DRAW_ADDS_MS,
    ))
    result.sections.append(
        f"Console first load (the last of {len(loads)}; a new browser context each time):\n\n"
        + table(["Request", "What", "Bytes received"],
                [[path or "/", kind, num(size, 0) if kind != "stream" else "open stream"]
                 for kind, path, size in last.requests])
        + f"\n\nFirst row drawn {ms(first_row['median_ms'])} ms after navigation start (median)."
    )
