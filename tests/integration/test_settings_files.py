"""Settings that name files (DISTRIBUTION_API_KEYS_FILE, DISTRIBUTION_TLS_*): each must be a
readable regular file, and the TLS ones only make sense together. One line naming the
variable and the path. (Environment-only settings: tests/unit/test_service_settings.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.config import ConfigError, load_settings


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    return str(caught.value)


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, str]:
    files = {}
    for name in ("cert", "key", "ca"):
        path = tmp_path / f"{name}.pem"
        path.write_text(f"-----BEGIN {name.upper()}-----\n")
        files[name] = str(path)
    return files


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    assert refusal({"DISTRIBUTION_TLS_CERT": str(tmp_path)}) == (
        f"DISTRIBUTION_TLS_CERT={str(tmp_path)!r} is not a regular file; give the path of a file, or leave it empty"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_named(pem: dict[str, str]) -> None:
    os.chmod(pem["key"], 0)
    assert refusal({"DISTRIBUTION_TLS_CERT": pem["cert"], "DISTRIBUTION_TLS_KEY": pem["key"]}).startswith(
        f"DISTRIBUTION_TLS_KEY={pem['key']!r} is not readable by this user; "
    )


def test_tls_files_are_taken_together(pem: dict[str, str]) -> None:
    settings = load_settings({
        "DISTRIBUTION_TLS_CERT": pem["cert"],
        "DISTRIBUTION_TLS_KEY": pem["key"],
        "DISTRIBUTION_TLS_CLIENT_CA": pem["ca"],
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES": "billing-service=billing",
    })
    assert (settings.tls_cert, settings.tls_key, settings.tls_client_ca) == (pem["cert"], pem["key"], pem["ca"])


@pytest.mark.parametrize(
    ("given", "variable", "problem"),
    [
        (("cert",), "DISTRIBUTION_TLS_CERT", "is set without DISTRIBUTION_TLS_KEY"),
        (("key",), "DISTRIBUTION_TLS_KEY", "is set without DISTRIBUTION_TLS_CERT"),
        (("ca",), "DISTRIBUTION_TLS_CLIENT_CA", "(mutual TLS) needs TLS"),
    ],
)
def test_a_tls_file_without_its_partner_is_named(
    pem: dict[str, str], given: tuple[str, ...], variable: str, problem: str
) -> None:
    names = {"cert": "DISTRIBUTION_TLS_CERT", "key": "DISTRIBUTION_TLS_KEY", "ca": "DISTRIBUTION_TLS_CLIENT_CA"}
    message = refusal({names[name]: pem[name] for name in given})
    assert message.startswith(f"{variable}={pem[given[0]]!r} {problem}; ")


def test_client_identities_without_mutual_tls_are_refused(pem: dict[str, str]) -> None:
    message = refusal({
        "DISTRIBUTION_TLS_CERT": pem["cert"],
        "DISTRIBUTION_TLS_KEY": pem["key"],
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES": "billing-service=billing",
    })
    assert message.startswith(
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES='billing-service=billing' maps client certificates, but mutual TLS is off; "
    )
