"""The import contracts (`lint-imports` in `make check`, pyproject.toml) on a copy of the
code with a forbidden import written in: the domain stays standard library only (regex
named, and any third-party package found without being named), and the use cases import no
library. Each case runs `lint-imports` as `make check` does, from the copy's root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import ROOT, VENV_BIN

DOMAIN_ONLY = "The domain imports nothing outside itself (standard library only)"
STANDARD_LIBRARY_ONLY = "The domain and the use cases import no third-party package: the standard library only"
USE_CASES = "Use cases see only the domain: no adapter, transport, driver or wire library"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """What `lint-imports` reads: the service's code, the contracts and their contract type."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "server", tmp_path / "server", ignore=ignore)
    (tmp_path / "scripts").mkdir()
    for name in ("__init__.py", "import_contracts.py"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def write_import(checkout: Path, module: str, line: str) -> None:
    path = checkout / module
    text = path.read_text()
    head = "from __future__ import annotations\n"
    assert head in text, module
    path.write_text(text.replace(head, f"{head}\n{line}  # noqa: F401\n", 1))


def lint_imports(checkout: Path) -> tuple[int, dict[str, str]]:
    """The exit status and each contract's verdict (KEPT or BROKEN), by name."""
    done = subprocess.run(
        [VENV_BIN / "lint-imports", "--no-cache"], cwd=checkout, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "400"},  # one line per contract in the summary
        check=False,  # a broken contract exits 1: the verdicts say which
    )
    verdicts = {}
    for line in done.stdout.splitlines():
        name, _, verdict = line.rpartition(" ")
        if verdict in ("KEPT", "BROKEN"):
            verdicts[name] = verdict
    assert DOMAIN_ONLY in verdicts, done.stdout + done.stderr
    return done.returncode, verdicts


def test_the_code_as_it_is_keeps_every_contract(checkout: Path) -> None:
    status, verdicts = lint_imports(checkout)
    assert status == 0
    assert set(verdicts.values()) == {"KEPT"}
    assert STANDARD_LIBRARY_ONLY in verdicts


def test_regex_imported_in_the_domain_breaks_both_of_its_contracts(checkout: Path) -> None:
    write_import(checkout, "server/domain/tiktok_text.py", "import regex")
    status, verdicts = lint_imports(checkout)
    assert status == 1
    assert verdicts[DOMAIN_ONLY] == verdicts[STANDARD_LIBRARY_ONLY] == "BROKEN"


def test_a_third_party_package_nobody_named_breaks_the_standard_library_contract(checkout: Path) -> None:
    write_import(checkout, "server/domain/models.py", "import yarl")  # installed, named in no contract
    status, verdicts = lint_imports(checkout)
    assert status == 1
    assert verdicts[STANDARD_LIBRARY_ONLY] == "BROKEN"
    assert verdicts[DOMAIN_ONLY] == verdicts[USE_CASES] == "KEPT"  # the named lists alone would let it in


def test_regex_imported_in_a_use_case_breaks_its_contracts(checkout: Path) -> None:
    write_import(checkout, "server/services/workflow/tiktok.py", "import regex")
    status, verdicts = lint_imports(checkout)
    assert status == 1
    assert verdicts[USE_CASES] == verdicts[STANDARD_LIBRARY_ONLY] == "BROKEN"
    assert verdicts[DOMAIN_ONLY] == "KEPT"
