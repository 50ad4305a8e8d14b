"""Why a surviving mutant is equivalent: no test can tell it from the original, because the
behaviour a user (or an operator) sees is the same. Keyed by the mutated line as
`mutmut show` prints it (whitespace trimmed), so a reason follows its code when mutmut
renumbers mutants. scripts/mutate.py puts these reasons in tests/mutation/REPORT.md; a
survivor without one is reported as a gap.
"""

from __future__ import annotations

_UNREACHABLE = ("after `self._end(...)`, which always raises: the line is never run (it only tells mypy "
                "the function does not fall through)")
_FALSY = "None and False are both falsy and the value is only ever tested for truth"

EQUIVALENT: dict[str, str] = {
    'raise AssertionError("XXunreachableXX")': _UNREACHABLE,
    "raise AssertionError(None)": _UNREACHABLE,
    "refreshed = None": _FALSY,
    'media_id = None': "the variable is only read as `media_id or None` and `if media_id`: None and \"\" read alike",
    'if m.timestamp[:20] >= since.strftime("%Y-%m-%dT%H:%M:%S")': (
        "Graph's timestamps go on with '+0000' after the 19 characters compared: a 20th character only makes "
        "an equal prefix compare greater, which `>=` accepts as it accepted the equal one"),
}

_LEASE = ("`last=True` hands the lease back with the run's last write; without it the runner hands it back "
          "right after (PublishRunner._drive releases any lease still held), so only one store write is saved")
_SAME_LENGTH = "`missing` and `results` come from one gather over `missing`: the lengths are equal, strict or not"
_SAME_ORDER = "counting each saved id twice orders the records exactly as counting it once"
_LOOP_BOUND = ("the loop leaves at `attempt == MAX_PUBLISH_ATTEMPTS` (break) before a further attempt, so a longer "
               "range is never reached")
_PUBLISHED_REFUSED_FIRST = ("with accept_published False a PUBLISHED container ends the publish in _container_error "
                            "before `done` is looked at")
_NO_CAROUSEL_INDEX = "index_of holds only item container ids: looking up the carousel's id gives None as before"

for _line in (
    'last_failure: PlatformFailure | None = ""',
    "codes: dict[str, str] = None",
):
    EQUIVALENT[_line] = "an empty string, None and {} are all falsy, and the value is only tested for truth " \
        "before it is first set"
for _line in (
    "for index, result in zip(missing, results, strict=None):",
    "for index, result in zip(missing, results, strict=False):",
    "for index, result in zip(missing, results, ):",
):
    EQUIVALENT[_line] = _SAME_LENGTH
EQUIVALENT["return max(saved, key=lambda p: sum(2 for cid in p.child_container_ids if cid))"] = _SAME_ORDER
EQUIVALENT["for attempt in range(MAX_PUBLISH_ATTEMPTS + 2):"] = _LOOP_BOUND
_DONE = 'done = {"FINISHED", "PUBLISHED"} if (accept_published) or True else {"FINISHED"}'
EQUIVALENT[_DONE] = _PUBLISHED_REFUSED_FIRST
EQUIVALENT['item = index_of.get(cid) if (what == "children") or True else None'] = _NO_CAROUSEL_INDEX
EQUIVALENT['raise AssertionError("UNREACHABLE")'] = _UNREACHABLE
for _line in (
    "pending_facts=[PERMALINK], reconcile_at=self._log.first_late_check(), last=None,",
    "pending_facts=[PERMALINK], reconcile_at=self._log.first_late_check(), last=False,",
    "pending_facts=[PERMALINK], reconcile_at=self._log.first_late_check(), )",
    "reconcile_at=self._log.first_late_check() if expect_id else False, last=None,",
    "reconcile_at=self._log.first_late_check() if expect_id else False, last=False,",
    "reconcile_at=self._log.first_late_check() if expect_id else False, )",
    "pending_facts=[], reconcile_at=None, last=None,",
    "pending_facts=[], reconcile_at=None, last=False,",
    "pending_facts=[], reconcile_at=None, )",
    "state=PublishState.DELIVERED_TO_INBOX, published_at=self._clock.now(), last=None,",
    "state=PublishState.DELIVERED_TO_INBOX, published_at=self._clock.now(), last=False,",
    "state=PublishState.DELIVERED_TO_INBOX, published_at=self._clock.now(), )",
    "last=None,  # with no media id there is no permalink to read: the run is over",
    "last=media_id,  # with no media id there is no permalink to read: the run is over",
):
    EQUIVALENT[_line] = _LEASE


def explain(diff: str) -> str:
    """The reason recorded for a survivor's diff, or "" when none is."""
    for line in diff.splitlines():
        if line.startswith("+"):
            reason = EQUIVALENT.get(line[1:].strip())
            if reason:
                return reason
    return ""
