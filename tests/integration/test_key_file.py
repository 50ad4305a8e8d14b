"""DISTRIBUTION_API_KEYS_FILE (server/grpc_api/keys.py): lines "workspace <sha256 hex>", so
the keys themselves never sit in the service's configuration. A bad file or line is one
error naming the file and the line. (Environment entries: tests/unit/test_key_settings.py.)"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from server.grpc_api.keys import KeyConfigError, load_key_ring

ALPHA_KEY = "alpha-key-0123456789"
BETA_KEY = "beta-key-0123456789"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def keys_file(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "keys"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_the_file_lists_hashes_with_comments_and_blank_lines(tmp_path: Path) -> None:
    path = keys_file(tmp_path, f"# who may call\n\nalpha {sha(ALPHA_KEY)}\n  beta sha256:{sha(BETA_KEY).upper()}  \n")
    ring = load_key_ring("", path, "", mtls=False)
    assert ring.workspace_for_key(ALPHA_KEY) == "alpha"
    assert ring.workspace_for_key(BETA_KEY) == "beta"  # a sha256: prefix and upper-case hex are taken
    assert ring.workspace_for_key("gamma-key-0123456789") is None


def test_the_file_adds_to_the_keys_of_the_environment(tmp_path: Path) -> None:
    ring = load_key_ring(f"alpha={ALPHA_KEY}", keys_file(tmp_path, f"beta {sha(BETA_KEY)}\n"), "", mtls=False)
    assert (ring.workspace_for_key(ALPHA_KEY), ring.workspace_for_key(BETA_KEY)) == ("alpha", "beta")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"alpha {sha(ALPHA_KEY)}\nbeta {sha(BETA_KEY)[:63]}\n", "line 2 is not 'workspace <sha256 hex of the key>'"),
        (f"alpha {sha(ALPHA_KEY)} extra\n", "line 1 is not 'workspace <sha256 hex of the key>'"),
        (f"alpha {'g' * 64}\n", "line 1 is not 'workspace <sha256 hex of the key>'"),
        (f"# keys\nal/pha {sha(ALPHA_KEY)}\n", "line 2 has the workspace name 'al/pha'"),
    ],
)
def test_a_bad_line_is_named_with_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = keys_file(tmp_path, text)
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring("", path, "", mtls=False)
    assert (caught.value.variable, caught.value.value, caught.value.problem) == (
        "DISTRIBUTION_API_KEYS_FILE", path, problem,
    )


def test_a_file_that_is_not_text_cannot_be_read(tmp_path: Path) -> None:
    path = keys_file(tmp_path, b"alpha \xff\xfe\n")
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring("", path, "", mtls=False)
    assert caught.value.problem == "cannot be read (not UTF-8 text)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = keys_file(tmp_path, f"alpha {sha(ALPHA_KEY)}\n")
    os.chmod(path, 0)
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring("", path, "", mtls=False)
    assert caught.value.problem == "cannot be read (Permission denied)"


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError) as caught:
        load_key_ring("", str(tmp_path), "", mtls=False)
    assert caught.value.problem == "cannot be read (Is a directory)"
    assert str(caught.value).endswith("; give a readable text file")
