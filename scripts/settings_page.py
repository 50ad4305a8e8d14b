"""docs/configuration.md, written from the settings table (server/config/table.py).

`make generate` writes it and `make test` (scripts/generate.py --check) fails when it is
stale, so the page and the code cannot disagree: a setting's default, bounds and meaning
are said once, in the table.
"""

from __future__ import annotations

from pathlib import Path

from server.config.table import SECTIONS, SETTINGS, Setting
from server.config.unknown import TOOLING_PREFIX

PAGE = Path("docs") / "configuration.md"

INTRO = """\
<!-- Generated from server/config/table.py by `make generate`; edit the table, not this page. -->
# Configuration

Every setting is an environment variable, read once at start. Unset or empty, a variable
takes its default (except `DISTRIBUTION_DB`, which refuses an empty value), and the defaults
run the service on loopback against the built-in sandbox emulators: `make run` needs none of
them. `Settings()` built in code has the same defaults.

A bad value, or an address or file the service cannot use (a port another process holds, a
database path that cannot be created, a key file others may read, a TLS key of another
certificate), stops the start with one line on stderr and nothing else:

```
distribution: cannot start: VARIABLE='value' what is wrong; what would work
```

A secret's value is never shown: the line reads `VARIABLE (value not shown) ...`. The exit
code is 2 for a malformed value and 1 for something a well-formed value names that cannot
be used. Settings marked **secret** below never appear in a log line, an error or the start
banner.

A `DISTRIBUTION_*` variable that is none of the settings below (a typo, in any case, or a
setting's old name) does not stop the start, but it does nothing, so the start logs one
WARNING per such variable, never its value: its `variable` field names it and
`did_you_mean` the setting it probably meant (empty when none is close). For the old name of
the webhook disable window the message reads "DISTRIBUTION_WEBHOOK_DISABLE_AFTER is not a
setting of this service and is ignored; did you mean DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS?".
"""

OUTRO = """\
## Not settings of the service

- `{tooling}*`: the test suite's and tools' own variables (`{tooling}POSTGRES`, the
  PostgreSQL server the tests and benchmarks may create databases on;
  `{tooling}FUZZ_EXAMPLES` and `{tooling}MODEL_EXAMPLES`, the budgets of the HTTP fuzz run
  and of `make test-model`). No setting is named so, and the service never warns about them.
- `DISTRIBUTION_ADDRESS`, `DISTRIBUTION_API_KEY`, `DISTRIBUTION_ACCESS_TOKEN`: the example
  Node.js client's ([its README](../clients/node/README.md)); a service started where they
  are set warns about them like any other unknown name (`DISTRIBUTION_API_KEY` is one letter from the service's
  `DISTRIBUTION_API_KEYS`, a typo that would leave the service open).
- `GRPC_VERBOSITY`, `GRPC_TRACE`: grpc's own log lines, which are not JSON. `python -m server`
  sets `GRPC_VERBOSITY=NONE` unless it is set; see [operations](operations.md#grpcs-own-log-lines).
- Polling intervals, the retry policy for transient platform errors and TikTok's per-token
  pacing are set in code (`Settings.instagram_poll`, `tiktok_poll`, `retry`,
  `tiktok_rate_limits`): they follow the platforms' documented behaviour
  ([platform facts](platforms.md)), and tests shorten them to match the emulators.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(setting: Setting) -> str:
    meaning = setting.meaning + (" **Secret.**" if setting.secret else "")
    return (
        f"| `{setting.env}` | {_cell(setting.default_text)} | {_cell(setting.parse.bounds())} | {_cell(meaning)} |"
    )


def render() -> str:
    parts = [INTRO]
    for section in SECTIONS:
        rows = [s for s in SETTINGS if s.section == section]
        parts.append(f"## {section}\n\n| Variable | Default | Takes | Meaning |\n|---|---|---|---|")
        parts.append("\n".join(_row(s) for s in rows) + "\n")
    parts.append(OUTRO.format(tooling=TOOLING_PREFIX))
    return "\n".join(parts)


def write(root: Path) -> Path:
    target = root / PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    return target


def is_fresh(root: Path) -> bool:
    target = root / PAGE
    return target.exists() and target.read_text(encoding="utf-8") == render()
