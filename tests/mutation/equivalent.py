"""Why a surviving mutant is equivalent: no test can tell it from the original, because the
behaviour a user (or an operator) sees is the same. Keyed by the mutated line as
`mutmut show` prints it (whitespace trimmed), so a reason follows its code when mutmut
renumbers mutants. scripts/mutate.py puts these reasons in tests/mutation/REPORT.md; a
survivor without one is reported as a gap.
"""

from __future__ import annotations

_UNREACHABLE = ("after `self._end(...)`, which always raises: the line is never run (it only tells mypy "
                "the function does not fall through)")
_OPTIONS_ALWAYS_SET = ("the publisher saves `cover_index` and `description` in every TikTok publish's options "
                       "(tests/unit/test_tiktok_workflow.py checks the saved options), so the default is never read")
_FALSY = "None and False are both falsy and the value is only ever tested for truth"

EQUIVALENT: dict[str, str] = {
    'raise AssertionError("XXunreachableXX")': _UNREACHABLE,
    "raise AssertionError(None)": _UNREACHABLE,
    'cover_index=int(options.get("cover_index", None)),': _OPTIONS_ALWAYS_SET,
    'cover_index=int(options.get("cover_index", )),': _OPTIONS_ALWAYS_SET,
    'cover_index=int(options.get("cover_index", 1)),': _OPTIONS_ALWAYS_SET,
    'description=options.get("description", None),': _OPTIONS_ALWAYS_SET,
    'description=options.get("description", ),': _OPTIONS_ALWAYS_SET,
    'description=options.get("description", "XXXX"),': _OPTIONS_ALWAYS_SET,
    "refreshed = None": _FALSY,
    'media_id = None': "the variable is only read as `media_id or None` and `if media_id`: None and \"\" read alike",
    'if m.timestamp[:20] >= since.strftime("%Y-%m-%dT%H:%M:%S")': (
        "Graph's timestamps go on with '+0000' after the 19 characters compared: a 20th character only makes "
        "an equal prefix compare greater, which `>=` accepts as it accepted the equal one"),
}


def explain(diff: str) -> str:
    """The reason recorded for a survivor's diff, or "" when none is."""
    for line in diff.splitlines():
        if line.startswith("+"):
            reason = EQUIVALENT.get(line[1:].strip())
            if reason:
                return reason
    return ""
