"""DISTRIBUTION_* variables the service does not read. A typo or a setting's old name would
otherwise do nothing, silently; each is named at start with the setting it probably meant.
Only names are looked at, never values (a value could be a secret).

`DISTRIBUTION_TEST_*` belongs to the test suite and the tools beside the service (the
PostgreSQL server tests may use, the fuzz budget): no setting is ever named so, and those
variables are never reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "DISTRIBUTION_"
TOOLING_PREFIX = "DISTRIBUTION_TEST_"
# How alike (difflib's ratio, over the names without PREFIX) a setting must be to be offered:
# WEBHOOK_DISABLE_AFTER and WEBHOOK_DISABLE_AFTER_DAYS are 0.89, LOGLEVEL and LOG_LEVEL 0.94.
_CLOSE = 0.75


@dataclass(frozen=True)
class UnknownVariable:
    name: str
    # The setting it probably meant, if one is close.
    meant: str | None

    def message(self) -> str:
        hint = f"; did you mean {self.meant}?" if self.meant else ""
        return f"{self.name} is not a setting of this service and is ignored{hint}"


def unknown_variables(names: Iterable[str], settings: Iterable[str]) -> list[UnknownVariable]:
    """The variables among `names` (an environment's names) in the DISTRIBUTION_ namespace,
    in any case, that are none of `settings` and not the tooling's, sorted by name."""
    known = set(settings)
    by_suffix = {setting.removeprefix(PREFIX): setting for setting in known}
    unknown = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(PREFIX) or name in known or upper.startswith(TOOLING_PREFIX):
            continue
        close = difflib.get_close_matches(upper.removeprefix(PREFIX), list(by_suffix), n=1, cutoff=_CLOSE)
        unknown.append(UnknownVariable(name, by_suffix[close[0]] if close else None))
    return unknown
