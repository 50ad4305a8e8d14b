"""Encryption of platform tokens at rest (Fernet: AES-128-CBC + HMAC-SHA256, authenticated).

The database file alone never yields a token: tokens are sealed with a key kept
outside it, from DISTRIBUTION_SECRET_KEYS or a key file created with mode 0600.
Rotation: put the new key first and keep the old ones after it; tokens sealed with
an old key stay readable and are re-sealed with the new key when next written.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

NEW_KEY_COMMAND = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class SecretKeyError(Exception):
    """The sealing keys are missing or malformed, or cannot open a stored token: what is
    wrong and what would work, in one printable line that never quotes a key."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


class TokenCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("holds no keys", f"add a Fernet key; make one with {NEW_KEY_COMMAND}")
        fernets = []
        for number, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"holds a key (number {number}) that is not a Fernet key (32 bytes, url-safe base64)",
                    f"make one with {NEW_KEY_COMMAND}",
                ) from None
        self._fernet = MultiFernet(fernets)
        self._keys = list(keys)

    def derived_keys(self, purpose: bytes) -> list[bytes]:
        """One 32-byte key per sealing key (the sealing key first), for another use: HMAC of
        `purpose` under each, so no use learns the sealing keys or another use's keys."""
        return [hmac.new(key, purpose, hashlib.sha256).digest() for key in self._keys]

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "cannot open a stored token: it was sealed with a key that is no longer configured",
                "configure that key again (after the new one), or reconnect the account",
            ) from None


def load_keys(env_value: str, key_file: Path) -> list[bytes]:
    """Keys from the comma-separated env value, else from key_file (created if absent)."""
    if env_value.strip():
        return [k.strip().encode() for k in env_value.split(",") if k.strip()]
    if key_file.exists():
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretKeyError("is readable by group or others", f"make it private: chmod 600 {key_file}")
        return [line.strip().encode() for line in key_file.read_text().splitlines() if line.strip()]
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(Fernet.generate_key().decode() + "\n")
    return load_keys("", key_file)
