"""Why a surviving mutant is equivalent: no test can tell it from the original, because the
behaviour a user (or an operator) sees is the same. Keyed by the mutated line as
`mutmut show` prints it (whitespace trimmed), so a reason follows its code when mutmut
renumbers mutants. scripts/mutate.py puts these reasons in tests/mutation/REPORT.md; a
survivor without one is reported as a gap.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {}


def explain(diff: str) -> str:
    """The reason recorded for a survivor's diff, or "" when none is."""
    for line in diff.splitlines():
        if line.startswith("+"):
            reason = EQUIVALENT.get(line[1:].strip())
            if reason:
                return reason
    return ""
