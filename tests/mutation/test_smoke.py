"""Mutation smoke run, part of `make test`: each of the five hand-written mutants (mutants.py),
applied to a copy of the checkout, must make the unit layer fail. The full mutation run
is `make mutate` (report in tests/mutation/REPORT.md).

The copy holds `server/` and `tests/` (pytest puts the copy's root first on sys.path, so
its `server` is the one imported); `generated/` and the dependencies come from the
virtualenv as usual. Coverage is switched off in the child: a mutant is not the service.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mutation.mutants import MUTANTS, Mutant
from tests.support.paths import ROOT

# The unit layer takes seconds; a hung mutant (an endless retry) must fail, not hang.
CHILD_TIMEOUT = 240


def _copy_checkout(into: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("server", "tests"):
        shutil.copytree(ROOT / part, into / part, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")


def _apply(root: Path, mutant: Mutant) -> None:
    path = root / mutant.path
    source = path.read_text()
    assert source.count(mutant.original) == 1, (
        f"{mutant.name}: the code it mutates moved ({mutant.path}); update tests/mutation/mutants.py"
    )
    path.write_text(source.replace(mutant.original, mutant.mutated))


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "PYTEST_XDIST", "PYTEST_"))}


@pytest.mark.timeout(CHILD_TIMEOUT + 30)
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_unit_layer_fails_on_each_of_the_five_mutants(mutant: Mutant, tmp_path: Path) -> None:
    _copy_checkout(tmp_path)
    _apply(tmp_path, mutant)
    # The whole unit layer, the file of the test known to kill the mutant first: with -x the
    # run ends at the first failure, so a kill costs seconds (a survivor runs every test).
    killer_file = mutant.killed_by.split("::")[0]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", killer_file, "tests/unit", "-x", "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist", "-o", "addopts=", "--no-header", "-rN"],
        cwd=tmp_path, env=_child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False,
    )
    out = result.stdout + result.stderr
    # Exit code 1 is "tests failed"; 2-5 would be a broken run (import error, no tests), not a kill.
    assert result.returncode == 1, f"{mutant.name} survived the unit layer ({mutant.why}):\n{out[-3000:]}"
    assert str(tmp_path) in out or "FAILED" in out or "failed" in out, out[-3000:]
