"""Service settings, read once from the environment at start, and the one-line errors that
stop a start.

`table.py` lists every DISTRIBUTION_* setting once (variable, parser, default, meaning,
secret or not); `settings.py` holds `Settings` and `load_settings`, a loop over the table;
`parsers.py` reads one variable each; `errors.py` is the one-line StartError; `unknown.py`
finds the DISTRIBUTION_* variables that are no setting (warned about at start). The table
also generates docs/configuration.md (scripts/settings_page.py, run by `make generate`).
"""

from server.config.errors import NOT_SHOWN, OFF, ConfigError, StartError, address_error, path_error, shown_url
from server.config.parsers import SANDBOX
from server.config.settings import (
    Settings,
    check_secure,
    host_of,
    is_loopback,
    join_host_port,
    load_settings,
)
from server.config.table import MEDIA_FETCH_MODES, SETTINGS, Setting
from server.config.unknown import TOOLING_PREFIX, UnknownVariable, unknown_variables

__all__ = [
    "MEDIA_FETCH_MODES",
    "NOT_SHOWN",
    "OFF",
    "SANDBOX",
    "SETTINGS",
    "TOOLING_PREFIX",
    "ConfigError",
    "Setting",
    "Settings",
    "StartError",
    "UnknownVariable",
    "address_error",
    "check_secure",
    "host_of",
    "is_loopback",
    "join_host_port",
    "load_settings",
    "path_error",
    "shown_url",
    "unknown_variables",
]
