"""The one-line errors that stop a start, and how a value is shown in them.

A start that cannot go on says so in one line: the variable, its value (never a secret's),
what is wrong and what would work. A malformed setting exits 2, something a well-formed
setting names that cannot be used (a busy port, a path that cannot be created) exits 1.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from urllib.parse import urlsplit

OFF = "off"
# The value a StartError shows in place of a secret's.
NOT_SHOWN = None


class StartError(Exception):
    """The service cannot start. The message is one line fit to print: the variable, its
    value (never a secret's), what is wrong with it and what would work."""

    exit_code = 1

    def __init__(self, variable: str, value: str | None, problem: str, fix: str) -> None:
        self.variable = variable
        shown = f"{variable} (value not shown)" if value is None else f"{variable}={value!r}"
        super().__init__(f"{shown} {problem}; {fix}")


class ConfigError(StartError):
    """A setting is missing or malformed (as opposed to naming something unusable)."""

    exit_code = 2


def shown_url(url: str) -> str:
    """A URL fit for a message: its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def address_error(variable: str, address: str, err: OSError, *, can_be_off: bool = False) -> StartError:
    """A StartError for an address that could not be listened on, from the OS error."""
    off = f", or set {variable}={OFF}" if can_be_off else ""
    if isinstance(err, socket.gaierror):
        return StartError(
            variable, address, f"names a host that cannot be resolved ({err.strerror})",
            f"use an IP address or a resolvable host name{off}",
        )
    if err.errno == errno.EADDRINUSE:
        return StartError(
            variable, address, "is already in use by another process",
            f"stop that process or choose a free port{off}",
        )
    if err.errno == errno.EACCES:
        return StartError(
            variable, address, "may not be listened on by this user (ports below 1024 need privileges)",
            f"choose a port above 1023{off}",
        )
    if err.errno == errno.EADDRNOTAVAIL:
        return StartError(
            variable, address, "is not an address of this machine",
            f"use one of its addresses, 127.0.0.1, or 0.0.0.0 for all of them{off}",
        )
    reason = err.strerror or str(err)
    return StartError(variable, address, f"cannot be listened on ({reason})", f"choose another HOST:PORT{off}")


def path_error(variable: str, path: Path | str, err: OSError | str, fix: str) -> StartError:
    """A StartError for a file the settings name that could not be created, read or opened."""
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename and str(err.filename) != str(path) else ""
        reason = f"{err.strerror or err}{where}"
    else:
        reason = err
    return StartError(variable, str(path), f"cannot be used ({reason})", fix)
