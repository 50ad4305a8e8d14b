"""`make run` installs every tool the README tells a user to point at the running
service: grpcurl (.venv) and buf (node_modules/.bin, for the buf curl example)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.paths import ROOT


def run_recipes() -> list[str]:
    """The commands `make run` would run from scratch, in order (`make -n -B`: none is run)."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not on PATH: `make run` is the documented way to start the service")
    result = subprocess.run(
        [make, "--no-print-directory", "-n", "-B", "run"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line and not line.startswith("#")]


def test_make_run_installs_buf_before_starting_the_service():
    clients = (ROOT / "docs" / "clients.md").read_text()
    assert "node_modules/.bin/buf curl" in clients, "the buf curl example of docs/clients.md changed: update this test"
    recipes = run_recipes()
    serve = next(i for i, line in enumerate(recipes) if re.search(r"/python -m server$", line))
    assert any(line.startswith("npm ci") for line in recipes[:serve]), recipes


def test_make_run_installs_grpcurl_before_starting_the_service():
    recipes = run_recipes()
    serve = next(i for i, line in enumerate(recipes) if re.search(r"/python -m server$", line))
    assert any("-r requirements-dev.txt" in line for line in recipes[:serve]), recipes
    assert "grpcurl" in (ROOT / "requirements-dev.txt").read_text()
