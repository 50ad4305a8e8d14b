"""How the text of one DISTRIBUTION_* variable becomes a value, and what values it takes.

Each parser reads the stripped, non-empty text of a variable (an unset or empty variable
takes the setting's default before any parser sees it) and either returns the value or
raises ConfigError naming the variable, the value (never a secret's: see `Setting.secret`)
and what would work. `bounds` says in a few words what the parser takes, for the generated
configuration page.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.adapters.egress import EgressPolicy
from server.config.errors import NOT_SHOWN, OFF, ConfigError, shown_url

SANDBOX = "sandbox"


def shown(value: Any) -> str:
    """A default as the configuration page writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


@dataclass(frozen=True)
class Text:
    """Any text: keys, names, maps whose own reader checks them later."""

    what: str = "text"

    def parse(self, name: str, raw: str, default: Any) -> str:
        return raw

    def bounds(self) -> str:
        return self.what


@dataclass(frozen=True)
class Whole:
    """A whole number of at least `minimum`."""

    minimum: int = 1

    def parse(self, name: str, raw: str, default: Any) -> int:
        if not (raw.isascii() and raw.isdigit()) or int(raw) < self.minimum:
            raise ConfigError(
                name, raw, f"is not a whole number of at least {self.minimum}", f"use e.g. {default} (the default)"
            )
        return int(raw)

    def bounds(self) -> str:
        return f"a whole number ≥ {self.minimum}"


@dataclass(frozen=True)
class Number:
    """A finite number of `unit` within bounds. `above`: the minimum itself is refused.
    `too_small`, `too_large`: the problem as users read it, where the generic one says less."""

    unit: str = "seconds"
    minimum: float = 0.0
    above: bool = False
    maximum: float | None = None
    too_small: str = ""
    too_large: str = ""

    def parse(self, name: str, raw: str, default: Any) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ConfigError(
                name, raw, f"is not a number of {self.unit}", f"use a number of at least 0, e.g. {default:g}"
            )
        if value < self.minimum or (self.above and value == self.minimum):
            least = "above" if self.above else "at least"
            problem = self.too_small or f"is {'not above' if self.above else 'less than'} {self.minimum:g}"
            fix = f"use a number of {self.unit} {least} {self.minimum:g}, e.g. {default:g}"
            raise ConfigError(name, raw, problem, fix)
        if self.maximum is not None and value > self.maximum:
            problem = self.too_large or f"is more than {self.maximum:g} {self.unit}"
            raise ConfigError(name, raw, problem, f"use at most {self.maximum:g}, e.g. {default:g} (the default)")
        return value

    def bounds(self) -> str:
        low = f"> {self.minimum:g}" if self.above else f"≥ {self.minimum:g}"
        high = f", ≤ {self.maximum:g}" if self.maximum is not None else ""
        return f"{self.unit} {low}{high}"


@dataclass(frozen=True)
class Choice:
    """One of `choices`, in any letter case."""

    choices: tuple[str, ...]

    def parse(self, name: str, raw: str, default: Any) -> str:
        value = raw.upper() if self.choices[0].isupper() else raw.lower()
        if value not in self.choices:
            raise ConfigError(name, raw, "is not a known value", f"use one of {', '.join(self.choices)}")
        return value

    def bounds(self) -> str:
        return "one of " + ", ".join(f"`{c}`" for c in self.choices)


@dataclass(frozen=True)
class Flag:
    """true or false, in the usual spellings."""

    def parse(self, name: str, raw: str, default: Any) -> bool:
        value = raw.lower()
        if value in ("0", "false", "no"):
            return False
        if value in ("1", "true", "yes"):
            return True
        raise ConfigError(name, raw, "is not true or false", "use true or false")

    def bounds(self) -> str:
        return "`true` or `false` (also `yes`/`no`, `1`/`0`)"


@dataclass(frozen=True)
class Address:
    """HOST:PORT, or `off` where the listener is optional."""

    example: str
    can_be_off: bool = False

    def parse(self, name: str, raw: str, default: Any) -> str:
        if self.can_be_off and raw == OFF:
            return raw
        host, sep, port = raw.rpartition(":")
        if not sep or not host.strip("[]") or not (port.isascii() and port.isdigit()) or int(port) > 65535:
            also = f", or {OFF}" if self.can_be_off else ""
            raise ConfigError(name, raw, "is not HOST:PORT", f"use e.g. {self.example}{also}")
        return raw

    def bounds(self) -> str:
        return "`HOST:PORT`" + (" or `off`" if self.can_be_off else "")


@dataclass(frozen=True)
class ApiBase:
    """`sandbox` (the built-in emulator) or the platform's base URL, without credentials."""

    real: str

    def parse(self, name: str, raw: str, default: Any) -> str:
        if raw == SANDBOX:
            return raw
        parts = urlsplit(raw)
        if parts.username or parts.password:
            # The value itself holds a credential: it is not echoed.
            raise ConfigError(
                name, NOT_SHOWN, "carries credentials in its URL", f"give the bare base URL, e.g. {self.real}"
            )
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                name, raw, "is not an http(s) URL", f"use '{SANDBOX}' or the API's base URL, e.g. {self.real}"
            )
        if parts.query or parts.fragment:
            raise ConfigError(name, raw, "has a query string or fragment", f"give the bare base URL, e.g. {self.real}")
        return raw.rstrip("/")

    def bounds(self) -> str:
        return f"`sandbox` or an http(s) URL without credentials, query or fragment (e.g. `{self.real}`)"


@dataclass(frozen=True)
class HostList:
    """Comma-separated networks (CIDR) or host names."""

    def parse(self, name: str, raw: str, default: Any) -> tuple[str, ...]:
        entries = tuple(e.strip() for e in raw.split(",") if e.strip())
        for entry in entries:
            try:
                EgressPolicy.parse([entry])
            except ValueError:
                raise ConfigError(
                    name, raw, f"lists {entry!r}, which is neither a network nor a host name",
                    "list networks in CIDR form or host names, comma-separated, e.g. 10.20.0.0/16,media.corp.example",
                ) from None
        return entries

    def bounds(self) -> str:
        return "comma-separated networks (CIDR) or host names"


@dataclass(frozen=True)
class ReadableFile:
    """The path of an existing, readable regular file."""

    def parse(self, name: str, raw: str, default: Any) -> str:
        path = Path(raw)
        if not path.exists():
            raise ConfigError(name, raw, "names no file", "give the path of an existing file, or leave it empty")
        if not path.is_file():
            raise ConfigError(name, raw, "is not a regular file", "give the path of a file, or leave it empty")
        if not os.access(path, os.R_OK):
            raise ConfigError(
                name, raw, "is not readable by this user", "make it readable (chmod) or give another file"
            )
        return raw

    def bounds(self) -> str:
        return "the path of a readable file"


@dataclass(frozen=True)
class FilePath:
    """A path the service creates or reads later (its own checks name it then)."""

    def parse(self, name: str, raw: str, default: Any) -> Path:
        return Path(raw)

    def bounds(self) -> str:
        return "a file path"


@dataclass(frozen=True)
class Database:
    """A file path (SQLite) or a postgresql:// URL (PostgreSQL, shown without its password)."""

    default_path: str

    def parse(self, name: str, raw: str, default: Any) -> str:
        if raw.startswith(("postgresql://", "postgres://")):
            return self._postgres(name, raw)
        if Path(raw).is_dir():
            raise ConfigError(name, raw, "is a directory", f"name a file in it, e.g. {Path(raw) / 'distribution.db'}")
        return raw

    @staticmethod
    def _postgres(name: str, url: str) -> str:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            _ = parts.port
        except ValueError:
            raise ConfigError(
                name, NOT_SHOWN, "is not a valid postgresql:// URL", "use e.g. postgresql://user@host:5432/db"
            ) from None
        if not hostname and "host=" not in parts.query:
            raise ConfigError(
                name, shown_url(url), "names no server in its postgresql:// URL",
                "use e.g. postgresql://user@host:5432/db",
            )
        return url

    def empty(self, name: str, raw: str) -> ConfigError:
        """An empty DISTRIBUTION_DB is refused rather than read as the default: a deployment
        whose database URL came out empty must not quietly run on a local file."""
        return ConfigError(
            name, raw, "is empty", f"give a file path (SQLite), e.g. {self.default_path}, or a postgresql:// URL"
        )

    def bounds(self) -> str:
        return "a file path (SQLite) or a `postgresql://` URL"
