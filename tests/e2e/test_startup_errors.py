"""Every way a start can fail is one line on stderr, and a non-zero exit.

The line names the variable, its value (never a secret's) and what would work:
`distribution: cannot start: VARIABLE='value' <what is wrong>; <what would work>`. A
malformed setting exits 2, something a setting names that cannot be used (a busy port, a
path that cannot be created) exits 1. Each case runs `python -m server` for real.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess, free_port, service_env
from tests.support.tls import make_pki

# The shape of every start failure, whatever the cause.
LINE = re.compile(
    r"distribution: cannot start: (?P<variable>DISTRIBUTION_[A-Z_]+)"
    r"(?:='(?P<value>[^']*)'| \(value not shown\)) (?P<problem>[^;]+); (?P<fix>.+)"
)
BAD_SETTING, UNUSABLE = 2, 1
SECRET_KEY = "a-secret-api-key-0123456789"


def clean_env(workdir: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISTRIBUTION_", "GRPC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    env.update(
        DISTRIBUTION_LISTEN=f"127.0.0.1:{free_port()}",
        DISTRIBUTION_METRICS_LISTEN="off",
        DISTRIBUTION_HTTP_LISTEN="off",
        DISTRIBUTION_DB=str(workdir / "d.db"),
        DISTRIBUTION_SANDBOX_PROCESSING_DELAY="0",
    )
    env.update(values)
    return env


def start(workdir: Path, **values: str) -> subprocess.CompletedProcess[str]:
    """Runs the service with these settings; each case here makes it stop at start."""
    return subprocess.run(
        [sys.executable, "-m", "server"], cwd=workdir, env=clean_env(workdir, **values),
        capture_output=True, text=True, timeout=60, check=False,
    )


def refusal(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one stderr line of a refused start, checked for shape and exit code."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert LINE.fullmatch(lines[0]), lines[0]
    assert result.returncode == exit_code, result.stderr
    assert result.stdout == "", "no banner for a start that failed"
    return lines[0]


def expect(result: subprocess.CompletedProcess[str], exit_code: int, line: str) -> None:
    assert refusal(result, exit_code) == f"distribution: cannot start: {line}"


# --- addresses --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A real service holding its gRPC, metrics, health and HTTP ports, as `make run` would."""
    workdir = tmp_path_factory.mktemp("first")
    service = ServiceProcess(
        service_env(
            workdir,
            DISTRIBUTION_METRICS_LISTEN=f"127.0.0.1:{free_port()}",
            DISTRIBUTION_HEALTH_LISTEN=f"127.0.0.1:{free_port()}",
            DISTRIBUTION_HTTP_LISTEN=f"127.0.0.1:{free_port()}",
        ),
        workdir / "service.log",
    ).start()
    try:
        yield service
    finally:
        service.stop()


def test_a_second_process_on_a_taken_grpc_address_refuses_to_start(running, tmp_path):
    # grpc binds with SO_REUSEPORT unless told not to: both processes would serve, each
    # taking some of the connections.
    result = start(tmp_path, DISTRIBUTION_LISTEN=running.address)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_LISTEN='{running.address}' is already in use by another process; "
        "stop that process or choose a free port",
    )
    assert running.alive(), "the first one serves on"


def test_a_taken_metrics_address_refuses_to_start(running, tmp_path):
    metrics = running.env["DISTRIBUTION_METRICS_LISTEN"]
    result = start(tmp_path, DISTRIBUTION_METRICS_LISTEN=metrics)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_METRICS_LISTEN='{metrics}' is already in use by another process; "
        "stop that process or choose a free port, or set DISTRIBUTION_METRICS_LISTEN=off",
    )


def test_a_taken_health_address_refuses_to_start(running, tmp_path):
    health = running.env["DISTRIBUTION_HEALTH_LISTEN"]
    result = start(tmp_path, DISTRIBUTION_HEALTH_LISTEN=health)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_HEALTH_LISTEN='{health}' is already in use by another process; "
        "stop that process or choose a free port, or set DISTRIBUTION_HEALTH_LISTEN=off",
    )


def test_a_taken_http_address_refuses_to_start(running, tmp_path):
    http = running.env["DISTRIBUTION_HTTP_LISTEN"]
    result = start(tmp_path, DISTRIBUTION_HTTP_LISTEN=http)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_HTTP_LISTEN='{http}' is already in use by another process; "
        "stop that process or choose a free port, or set DISTRIBUTION_HTTP_LISTEN=off",
    )
    assert running.alive(), "the first one serves on"


def test_an_open_http_gateway_on_a_public_address_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_HTTP_LISTEN="0.0.0.0:8999")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_HTTP_LISTEN='0.0.0.0:8999' is not a loopback address and the service would run without "
        "authentication; configure DISTRIBUTION_API_KEYS, DISTRIBUTION_API_KEYS_FILE or mutual TLS "
        "(DISTRIBUTION_TLS_CLIENT_CA), set DISTRIBUTION_HTTP_LISTEN=off, or set DISTRIBUTION_ALLOW_INSECURE=true",
    )


def test_an_address_held_by_another_program_refuses_to_start(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        address = f"127.0.0.1:{other.getsockname()[1]}"
        result = start(tmp_path, DISTRIBUTION_LISTEN=address)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_LISTEN='{address}' is already in use by another process; "
        "stop that process or choose a free port",
    )


def test_an_address_of_another_machine_refuses_to_start(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1: never an address of this machine. Keys make it secure.
    result = start(tmp_path, DISTRIBUTION_LISTEN="192.0.2.1:50051", DISTRIBUTION_API_KEYS=f"a={SECRET_KEY}")
    expect(
        result, UNUSABLE,
        "DISTRIBUTION_LISTEN='192.0.2.1:50051' is not an address of this machine; "
        "use one of its addresses, 127.0.0.1, or 0.0.0.0 for all of them",
    )


@pytest.mark.parametrize(
    "variable",
    ["DISTRIBUTION_LISTEN", "DISTRIBUTION_METRICS_LISTEN", "DISTRIBUTION_HEALTH_LISTEN", "DISTRIBUTION_HTTP_LISTEN"],
)
def test_an_address_that_is_not_host_port_is_refused(tmp_path, variable):
    result = start(tmp_path, **{variable: "50051"})
    if variable == "DISTRIBUTION_LISTEN":
        fix = "use e.g. 127.0.0.1:50051"
    elif variable == "DISTRIBUTION_METRICS_LISTEN":
        fix = "use e.g. 127.0.0.1:9464, or off"
    elif variable == "DISTRIBUTION_HTTP_LISTEN":
        fix = "use e.g. 127.0.0.1:8080, or off"
    else:
        fix = "use e.g. 127.0.0.1:8086, or off"
    expect(result, BAD_SETTING, f"{variable}='50051' is not HOST:PORT; {fix}")


def test_an_open_service_on_a_public_address_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_LISTEN="0.0.0.0:50999")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_LISTEN='0.0.0.0:50999' is not a loopback address and the service would run without "
        "authentication; configure DISTRIBUTION_API_KEYS, DISTRIBUTION_API_KEYS_FILE or mutual TLS "
        "(DISTRIBUTION_TLS_CLIENT_CA), or set DISTRIBUTION_ALLOW_INSECURE=true",
    )


# --- numbers, words and flags -------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value, line",
    [
        ("DISTRIBUTION_SHUTDOWN_GRACE", "soon", "is not a number of seconds; use a number of at least 0, e.g. 10"),
        ("DISTRIBUTION_SHUTDOWN_GRACE", "-1", "is not a number of seconds; use a number of at least 0, e.g. 10"),
        ("DISTRIBUTION_SHUTDOWN_GRACE", "nan", "is not a number of seconds; use a number of at least 0, e.g. 10"),
        ("DISTRIBUTION_SANDBOX_PROCESSING_DELAY", "inf",
         "is not a number of seconds; use a number of at least 0, e.g. 1"),
        ("DISTRIBUTION_MAX_CONCURRENT_PER_CALLER", "0",
         "is not a whole number of at least 1; use e.g. 256 (the default)"),
        ("DISTRIBUTION_MAX_CONCURRENT_PER_CALLER", "2.5",
         "is not a whole number of at least 1; use e.g. 256 (the default)"),
        ("DISTRIBUTION_LIST_CACHE_ENTRIES", "-1",
         "is not a whole number of at least 0; use e.g. 10000 (the default)"),
        ("DISTRIBUTION_LOG_LEVEL", "LOUD", "is not a known value; use one of DEBUG, INFO, WARNING, ERROR"),
        ("DISTRIBUTION_EVENT_LOOP", "trio", "is not a known value; use one of uvloop, asyncio"),
        ("DISTRIBUTION_ALLOW_INSECURE", "maybe", "is not true or false; use true or false"),
        ("DISTRIBUTION_INSTAGRAM_API_BASE", "ftp://example.com",
         "is not an http(s) URL; use 'sandbox' or the API's base URL, e.g. https://graph.facebook.com/v23.0"),
        ("DISTRIBUTION_TIKTOK_API_BASE", "https://open.tiktokapis.com?x=1",
         "has a query string or fragment; give the bare base URL, e.g. https://open.tiktokapis.com"),
    ],
)
def test_a_malformed_setting_is_refused(tmp_path, variable, value, line):
    expect(start(tmp_path, **{variable: value}), BAD_SETTING, f"{variable}='{value}' {line}")
    assert not (tmp_path / "d.db").exists(), "nothing is created before the settings are read"


def test_an_api_base_with_credentials_is_refused_without_echoing_them(tmp_path):
    result = start(tmp_path, DISTRIBUTION_TIKTOK_API_BASE="https://app:hunter2@open.tiktokapis.com")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_TIKTOK_API_BASE (value not shown) carries credentials in its URL; "
        "give the bare base URL, e.g. https://open.tiktokapis.com",
    )
    assert "hunter2" not in result.stderr


# --- the database and the sealing keys ----------------------------------------------------


def test_a_database_path_that_cannot_be_created_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_DB="/proc/x/y.db")
    expect(
        result, UNUSABLE,
        "DISTRIBUTION_DB='/proc/x/y.db' cannot be used (No such file or directory: /proc/x); "
        "give DISTRIBUTION_DB a file path in a directory this user can write",
    )


def test_a_database_path_that_is_a_directory_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_DB=str(tmp_path))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_DB='{tmp_path}' is a directory; name a file in it, e.g. {tmp_path}/distribution.db",
    )


def test_a_database_another_process_has_open_is_refused(running, tmp_path):
    db = running.env["DISTRIBUTION_DB"]
    result = start(tmp_path, DISTRIBUTION_DB=db)
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_DB='{db}' is in use by another Distribution process; "
        "stop that process, or give this one a DISTRIBUTION_DB of its own",
    )


@pytest.mark.parametrize(
    "url, shown",
    [("postgresql:///no-host", "postgresql:///no-host"), ("postgresql://app:hunter2@/db", "postgresql://app:***@/db")],
)
def test_a_postgresql_url_without_a_server_is_refused_without_its_password(tmp_path, url, shown):
    result = start(tmp_path, DISTRIBUTION_DB=url, DISTRIBUTION_SECRET_KEYS=Fernet.generate_key().decode())
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_DB='{shown}' names no server in its postgresql:// URL; use e.g. postgresql://user@host:5432/db",
    )
    assert "hunter2" not in result.stderr


def test_postgresql_without_shared_keys_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_DB="postgresql://app:hunter2@db.internal/distribution")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_DB='postgresql://app:***@db.internal/distribution' is PostgreSQL, whose replicas must share "
        "the sealing keys; set DISTRIBUTION_SECRET_KEYS (or DISTRIBUTION_SECRET_KEY_FILE) to the keys every "
        "replica uses",
    )


def test_a_postgresql_server_that_cannot_be_reached_is_refused_without_its_password(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://app:hunter2@127.0.0.1:{port}/distribution"
    result = start(tmp_path, DISTRIBUTION_DB=url, DISTRIBUTION_SECRET_KEYS=Fernet.generate_key().decode())
    line = refusal(result, UNUSABLE)
    assert line.startswith(
        f"distribution: cannot start: DISTRIBUTION_DB='postgresql://app:***@127.0.0.1:{port}/distribution' "
        "cannot be used ("
    )
    assert line.endswith("; check that the server is up and reachable and the URL's user, password and database")
    assert "hunter2" not in result.stderr


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not a database, but someone's notes\n" * 100)
    result = start(tmp_path, DISTRIBUTION_DB=str(db))
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_DB='{db}' cannot be used (SQLite: file is not a database); "
        "give DISTRIBUTION_DB a file path in a directory this user can write",
    )


# A fixed (valid, throwaway) key: pytest-xdist workers must collect the same test ids.
@pytest.mark.parametrize("keys", ["notfernet", "V1atI_V01cgzitsd3JFJUsyxsBMmQVcNnvjabX25zdE=,notfernet"])
def test_a_secret_key_that_is_not_a_fernet_key_is_refused_without_echoing_it(tmp_path, keys):
    result = start(tmp_path, DISTRIBUTION_SECRET_KEYS=keys)
    number = keys.count(",") + 1
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_SECRET_KEYS (value not shown) holds a key (number {number}) that is not a Fernet key "
        "(32 bytes, url-safe base64); make one with "
        "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
    )
    for key in keys.split(","):
        assert key not in result.stderr


def test_secret_keys_that_hold_no_key_are_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_SECRET_KEYS=" , ")
    assert refusal(result, BAD_SETTING).startswith(
        "distribution: cannot start: DISTRIBUTION_SECRET_KEYS (value not shown) holds no keys; add a Fernet key"
    )


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "secret.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    key_file.chmod(0o644)
    result = start(tmp_path, DISTRIBUTION_SECRET_KEY_FILE=str(key_file))
    expect(
        result, UNUSABLE,
        f"DISTRIBUTION_SECRET_KEY_FILE='{key_file}' is readable by group or others; "
        f"make it private: chmod 600 {key_file}",
    )


def test_a_key_file_holding_a_bad_key_is_refused_without_echoing_it(tmp_path):
    key_file = tmp_path / "secret.key"
    key_file.write_text("my-own-password\n")
    key_file.chmod(0o600)
    result = start(tmp_path, DISTRIBUTION_SECRET_KEY_FILE=str(key_file))
    line = refusal(result, UNUSABLE)
    assert line.startswith(
        f"distribution: cannot start: DISTRIBUTION_SECRET_KEY_FILE='{key_file}' holds a key (number 1) "
        "that is not a Fernet key"
    )
    assert "my-own-password" not in result.stderr


# --- API keys and TLS ----------------------------------------------------------------------


def test_one_key_for_two_workspaces_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_API_KEYS=f"alpha={SECRET_KEY},beta={SECRET_KEY}")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_API_KEYS (value not shown) gives one key to two workspaces, alpha (DISTRIBUTION_API_KEYS "
        "entry 1) and beta (DISTRIBUTION_API_KEYS entry 2); give each workspace its own key, and list each key once",
    )
    assert SECRET_KEY not in result.stderr


def test_one_key_in_the_variable_and_the_file_is_refused(tmp_path):
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# billing\nbeta {hashlib.sha256(SECRET_KEY.encode()).hexdigest()}\n")
    result = start(tmp_path, DISTRIBUTION_API_KEYS=f"alpha={SECRET_KEY}", DISTRIBUTION_API_KEYS_FILE=str(keys_file))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_API_KEYS_FILE='{keys_file}' gives one key to two workspaces, alpha (DISTRIBUTION_API_KEYS "
        "entry 1) and beta (DISTRIBUTION_API_KEYS_FILE line 2); give each workspace its own key, and list each "
        "key once",
    )
    assert SECRET_KEY not in result.stderr


@pytest.mark.parametrize("contents", ["", "# keys go here\n\n"])
def test_a_keys_file_with_no_keys_is_refused(tmp_path, contents):
    keys_file = tmp_path / "keys"
    keys_file.write_text(contents)
    # A key file without a key must not leave the service open, even on loopback.
    result = start(tmp_path, DISTRIBUTION_API_KEYS_FILE=str(keys_file))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_API_KEYS_FILE='{keys_file}' holds no keys; add lines 'workspace <sha256 hex of the key>', "
        "or unset DISTRIBUTION_API_KEYS_FILE",
    )


def test_api_keys_that_hold_no_key_are_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_API_KEYS=" , ")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_API_KEYS (value not shown) holds no keys; list entries as workspace=key, or leave it empty",
    )


def test_a_short_api_key_is_refused_without_echoing_it(tmp_path):
    result = start(tmp_path, DISTRIBUTION_API_KEYS="alpha=short-key")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_API_KEYS (value not shown) entry 1 is not workspace=key with a key of 16 or more characters; "
        "list entries as workspace=key, separated by commas",
    )
    assert "short-key" not in result.stderr


def test_a_missing_keys_file_is_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_API_KEYS_FILE=str(tmp_path / "nope"))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_API_KEYS_FILE='{tmp_path / 'nope'}' names no file; "
        "give the path of an existing file, or leave it empty",
    )


def test_a_tls_certificate_that_is_not_pem_is_refused(tmp_path):
    pki = make_pki(tmp_path)
    bad = tmp_path / "cert.pem"
    bad.write_text("not a certificate\n")
    result = start(tmp_path, DISTRIBUTION_TLS_CERT=str(bad), DISTRIBUTION_TLS_KEY=str(pki.server_key))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_TLS_CERT='{bad}' holds no PEM certificate; give the server's PEM certificate chain",
    )


def test_a_tls_key_of_another_certificate_is_refused(tmp_path):
    pki = make_pki(tmp_path)
    result = start(tmp_path, DISTRIBUTION_TLS_CERT=str(pki.server_cert), DISTRIBUTION_TLS_KEY=str(pki.client_key))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_TLS_KEY='{pki.client_key}' is not the private key of the server certificate; "
        "give the unencrypted PEM private key of the certificate in DISTRIBUTION_TLS_CERT",
    )
    assert pki.client_key.read_text().splitlines()[1] not in result.stderr


def test_a_tls_certificate_without_its_key_is_refused(tmp_path):
    pki = make_pki(tmp_path)
    result = start(tmp_path, DISTRIBUTION_TLS_CERT=str(pki.server_cert))
    expect(
        result, BAD_SETTING,
        f"DISTRIBUTION_TLS_CERT='{pki.server_cert}' is set without DISTRIBUTION_TLS_KEY; "
        "set DISTRIBUTION_TLS_KEY to the certificate's private key file, or unset both",
    )


def test_client_workspaces_without_mutual_tls_are_refused(tmp_path):
    result = start(tmp_path, DISTRIBUTION_TLS_CLIENT_WORKSPACES="billing-service=billing")
    expect(
        result, BAD_SETTING,
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES='billing-service=billing' maps client certificates, but mutual TLS "
        "is off; set DISTRIBUTION_TLS_CLIENT_CA to the CA that signs client certificates, or unset it",
    )
