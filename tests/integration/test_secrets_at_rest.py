"""Platform tokens sealed at rest: never in the database file's bytes, under a key file only
its owner may read, unreadable with another key; key rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from server.adapters.crypto import SecretKeyError, TokenCipher, load_keys
from server.adapters.local import LocalChangeFeed
from server.adapters.sqlite.accounts import SqliteAccountStore as AccountRepository
from server.adapters.sqlite.database import Database
from server.domain.models import Platform

ACCESS = "ACCESS-TOKEN-7c1d9e2b4f"
REFRESH = "REFRESH-TOKEN-3a6f0e8d5c"


def raw_bytes(db_path: Path) -> bytes:
    data = db_path.read_bytes()
    wal = Path(str(db_path) + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


async def test_tokens_are_sealed_at_rest(core, settings):
    account = await core.connect(
        platform=Platform.TIKTOK,
        external_account_id="open-id-at-rest",
        access_token=ACCESS,
        refresh_token=REFRESH,
    )
    data = raw_bytes(settings.db_path)
    assert account.id.encode() in data  # the account is in these bytes
    assert b"open-id-at-rest" in data
    for secret in (ACCESS, REFRESH, "7c1d9e2b4f", "3a6f0e8d5c"):
        assert secret.encode() not in data


async def test_secret_key_file_is_private(core, settings):
    key_file = settings.key_file
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = load_keys("", key_file)
    assert len(keys) == 1
    Fernet(keys[0])  # a valid Fernet key


async def test_a_store_with_the_wrong_key_cannot_read_tokens(core, settings):
    account = await core.connect(access_token=ACCESS)
    db = Database(settings.db_path)
    await db.open()
    try:
        right = AccountRepository(db, TokenCipher(load_keys("", settings.key_file)), LocalChangeFeed())
        credentials = await right.credentials(account.id)
        assert credentials is not None and credentials.access_token == ACCESS

        wrong = AccountRepository(db, TokenCipher([Fernet.generate_key()]), LocalChangeFeed())
        with pytest.raises(SecretKeyError) as info:
            await wrong.credentials(account.id)
        assert ACCESS not in str(info.value)
    finally:
        await db.close()


def test_cipher_round_trip_and_rotation():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_old = TokenCipher([old]).seal(ACCESS)
    assert ACCESS not in sealed_old
    rotated = TokenCipher([new, old])
    assert rotated.open(sealed_old) == ACCESS
    sealed_new = rotated.seal(ACCESS)
    assert TokenCipher([new]).open(sealed_new) == ACCESS
    with pytest.raises(SecretKeyError):
        TokenCipher([old]).open(sealed_new)


@pytest.mark.parametrize("keys", [[], [b"not-a-fernet-key"]])
def test_malformed_keys_are_refused(keys):
    with pytest.raises(SecretKeyError):
        TokenCipher(keys)


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "secret.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    key_file.chmod(0o644)
    with pytest.raises(SecretKeyError) as info:
        load_keys("", key_file)
    assert "chmod 600" in str(info.value)
