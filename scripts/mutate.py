"""`make mutate`: mutmut over the publish logic, then tests/mutation/REPORT.md.

    python -m scripts.mutate                      # every module in [tool.mutmut] only_mutate
    python -m scripts.mutate --only "server.services.workflow.retry*" --workers 2

mutmut copies server/ into mutants/, runs the fast layers once to learn which tests reach
which function, then runs each mutant against those tests only (config: [tool.mutmut] in
pyproject.toml). The report counts, per module, the mutants killed and survived, and shows
each survivor's diff with why it is equivalent (tests/mutation/equivalent.py) or, where no
reason is written down, says it is a gap still to close.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tests.mutation.equivalent import explain

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).parent / "mutmut"
REPORT = ROOT / "tests" / "mutation" / "REPORT.md"
KILLED = {"killed", "timeout", "caught by type check"}


def _results() -> dict[str, str]:
    out = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("server."):
            found[name] = status
    return found


def _diff(name: str) -> str:
    out = subprocess.run([str(MUTMUT), "show", name], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    return "\n".join(line for line in out.splitlines() if line.startswith(("-", "+")) and not
                     line.startswith(("---", "+++")))


def write_report(results: dict[str, str], scope: str) -> tuple[int, int]:
    checked = {n: s for n, s in results.items() if s != "not checked"}
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[tuple[str, str, str]] = []
    for name, status in sorted(checked.items()):
        module = name.split(".x")[0]
        by_module[module]["killed" if status in KILLED else status] += 1
        if status == "survived":
            diff = _diff(name)
            survivors.append((name, diff, explain(diff)))
    equivalent = sum(1 for _, _, why in survivors if why)
    killed = sum(c["killed"] for c in by_module.values())
    lines = [
        "# Mutation testing report",
        "",
        f"Written by `make mutate` (scripts/mutate.py, mutmut pinned in requirements-mutate.txt). Scope of this "
        f"run: {scope}. Tests run against each mutant: the fast layers (`tests/unit`, `tests/contracts` on the "
        "fake store), as configured in `[tool.mutmut]` of pyproject.toml.",
        "",
        "| module | mutants | killed | survived | no tests | other |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for module, c in sorted(by_module.items()):
        total = sum(c.values())
        other = total - c["killed"] - c["survived"] - c["no tests"]
        lines.append(f"| `{module}` | {total} | {c['killed']} | {c['survived']} | {c['no tests']} | {other} |")
    non_equivalent = len(checked) - equivalent
    score = 100.0 * killed / non_equivalent if non_equivalent else 100.0
    lines += [
        "",
        f"**{killed} of {len(checked)} mutants killed; {len(survivors)} survived, of which {equivalent} are "
        f"equivalent (explained below): {score:.1f}% of the non-equivalent mutants killed.**",
        "",
        "## Survivors",
        "",
    ]
    for name, diff, why in survivors:
        lines += [f"### `{name}`", "", "```diff", diff, "```", "",
                  f"Equivalent: {why}" if why else "**Not equivalent: a gap the tests do not cover yet.**", ""]
    REPORT.write_text("\n".join(lines))
    return killed, len(checked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="mutmut over the publish logic; writes tests/mutation/REPORT.md")
    parser.add_argument("--only", nargs="*", default=[], help="mutant name globs (default: all of only_mutate)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run")
    args = parser.parse_args(argv)
    if not args.report_only:
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.workers), *args.only], cwd=ROOT, check=True)
    results = _results()
    checked = sorted({n.split(".x")[0] for n, s in results.items() if s != "not checked"})
    unchecked = sorted({n.split(".x")[0] for n in results} - set(checked))
    scope = ", ".join(f"`{m}`" for m in checked) + (
        f" (not run this time: {', '.join(f'`{m}`' for m in unchecked)})" if unchecked else "")
    killed, total = write_report(results, scope)
    print(f"{killed}/{total} mutants killed; report: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
