"""Service settings read from DISTRIBUTION_* (server/config.py) that the other settings tests
leave out: addresses, the PostgreSQL URL, flags, leases and retention, and the one-line error
naming the variable (and never showing a secret) for a bad value. (Files the settings name:
tests/integration/test_settings_files.py; as `python -m server` prints them:
tests/e2e/test_startup_errors.py.)"""

from __future__ import annotations

import errno
import socket
from datetime import timedelta
from pathlib import Path

import pytest

from server.config import ConfigError, address_error, load_settings, path_error
from server.services.webhooks import WebhookPolicy

KEYS = {"DISTRIBUTION_SECRET_KEYS": "k1"}  # PostgreSQL needs the sealing keys every replica shares


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("listen", "host", "port", "loopback"),
    [
        ("127.0.0.1:50051", "127.0.0.1", 50051, True),
        ("[::1]:7000", "::1", 7000, True),
        ("localhost:8080", "localhost", 8080, True),
        ("0.0.0.0:50051", "0.0.0.0", 50051, False),
        ("grpc.example.com:443", "grpc.example.com", 443, False),  # a name is not taken for loopback
    ],
)
def test_the_listen_address_is_read_as_host_and_port(listen: str, host: str, port: int, loopback: bool) -> None:
    settings = load_settings({"DISTRIBUTION_LISTEN": listen})
    assert (settings.listen_host, settings.listen_port, settings.is_loopback()) == (host, port, loopback)


def test_the_emulators_keep_their_state_beside_a_sqlite_file_only() -> None:
    on_file = load_settings({"DISTRIBUTION_DB": "/var/lib/distribution/main.db"})
    assert on_file.sandbox_state_file("tiktok") == Path("/var/lib/distribution/main.sandbox-tiktok.json")
    assert load_settings({"DISTRIBUTION_DB": ":memory:"}).sandbox_state_file("tiktok") is None
    on_postgres = load_settings({"DISTRIBUTION_DB": "postgresql://app@db.internal:5432/distribution", **KEYS})
    assert on_postgres.uses_postgres
    assert on_postgres.sandbox_state_file("instagram") is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://app:hunter2@db.internal:port/distribution", "is not a valid postgresql:// URL"),
        ("postgresql://app:hunter2@[db.internal/distribution", "is not a valid postgresql:// URL"),
    ],
)
def test_a_malformed_postgres_url_is_refused_without_showing_it(url: str, problem: str) -> None:
    message = refusal({"DISTRIBUTION_DB": url, **KEYS})
    assert message.startswith(f"DISTRIBUTION_DB (value not shown) {problem}; ")
    assert "hunter2" not in message


def test_a_postgres_url_without_a_server_is_refused_with_its_password_hidden() -> None:
    message = refusal({"DISTRIBUTION_DB": "postgresql://app:hunter2@/distribution", **KEYS})
    assert message.startswith("DISTRIBUTION_DB='postgresql://app:***@/distribution' names no server")
    # the server may be given as a libpq parameter instead
    given = "postgresql:///distribution?host=/run/postgresql"
    assert load_settings({"DISTRIBUTION_DB": given, **KEYS}).database_url == given


def test_postgres_replicas_must_be_given_their_shared_sealing_keys() -> None:
    message = refusal({"DISTRIBUTION_DB": "postgresql://app:hunter2@db.internal/distribution"})
    assert message.startswith(
        "DISTRIBUTION_DB='postgresql://app:***@db.internal/distribution' is PostgreSQL, whose replicas must share "
        "the sealing keys; set DISTRIBUTION_SECRET_KEYS"
    )
    with_file = {"DISTRIBUTION_DB": "postgresql://db.internal/d", "DISTRIBUTION_SECRET_KEY_FILE": "/run/keys/seal"}
    assert load_settings(with_file).secret_key_file == Path("/run/keys/seal")


@pytest.mark.parametrize(("value", "expected"), [("yes", True), (" TRUE ", True), ("1", True), ("no", False),
                                                  ("", False), ("0", False)])
def test_a_flag_takes_true_or_false_in_common_spellings(value: str, expected: bool) -> None:
    settings = load_settings({"DISTRIBUTION_WEBHOOK_ALLOW_HTTP": value, "DISTRIBUTION_ALLOW_INSECURE": value,
                              "DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT": value})
    assert (settings.webhook_allow_http, settings.allow_insecure, settings.tiktok_require_creator_consent) == (
        expected, expected, expected)


def test_the_creator_consent_rule_is_off_unless_the_operator_turns_it_on() -> None:
    assert load_settings({}).tiktok_require_creator_consent is False


@pytest.mark.parametrize(("value", "expected"), [("", True), ("true", True), ("no", False), ("0", False)])
def test_the_console_is_on_unless_turned_off(value: str, expected: bool) -> None:
    assert load_settings({"DISTRIBUTION_CONSOLE": value}).console is expected


def test_the_http_ports_extra_hosts_are_names_and_networks() -> None:
    assert load_settings({}).http_allowed_hosts == ()
    given = load_settings({"DISTRIBUTION_HTTP_ALLOWED_HOSTS": " dev-box.lan, 10.0.0.0/8 ,"})
    assert given.http_allowed_hosts == ("dev-box.lan", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DISTRIBUTION_WEBHOOK_ALLOW_HTTP", "sometimes", "is not true or false"),
        ("DISTRIBUTION_HTTP_ALLOWED_HOSTS", "dev-box.lan,http://x",
         "lists 'http://x', which is neither a network nor a host name"),
        ("DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT", "maybe", "is not true or false"),
        ("DISTRIBUTION_CONSOLE", "maybe", "is not true or false"),
        ("DISTRIBUTION_EVENT_RETENTION_DAYS", "0", "leaves no event to resume from"),
        ("DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS", "0", "would disable a webhook at its first failure"),
        ("DISTRIBUTION_WEBHOOKS_PER_WORKSPACE", "0", "is not a whole number of at least 1"),
        ("DISTRIBUTION_WEBHOOK_CONCURRENCY_PER_WEBHOOK", "two", "is not a whole number of at least 1"),
        ("DISTRIBUTION_LEASE_SECONDS", "0.5", "is less than 1 second"),
        ("DISTRIBUTION_LISTEN", "50051", "is not HOST:PORT"),
        ("DISTRIBUTION_HTTP_LISTEN", "127.0.0.1:99999", "is not HOST:PORT"),
        ("DISTRIBUTION_TIKTOK_API_BASE", "ftp://open.tiktokapis.com", "is not an http(s) URL"),
        ("DISTRIBUTION_TIKTOK_API_BASE", "https://open.tiktokapis.com/?x=1", "has a query string or fragment"),
        ("DISTRIBUTION_DB", "  ", "is empty"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_value(variable: str, value: str, problem: str) -> None:
    assert refusal({variable: value}).startswith(f"{variable}={value!r} {problem}; ")


def test_an_api_base_with_credentials_is_refused_without_showing_it() -> None:
    message = refusal({"DISTRIBUTION_INSTAGRAM_API_BASE": "https://user:hunter2@graph.example.com"})
    assert message.startswith("DISTRIBUTION_INSTAGRAM_API_BASE (value not shown) carries credentials in its URL; ")


def test_webhook_settings_and_their_defaults() -> None:
    assert load_settings({}).webhooks == WebhookPolicy()
    policy = load_settings({
        "DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS": "0.5", "DISTRIBUTION_WEBHOOK_CONCURRENCY_PER_WEBHOOK": "1",
        "DISTRIBUTION_WEBHOOK_SECRET_OVERLAP_HOURS": "0", "DISTRIBUTION_WEBHOOKS_PER_WORKSPACE": "3",
        "DISTRIBUTION_EVENT_RETENTION_DAYS": "2",
    }).webhooks
    assert (policy.disable_window, policy.per_webhook, policy.secret_overlap, policy.per_workspace) == (
        timedelta(hours=12), 1, timedelta(0), 3
    )
    assert policy.redelivery_window == timedelta(days=2)  # as far back as events are kept
    assert load_settings({"DISTRIBUTION_WEBHOOK_TIMEOUT": "20"}).webhooks.claim_seconds == 60.0  # 3 x the POST
    defaults = WebhookPolicy()
    assert (defaults.disable_window, defaults.secret_overlap, defaults.per_workspace) == (
        timedelta(days=5), timedelta(hours=24), 20
    )


def test_a_lease_sets_how_often_it_is_renewed_and_swept() -> None:
    leases = load_settings({"DISTRIBUTION_LEASE_SECONDS": "3"}).leases
    assert (leases.ttl, leases.renew_every, leases.sweep_every) == (3.0, 1.0, 0.6)


@pytest.mark.parametrize(
    ("err", "problem", "fix"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
         "names a host that cannot be resolved (Name or service not known)", "use an IP address or a resolvable"),
        (OSError(errno.EADDRINUSE, "Address already in use"), "is already in use by another process", "stop that"),
        (OSError(errno.EACCES, "Permission denied"),
         "may not be listened on by this user (ports below 1024 need privileges)", "choose a port above 1023"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign"), "is not an address of this machine", "use one of its"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "cannot be listened on (Network is unreachable)",
         "choose another HOST:PORT"),
    ],
)
def test_an_address_that_cannot_be_listened_on_says_why(err: OSError, problem: str, fix: str) -> None:
    error = address_error("DISTRIBUTION_METRICS_LISTEN", "10.9.9.9:80", err, can_be_off=True)
    assert str(error).startswith(f"DISTRIBUTION_METRICS_LISTEN='10.9.9.9:80' {problem}; {fix}")
    assert str(error).endswith(", or set DISTRIBUTION_METRICS_LISTEN=off")


def test_a_path_that_cannot_be_used_names_the_file_that_failed() -> None:
    err = OSError(errno.EACCES, "Permission denied", "/data/secret.key")
    assert str(path_error("DISTRIBUTION_DB", "/data/main.db", err, "make it writable")) == (
        "DISTRIBUTION_DB='/data/main.db' cannot be used (Permission denied: /data/secret.key); make it writable"
    )
    same = OSError(errno.ENOSPC, "No space left on device", "/data/main.db")
    assert "(No space left on device)" in str(path_error("DISTRIBUTION_DB", "/data/main.db", same, "free space"))
    assert "(is locked)" in str(path_error("DISTRIBUTION_DB", "/data/main.db", "is locked", "stop the other"))


def test_the_tiktok_pacing_margin_widens_every_tiktok_window() -> None:
    assert load_settings({}).tiktok_rate_limits.margin == 2.0
    limits = load_settings({"DISTRIBUTION_TIKTOK_PACING_MARGIN": "0.5"}).tiktok_rate_limits
    assert (limits.init, limits.window, limits.margin) == (6, 60.0, 0.5)
    assert "DISTRIBUTION_TIKTOK_PACING_MARGIN" in refusal({"DISTRIBUTION_TIKTOK_PACING_MARGIN": "-1"})
    assert "DISTRIBUTION_TIKTOK_PACING_MARGIN" in refusal({"DISTRIBUTION_TIKTOK_PACING_MARGIN": "61"})
