"""Who may call: API keys (kept only as SHA-256 hashes) and mTLS client identities, per
workspace, as configured. The Authentication interceptor checks calls against them."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path


class KeyConfigError(Exception):
    """API key or client identity configuration is malformed: which variable, its value
    (None for a secret's, never shown), what is wrong and what would work."""

    def __init__(self, variable: str, value: str | None, problem: str, fix: str) -> None:
        super().__init__(f"{variable} {problem}; {fix}")
        self.variable, self.value, self.problem, self.fix = variable, value, problem, fix


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """Workspace by API key hash. Plain keys are hashed on load and never kept."""

    hashes: tuple[tuple[str, str], ...] = ()  # (sha256 hex, workspace)
    client_workspaces: dict[str, str] = field(default_factory=dict)  # certificate CN -> workspace
    mtls: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.hashes) or self.mtls

    def workspace_for_key(self, key: str) -> str | None:
        digest = hash_key(key)
        found: str | None = None
        # Compare against every hash, so timing does not reveal which one matched.
        for stored, workspace in self.hashes:
            if hmac.compare_digest(digest, stored):
                found = workspace
        return found


_KEYS = "DISTRIBUTION_API_KEYS"
_KEYS_FILE = "DISTRIBUTION_API_KEYS_FILE"
_CLIENT_WORKSPACES = "DISTRIBUTION_TLS_CLIENT_WORKSPACES"
_WORKSPACE_RULE = "workspace names are 1-64 letters, digits, '-', '_' or '.'"


def _workspace_name(name: str) -> str | None:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in name):
        return None
    return name


def load_key_ring(keys_env: str, keys_file: str, client_workspaces_env: str, mtls: bool) -> KeyRing:
    """Keys from DISTRIBUTION_API_KEYS ("workspace=key,...") and DISTRIBUTION_API_KEYS_FILE
    (lines "workspace sha256-hex"), client identities from DISTRIBUTION_TLS_CLIENT_WORKSPACES.

    Each key may be listed once: a key given to two workspaces would let one read the
    other's data, and a key source that is configured but holds no key would leave the
    service open. Keys are never echoed; workspace names and file lines are."""
    hashes: list[tuple[str, str]] = []
    listed: dict[str, tuple[str, str]] = {}  # key hash -> (workspace, where), for a duplicate's message

    def add(digest: str, workspace: str, variable: str, value: str | None, place: str) -> None:
        if digest in listed:
            other, earlier = listed[digest]
            if other != workspace:
                problem = f"gives one key to two workspaces, {other} ({earlier}) and {workspace} ({place})"
            else:
                problem = f"lists the key of workspace {workspace} twice ({earlier} and {place})"
            raise KeyConfigError(variable, value, problem, "give each workspace its own key, and list each key once")
        listed[digest] = (workspace, place)
        hashes.append((digest, workspace))

    if keys_env.strip():
        entries = [part.strip() for part in keys_env.split(",")]
        for number, item in enumerate(entries, 1):
            if not item:
                continue
            name, sep, key = item.partition("=")
            workspace = _workspace_name(name)
            if not sep or len(key.strip()) < 16:
                raise KeyConfigError(
                    _KEYS, None, f"entry {number} is not workspace=key with a key of 16 or more characters",
                    "list entries as workspace=key, separated by commas",
                )
            if workspace is None:  # not echoed: in a mistyped entry it could be the key
                raise KeyConfigError(_KEYS, None, f"entry {number} has a malformed workspace name", _WORKSPACE_RULE)
            add(hash_key(key.strip()), workspace, _KEYS, None, f"{_KEYS} entry {number}")
        if not hashes:
            raise KeyConfigError(
                _KEYS, None, "holds no keys", "list entries as workspace=key, or leave it empty"
            )
    if keys_file:
        path = Path(keys_file)
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise KeyConfigError(
                _KEYS_FILE, keys_file, f"cannot be read ({reason})", "give a readable text file"
            ) from None
        found = 0
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            digest = parts[1].lower().removeprefix("sha256:") if len(parts) == 2 else ""
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise KeyConfigError(
                    _KEYS_FILE, keys_file, f"line {number} is not 'workspace <sha256 hex of the key>'",
                    "write one line per key, e.g. from: printf %s \"$KEY\" | sha256sum",
                )
            workspace = _workspace_name(parts[0])
            if workspace is None:
                raise KeyConfigError(
                    _KEYS_FILE, keys_file, f"line {number} has the workspace name {parts[0]!r}", _WORKSPACE_RULE
                )
            add(digest, workspace, _KEYS_FILE, keys_file, f"{_KEYS_FILE} line {number}")
            found += 1
        if not found:
            raise KeyConfigError(
                _KEYS_FILE, keys_file, "holds no keys",
                "add lines 'workspace <sha256 hex of the key>', or unset DISTRIBUTION_API_KEYS_FILE",
            )
    client_workspaces: dict[str, str] = {}
    for number, item in enumerate((part.strip() for part in client_workspaces_env.split(",")), 1):
        if not item:
            continue
        name, sep, workspace_name = item.partition("=")
        workspace = _workspace_name(workspace_name)
        if not sep or not name.strip():
            raise KeyConfigError(
                _CLIENT_WORKSPACES, client_workspaces_env, f"entry {number} is not common-name=workspace",
                "list entries as common-name=workspace, separated by commas",
            )
        if workspace is None:
            raise KeyConfigError(
                _CLIENT_WORKSPACES, client_workspaces_env,
                f"entry {number} has the workspace name {workspace_name.strip()!r}", _WORKSPACE_RULE,
            )
        if name.strip() in client_workspaces:
            raise KeyConfigError(
                _CLIENT_WORKSPACES, client_workspaces_env, f"maps the common name {name.strip()!r} twice",
                "map each common name to one workspace",
            )
        client_workspaces[name.strip()] = workspace
    return KeyRing(tuple(hashes), client_workspaces, mtls)
