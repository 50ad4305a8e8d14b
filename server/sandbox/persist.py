"""An emulator's state file: its world (posts, containers, publishes, creators) kept across
restarts, as a real platform keeps it.

The file is JSON, written whole and atomically (a temporary file beside it, then a
rename), so a reader or a restart sees the old state or the new one, never half of one.
Times in it are wall-clock seconds (the lifecycles are computed from the wall clock), so a
container still processing when the emulator stopped finishes on time after a restart.
Access and refresh tokens are kept only as SHA-256 hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


class StateFileError(Exception):
    """A state file that cannot be read or used; `reason` says why in a few words."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def token_key(token: str) -> str:
    """How a token is kept in an emulator's state (and so in its file): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class StateFile:
    """The state file of one emulator (`kind`, e.g. "instagram")."""

    def __init__(self, path: Path | str, kind: str) -> None:
        self.path = Path(path)
        self.kind = kind
        self._written: str | None = None  # the text last written or read, to skip rewriting it

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no file yet. Raises StateFileError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StateFileError(self.path, _why(exc)) from None
        try:
            envelope = json.loads(text)
        except ValueError:
            raise StateFileError(self.path, "is not JSON") from None
        if not isinstance(envelope, dict) or envelope.get("emulator") != self.kind:
            raise StateFileError(self.path, f"is not a state file of the {self.kind} emulator")
        if envelope.get("version") != FORMAT_VERSION:
            raise StateFileError(self.path, f"has format version {envelope.get('version')!r}, not {FORMAT_VERSION}")
        state = envelope.get("state")
        if not isinstance(state, dict):
            raise StateFileError(self.path, "holds no state object")
        self._written = text
        return state

    def save(self, state: dict[str, Any]) -> bool:
        """Writes `state` unless it is what the file already holds; True if it wrote."""
        text = json.dumps(
            {"emulator": self.kind, "version": FORMAT_VERSION, "state": state}, ensure_ascii=False, indent=1
        )
        if text == self._written:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(temporary, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._written = text
        return True


def restore_error(path: Path, exc: Exception) -> StateFileError:
    """A state file whose JSON does not have the shape the emulator writes."""
    return StateFileError(path, f"does not hold what the emulator writes ({type(exc).__name__}: {exc})")


def _why(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text"
    return f"cannot be read ({exc.strerror or exc})"
