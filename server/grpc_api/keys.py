"""Who may call: API keys (kept only as SHA-256 hashes) and mTLS client identities, per
workspace, as configured. The Authentication interceptor checks calls against them."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path


class KeyConfigError(Exception):
    """API key configuration is malformed; the message is one printable line."""

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

def _workspace_name(name: str, where: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise KeyConfigError(f"{where}: workspace names are 1-64 letters, digits, '-', '_' or '.'")
    return name

def load_key_ring(keys_env: str, keys_file: str, client_workspaces_env: str, mtls: bool) -> KeyRing:
    """Keys from DISTRIBUTION_API_KEYS ("workspace=key,...") and DISTRIBUTION_API_KEYS_FILE
    (lines "workspace sha256-hex"), client identities from DISTRIBUTION_TLS_CLIENT_WORKSPACES."""
    hashes: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in keys_env.split(","))):
        workspace, sep, key = item.partition("=")
        if not sep or len(key) < 16:
            raise KeyConfigError("DISTRIBUTION_API_KEYS entries are workspace=key, keys of 16+ characters")
        hashes.append((hash_key(key), _workspace_name(workspace, "DISTRIBUTION_API_KEYS")))
    if keys_file:
        path = Path(keys_file)
        if not path.is_file():
            raise KeyConfigError(f"DISTRIBUTION_API_KEYS_FILE {keys_file} does not exist")
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            digest = parts[1].lower().removeprefix("sha256:") if len(parts) == 2 else ""
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise KeyConfigError(
                    f"DISTRIBUTION_API_KEYS_FILE line {number}: expected 'workspace <sha256 hex of the key>'"
                )
            hashes.append((digest, _workspace_name(parts[0], f"DISTRIBUTION_API_KEYS_FILE line {number}")))
    client_workspaces: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in client_workspaces_env.split(","))):
        name, sep, workspace = item.partition("=")
        if not sep or not name:
            raise KeyConfigError("DISTRIBUTION_TLS_CLIENT_WORKSPACES entries are common-name=workspace")
        client_workspaces[name] = _workspace_name(workspace, "DISTRIBUTION_TLS_CLIENT_WORKSPACES")
    return KeyRing(tuple(hashes), client_workspaces, mtls)
