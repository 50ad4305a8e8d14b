"""Service settings, read once from the environment at start.

Every setting has a default that runs the service on loopback against the built-in
sandbox emulators, so `make run` needs no configuration. A bad value stops the
service at start with one line naming the variable (ConfigError).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from server.adapters.tiktok import RateLimits
from server.services.workflow.polling import INSTAGRAM_CONTAINERS, TIKTOK_STATUS, PollPolicy, ReconcileSchedule
from server.services.workflow.retry import DEFAULT_RETRY, RetryPolicy
from server.services.workflow.runner import LeasePolicy

SANDBOX = "sandbox"


class ConfigError(Exception):
    """A setting is missing or malformed. Its message is one line, fit to print."""


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:50051"
    # DISTRIBUTION_DB: a file path (SQLite, the default) or a postgresql:// URL (database_url).
    db_path: Path = Path("var/distribution.db")
    database_url: str = ""
    # Most connections one replica opens to PostgreSQL (plus one that listens for changes).
    db_pool_size: int = 10
    instagram_api_base: str = SANDBOX
    tiktok_api_base: str = SANDBOX
    tiktok_client_key: str = ""
    tiktok_client_secret: str = ""
    # Seconds in-flight RPCs get to finish after SIGTERM/SIGINT.
    shutdown_grace: float = 10.0
    # Seconds the sandbox emulators keep a container/photo post processing.
    sandbox_processing_delay: float = 1.0
    log_level: str = "INFO"
    # "uvloop" (default: less CPU per RPC) or "asyncio".
    event_loop: str = "uvloop"
    # Comma-separated Fernet keys sealing tokens at rest (first one seals). When empty,
    # the key file is used, created with mode 0600 on first start.
    secret_keys: str = ""
    secret_key_file: Path = Path("var/secret.key")
    # Authentication: see server/grpc_api/keys.py and the README's Security section.
    api_keys: str = ""
    api_keys_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    tls_client_workspaces: str = ""
    allow_insecure: bool = False
    max_concurrent_per_caller: int = 256
    # Rendered Publish messages kept for list pages (server/grpc_api/rendered.py); 0 keeps none.
    list_cache_entries: int = 10_000
    # Prometheus /metrics endpoint; "off" disables it.
    metrics_listen: str = "127.0.0.1:9464"
    # How often platform processing is polled. Not read from the environment: tests and
    # benchmarks shorten them to match an emulator with short delays.
    instagram_poll: PollPolicy = INSTAGRAM_CONTAINERS
    tiktok_poll: PollPolicy = TIKTOK_STATUS
    # When the reconciler asks again for late facts (TikTok post id, Instagram permalink).
    late_facts: ReconcileSchedule = ReconcileSchedule()
    # Backoff for transient platform errors.
    retry: RetryPolicy = DEFAULT_RETRY
    # How long a replica's hold on a running publish lasts (DISTRIBUTION_LEASE_SECONDS), and
    # how often it is renewed and orphans looked for.
    leases: LeasePolicy = LeasePolicy()
    # TikTok's per-token request limits, kept by waiting (server/adapters/tiktok/client.py).
    tiktok_rate_limits: RateLimits = RateLimits()

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def is_loopback(self) -> bool:
        host = self.listen_host
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def _api_base(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, SANDBOX).strip() or SANDBOX
    if value == SANDBOX:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be '{SANDBOX}' or an http(s) URL, got {value!r}")
    if parts.username or parts.password or parts.query:
        raise ConfigError(f"{name} must not carry credentials or a query string")
    return value.rstrip("/")


def _database_url(value: str) -> str:
    """The PostgreSQL URL in DISTRIBUTION_DB, or "" for a file path (SQLite)."""
    if not value.startswith(("postgresql://", "postgres://")):
        return ""
    parts = urlsplit(value)
    if not parts.hostname and "host=" not in parts.query:
        raise ConfigError(
            "DISTRIBUTION_DB must name the server in a postgresql:// URL, e.g. postgresql://user@host:5432/db"
        )
    return value


def _leases(env: Mapping[str, str]) -> LeasePolicy:
    """DISTRIBUTION_LEASE_SECONDS: how long a replica's hold on a running publish lasts
    unless renewed; renewed every third of it. A dead replica's publishes are taken over
    after at most this long plus a sweep (every second, or a fifth of it if shorter)."""
    ttl = _positive_float(env, "DISTRIBUTION_LEASE_SECONDS", LeasePolicy.ttl)
    if ttl < 1.0:
        raise ConfigError(f"DISTRIBUTION_LEASE_SECONDS must be at least 1 second, got {ttl:g}")
    return LeasePolicy(ttl=ttl, renew_every=ttl / 3, sweep_every=min(LeasePolicy.sweep_every, ttl / 5))


def _listen(env: Mapping[str, str]) -> str:
    value = env.get("DISTRIBUTION_LISTEN", Settings.listen).strip()
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"DISTRIBUTION_LISTEN must be HOST:PORT, got {value!r}")
    return value


def _event_loop(env: Mapping[str, str]) -> str:
    value = env.get("DISTRIBUTION_EVENT_LOOP", Settings.event_loop).strip().lower()
    if value not in ("uvloop", "asyncio"):
        raise ConfigError(f"DISTRIBUTION_EVENT_LOOP must be uvloop or asyncio, got {value!r}")
    return value


def _metrics_listen(env: Mapping[str, str]) -> str:
    value = env.get("DISTRIBUTION_METRICS_LISTEN", Settings.metrics_listen).strip()
    if value == "off":
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"DISTRIBUTION_METRICS_LISTEN must be HOST:PORT or 'off', got {value!r}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _positive_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        kind = "positive" if minimum == 1 else f"at least {minimum},"
        raise ConfigError(f"{name} must be a {kind} whole number, got {raw!r}")
    return int(raw)


def _file(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value and not Path(value).is_file():
        raise ConfigError(f"{name} names {value!r}, which is not a readable file")
    return value


def check_secure(settings: Settings, auth_enabled: bool) -> None:
    """Secure by default: no open service on a non-loopback address unless explicitly allowed."""
    if auth_enabled or settings.is_loopback() or settings.allow_insecure:
        return
    raise ConfigError(
        f"refusing to listen on {settings.listen} without authentication: configure "
        "DISTRIBUTION_API_KEYS, DISTRIBUTION_API_KEYS_FILE or mutual TLS, "
        "or set DISTRIBUTION_ALLOW_INSECURE=true"
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads DISTRIBUTION_* variables; raises ConfigError on the first bad one."""
    env = os.environ if env is None else env
    db = env.get("DISTRIBUTION_DB", str(Settings.db_path)).strip()
    if not db:
        raise ConfigError("DISTRIBUTION_DB must be a file path (SQLite) or a postgresql:// URL")
    database_url = _database_url(db)
    level = env.get("DISTRIBUTION_LOG_LEVEL", Settings.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"DISTRIBUTION_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    settings = Settings(
        listen=_listen(env),
        db_path=Path(db) if not database_url else Settings.db_path,
        database_url=database_url,
        db_pool_size=_positive_int(env, "DISTRIBUTION_DB_POOL_SIZE", Settings.db_pool_size),
        instagram_api_base=_api_base(env, "DISTRIBUTION_INSTAGRAM_API_BASE"),
        tiktok_api_base=_api_base(env, "DISTRIBUTION_TIKTOK_API_BASE"),
        tiktok_client_key=env.get("DISTRIBUTION_TIKTOK_CLIENT_KEY", ""),
        tiktok_client_secret=env.get("DISTRIBUTION_TIKTOK_CLIENT_SECRET", ""),
        shutdown_grace=_positive_float(env, "DISTRIBUTION_SHUTDOWN_GRACE", Settings.shutdown_grace),
        sandbox_processing_delay=_positive_float(
            env, "DISTRIBUTION_SANDBOX_PROCESSING_DELAY", Settings.sandbox_processing_delay
        ),
        log_level=level,
        event_loop=_event_loop(env),
        secret_keys=env.get("DISTRIBUTION_SECRET_KEYS", ""),
        api_keys=env.get("DISTRIBUTION_API_KEYS", ""),
        api_keys_file=_file(env, "DISTRIBUTION_API_KEYS_FILE"),
        tls_cert=_file(env, "DISTRIBUTION_TLS_CERT"),
        tls_key=_file(env, "DISTRIBUTION_TLS_KEY"),
        tls_client_ca=_file(env, "DISTRIBUTION_TLS_CLIENT_CA"),
        tls_client_workspaces=env.get("DISTRIBUTION_TLS_CLIENT_WORKSPACES", ""),
        allow_insecure=_flag(env, "DISTRIBUTION_ALLOW_INSECURE"),
        metrics_listen=_metrics_listen(env),
        max_concurrent_per_caller=_positive_int(
            env, "DISTRIBUTION_MAX_CONCURRENT_PER_CALLER", Settings.max_concurrent_per_caller
        ),
        leases=_leases(env),
        list_cache_entries=_positive_int(
            env, "DISTRIBUTION_LIST_CACHE_ENTRIES", Settings.list_cache_entries, minimum=0
        ),
        secret_key_file=Path(
            env.get("DISTRIBUTION_SECRET_KEY_FILE", "")
            or (Settings.db_path if database_url else Path(db)).parent / "secret.key"
        ),
    )
    if database_url and not (settings.secret_keys.strip() or env.get("DISTRIBUTION_SECRET_KEY_FILE", "").strip()):
        # Replicas must all open the tokens: a key file made by one of them would not do.
        raise ConfigError(
            "DISTRIBUTION_DB is PostgreSQL: set DISTRIBUTION_SECRET_KEYS (or DISTRIBUTION_SECRET_KEY_FILE) "
            "to the sealing keys every replica shares"
        )
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("DISTRIBUTION_TLS_CERT and DISTRIBUTION_TLS_KEY go together")
    if settings.tls_client_ca and not settings.tls_cert:
        raise ConfigError("DISTRIBUTION_TLS_CLIENT_CA (mutual TLS) needs DISTRIBUTION_TLS_CERT and _KEY")
    return settings
