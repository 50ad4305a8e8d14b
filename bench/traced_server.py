"""`python -m bench.traced_server OUT.txt`: runs the service (`python -m server`, same environment)
with tracemalloc on, for `python -m bench.profile memory`. A thread looks at the traced heap
every 2 s and, whenever it has grown 10% past the largest snapshot so far, writes the top
allocation sites to OUT.txt with the process's RSS at that moment. The service's code is
untouched; this only launches it."""

from __future__ import annotations

import runpy
import sys
import threading
import time
import tracemalloc


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _watch(out: str) -> None:
    best = 0
    while True:
        time.sleep(2.0)
        current, _peak = tracemalloc.get_traced_memory()
        if current <= best * 1.10:
            continue
        best = current
        snapshot = tracemalloc.take_snapshot().filter_traces([
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        ])
        lines = [f"rss_mb {_rss_mb():.1f}", f"traced_mb {current / 1e6:.1f}"]
        for group in ("filename", "lineno"):
            lines.append(f"== by {group}")
            for stat in snapshot.statistics(group)[:40]:
                frame = stat.traceback[0]
                where = frame.filename if group == "filename" else f"{frame.filename}:{frame.lineno}"
                lines.append(f"{stat.size / 1e6:.2f} MB\t{stat.count}\t{where}")
        with open(out, "w") as f:
            f.write("\n".join(lines) + "\n")


def main() -> None:
    out = sys.argv.pop(1)
    tracemalloc.start(1)
    threading.Thread(target=_watch, args=(out,), name="tracemalloc-watch", daemon=True).start()
    sys.argv[0] = "server"
    runpy.run_module("server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
