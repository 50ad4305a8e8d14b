"""Service settings, read once from the environment at start, and the one-line errors that
stop a start.

Every setting has a default that runs the service on loopback against the built-in
sandbox emulators, so `make run` needs no configuration. A bad value, or an address or
path the service cannot use, stops the service at start with one line (StartError): the
variable, its value (never a secret), what is wrong and what would work.
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from server.adapters.egress import EgressPolicy
from server.adapters.tiktok import RateLimits
from server.domain.schedule import SchedulePolicy
from server.services.events import StreamPolicy
from server.services.webhooks import WebhookPolicy
from server.services.workflow.polling import INSTAGRAM_CONTAINERS, TIKTOK_STATUS, PollPolicy, ReconcileSchedule
from server.services.workflow.retry import DEFAULT_RETRY, RetryPolicy
from server.services.workflow.runner import LeasePolicy

SANDBOX = "sandbox"
OFF = "off"
# Where the HTTP/JSON gateway listens unless DISTRIBUTION_HTTP_LISTEN says otherwise.
HTTP_LISTEN = "127.0.0.1:8080"
MEDIA_FETCH_MODES = ("direct", "sandbox", "off")
# The value a StartError shows in place of a secret's.
NOT_SHOWN = None


class StartError(Exception):
    """The service cannot start. The message is one line fit to print: the variable, its
    value (never a secret's), what is wrong with it and what would work."""

    exit_code = 1

    def __init__(self, variable: str, value: str | None, problem: str, fix: str) -> None:
        self.variable = variable
        shown = f"{variable} (value not shown)" if value is None else f"{variable}={value!r}"
        super().__init__(f"{shown} {problem}; {fix}")


class ConfigError(StartError):
    """A setting is missing or malformed (as opposed to naming something unusable)."""

    exit_code = 2


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
    # A plaintext gRPC port serving only grpc.health.v1 (for probes that hold no client
    # certificate); "off" (the default) serves none.
    health_listen: str = OFF
    # The HTTP/JSON gateway (server/http_gateway/); "off" serves none. From the environment
    # the default is 127.0.0.1:8080; built directly (the in-process tests), it is off.
    http_listen: str = OFF
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
    # How media URLs are read to inspect their bytes (DISTRIBUTION_MEDIA_FETCH): "direct"
    # (from their hosts, through the egress guard), "sandbox" (from the sandbox media host,
    # started in-process) or "off" (nothing is fetched; the URL and the caller are believed).
    # From the environment the default is "sandbox" while both API bases are the sandbox,
    # else "direct"; built directly (the in-process tests), it is "off" unless asked for.
    media_fetch: str = OFF
    media_fetch_timeout: float = 10.0  # seconds per inspection, redirects included
    media_fetch_max_bytes: int = 1 << 20  # most bytes read from one file
    media_fetch_concurrency: int = 16  # inspections at once
    # Private networks (CIDR) or host names the direct fetch may reach (a private media host).
    media_fetch_allow: tuple[str, ...] = ()
    # Seconds an inspection stays good for publishing; older ones are redone first.
    media_inspection_max_age: float = 3600.0
    # Scheduled publishes: what counts as "now", the furthest ahead, and the most late a
    # publish due while the service was down may still start (DISTRIBUTION_SCHEDULE_*).
    schedule: SchedulePolicy = SchedulePolicy()
    # How often a replica looks for schedules other replicas recorded (its own wake it at
    # their time). Not read from the environment.
    schedule_sweep_every: float = 5.0
    # WatchPublishes: how far back a caller may resume (DISTRIBUTION_EVENT_RETENTION_DAYS) and
    # how many events a stream reads ahead of a slow consumer (DISTRIBUTION_WATCH_BUFFER).
    stream: StreamPolicy = field(default_factory=StreamPolicy)
    # Webhook retries, disabling, concurrency (DISTRIBUTION_WEBHOOK_RETRY_SCALE, _DISABLE_AFTER,
    # _CONCURRENCY); each POST's time limit (DISTRIBUTION_WEBHOOK_TIMEOUT).
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    webhook_timeout: float = 10.0
    # Private networks (CIDR) or host names webhook URLs may reach (DISTRIBUTION_WEBHOOK_ALLOW),
    # and whether plain http is allowed (DISTRIBUTION_WEBHOOK_ALLOW_HTTP: a loopback receiver).
    webhook_allow: tuple[str, ...] = ()
    webhook_allow_http: bool = False

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def listen_host(self) -> str:
        return host_of(self.listen)

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def is_loopback(self) -> bool:
        return is_loopback(self.listen)

    def sandbox_state_file(self, platform: str) -> Path | None:
        """Where the built-in emulator of `platform` keeps its state across restarts: beside
        the database, named after it (none for an in-memory or a PostgreSQL database)."""
        if str(self.db_path) == ":memory:" or self.uses_postgres:
            return None
        return self.db_path.with_name(f"{self.db_path.stem}.sandbox-{platform}.json")


def host_of(address: str) -> str:
    """The host of HOST:PORT, without IPv6 brackets."""
    return address.rsplit(":", 1)[0].strip("[]")


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(address: str) -> bool:
    host = host_of(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- reading the environment ------------------------------------------------------------


def _api_base(env: Mapping[str, str], name: str, real: str) -> str:
    value = env.get(name, SANDBOX).strip() or SANDBOX
    if value == SANDBOX:
        return value
    parts = urlsplit(value)
    if parts.username or parts.password:
        # The value itself holds a credential: it is not echoed.
        raise ConfigError(
            name, NOT_SHOWN, "carries credentials in its URL", f"give the bare base URL, e.g. {real}"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, value, "is not an http(s) URL", f"use '{SANDBOX}' or the API's base URL, e.g. {real}")
    if parts.query or parts.fragment:
        raise ConfigError(name, value, "has a query string or fragment", f"give the bare base URL, e.g. {real}")
    return value.rstrip("/")


def _address(env: Mapping[str, str], name: str, default: str, example: str, *, can_be_off: bool = False) -> str:
    value = env.get(name, default).strip()
    if can_be_off and value == OFF:
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host.strip("[]") or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        also = f", or {OFF}" if can_be_off else ""
        raise ConfigError(name, value, "is not HOST:PORT", f"use e.g. {example}{also}")
    return value


def _media_fetch(env: Mapping[str, str], instagram_base: str, tiktok_base: str) -> str:
    """DISTRIBUTION_MEDIA_FETCH; by default the sandbox media host while both platforms are
    the sandbox (a real platform never gets a made-up inspection), else direct."""
    default = SANDBOX if instagram_base == SANDBOX and tiktok_base == SANDBOX else "direct"
    if not env.get("DISTRIBUTION_MEDIA_FETCH", "").strip():
        return default
    return _choice(env, "DISTRIBUTION_MEDIA_FETCH", default, MEDIA_FETCH_MODES)


def _media_fetch_timeout(env: Mapping[str, str]) -> float:
    value = _seconds(env, "DISTRIBUTION_MEDIA_FETCH_TIMEOUT", Settings.media_fetch_timeout)
    if value <= 0:
        raise ConfigError(
            "DISTRIBUTION_MEDIA_FETCH_TIMEOUT", env["DISTRIBUTION_MEDIA_FETCH_TIMEOUT"], "leaves no time to fetch",
            f"use a number of seconds above 0, e.g. {Settings.media_fetch_timeout:g}",
        )
    return value


def _stream(env: Mapping[str, str]) -> StreamPolicy:
    days = _seconds(env, "DISTRIBUTION_EVENT_RETENTION_DAYS", 7.0)
    if days <= 0:
        raise ConfigError(
            "DISTRIBUTION_EVENT_RETENTION_DAYS", env["DISTRIBUTION_EVENT_RETENTION_DAYS"],
            "leaves no event to resume from", "use a number of days above 0, e.g. 7",
        )
    return StreamPolicy(
        retention=timedelta(days=days),
        buffer=_whole(env, "DISTRIBUTION_WATCH_BUFFER", StreamPolicy.buffer),
    )


def _webhooks(env: Mapping[str, str]) -> WebhookPolicy:
    scale = _seconds(env, "DISTRIBUTION_WEBHOOK_RETRY_SCALE", 1.0)
    return WebhookPolicy(
        retry_scale=scale,
        disable_after=_whole(env, "DISTRIBUTION_WEBHOOK_DISABLE_AFTER", WebhookPolicy.disable_after),
        concurrency=_whole(env, "DISTRIBUTION_WEBHOOK_CONCURRENCY", WebhookPolicy.concurrency),
    )


def _media_fetch_allow(env: Mapping[str, str], name: str = "DISTRIBUTION_MEDIA_FETCH_ALLOW") -> tuple[str, ...]:
    raw = env.get(name, "")
    entries = tuple(e.strip() for e in raw.split(",") if e.strip())
    for entry in entries:
        try:
            EgressPolicy.parse([entry])
        except ValueError:
            raise ConfigError(
                name, raw, f"lists {entry!r}, which is neither a network nor a host name",
                "list networks in CIDR form or host names, comma-separated, e.g. 10.20.0.0/16,media.corp.example",
            ) from None
    return entries


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, default)
    value = raw.strip().upper() if choices[0].isupper() else raw.strip().lower()
    if value not in choices:
        raise ConfigError(name, raw, "is not a known value", f"use one of {', '.join(choices)}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(name, raw, "is not a number of seconds", f"use a number of at least 0, e.g. {default:g}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise ConfigError(
            name, raw, f"is not a whole number of at least {minimum}", f"use e.g. {default} (the default)"
        )
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "")
    value = raw.strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ConfigError(name, raw, "is not true or false", "use true or false")


def _file(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        return value
    path = Path(value)
    if not path.exists():
        raise ConfigError(name, value, "names no file", "give the path of an existing file, or leave it empty")
    if not path.is_file():
        raise ConfigError(name, value, "is not a regular file", "give the path of a file, or leave it empty")
    if not os.access(path, os.R_OK):
        raise ConfigError(name, value, "is not readable by this user", "make it readable (chmod) or give another file")
    return value


def shown_url(url: str) -> str:
    """A URL fit for a message: its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _database_url(value: str) -> str:
    """The PostgreSQL URL in DISTRIBUTION_DB, or "" for a file path (SQLite)."""
    if not value.startswith(("postgresql://", "postgres://")):
        return ""
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        _ = parts.port
    except ValueError:
        raise ConfigError(
            "DISTRIBUTION_DB", NOT_SHOWN, "is not a valid postgresql:// URL", "use e.g. postgresql://user@host:5432/db"
        ) from None
    if not hostname and "host=" not in parts.query:
        raise ConfigError(
            "DISTRIBUTION_DB", shown_url(value), "names no server in its postgresql:// URL",
            "use e.g. postgresql://user@host:5432/db",
        )
    return value


def _leases(env: Mapping[str, str]) -> LeasePolicy:
    """DISTRIBUTION_LEASE_SECONDS: how long a replica's hold on a running publish lasts
    unless renewed; renewed every third of it. A dead replica's publishes are taken over
    after at most this long plus a sweep (every second, or a fifth of it if shorter)."""
    ttl = _seconds(env, "DISTRIBUTION_LEASE_SECONDS", LeasePolicy.ttl)
    if ttl < 1.0:
        raise ConfigError(
            "DISTRIBUTION_LEASE_SECONDS", env.get("DISTRIBUTION_LEASE_SECONDS", ""), "is less than 1 second",
            f"use at least 1, e.g. {LeasePolicy.ttl:g} (the default)",
        )
    return LeasePolicy(ttl=ttl, renew_every=ttl / 3, sweep_every=min(LeasePolicy.sweep_every, ttl / 5))


def _late_facts(env: Mapping[str, str]) -> ReconcileSchedule:
    """DISTRIBUTION_LATE_FACT_DELAY: seconds after a run ends before the reconciler first
    looks for what the run left pending (a permalink, TikTok's post id, a first comment whose
    outcome a crash left unknown); later looks back off from it."""
    default = ReconcileSchedule()
    first = _seconds(env, "DISTRIBUTION_LATE_FACT_DELAY", default.first_delay)
    if first < 0.1:
        raise ConfigError(
            "DISTRIBUTION_LATE_FACT_DELAY", env.get("DISTRIBUTION_LATE_FACT_DELAY", ""), "is less than 0.1 second",
            f"use at least 0.1, e.g. {default.first_delay:g} (the default)",
        )
    return dataclasses.replace(default, first_delay=first)


def _schedule(env: Mapping[str, str]) -> SchedulePolicy:
    """DISTRIBUTION_SCHEDULE_TOLERANCE, _HORIZON and _MAX_LATENESS, in seconds."""
    default = SchedulePolicy()
    tolerance = _seconds(env, "DISTRIBUTION_SCHEDULE_TOLERANCE", default.tolerance.total_seconds())
    if tolerance > 60:
        raise ConfigError(
            "DISTRIBUTION_SCHEDULE_TOLERANCE", env.get("DISTRIBUTION_SCHEDULE_TOLERANCE", ""),
            "is more than 60 seconds", f"use a few seconds, e.g. {default.tolerance.total_seconds():g} (the default)",
        )
    horizon = _seconds(env, "DISTRIBUTION_SCHEDULE_HORIZON", default.horizon.total_seconds())
    if horizon <= tolerance:
        raise ConfigError(
            "DISTRIBUTION_SCHEDULE_HORIZON", env.get("DISTRIBUTION_SCHEDULE_HORIZON", ""),
            f"is not beyond DISTRIBUTION_SCHEDULE_TOLERANCE ({tolerance:g} s)",
            f"use seconds, e.g. {default.horizon.total_seconds():g} (365 days, the default)",
        )
    lateness = _seconds(env, "DISTRIBUTION_SCHEDULE_MAX_LATENESS", default.max_lateness.total_seconds())
    return SchedulePolicy(
        tolerance=timedelta(seconds=tolerance), horizon=timedelta(seconds=horizon),
        max_lateness=timedelta(seconds=lateness),
    )


def _db_path(env: Mapping[str, str]) -> Path:
    raw = env.get("DISTRIBUTION_DB", str(Settings.db_path))
    value = raw.strip()
    if not value:
        raise ConfigError(
            "DISTRIBUTION_DB", raw, "is empty",
            f"give a file path (SQLite), e.g. {Settings.db_path}, or a postgresql:// URL",
        )
    if Path(value).is_dir():
        raise ConfigError(
            "DISTRIBUTION_DB", value, "is a directory", f"name a file in it, e.g. {Path(value) / 'distribution.db'}"
        )
    return Path(value)


def check_secure(settings: Settings, auth_enabled: bool) -> None:
    """Secure by default: no open service on a non-loopback address unless explicitly allowed."""
    if auth_enabled or settings.allow_insecure:
        return
    if settings.http_listen != OFF and not is_loopback(settings.http_listen):
        raise ConfigError(
            "DISTRIBUTION_HTTP_LISTEN",
            settings.http_listen,
            "is not a loopback address and the service would run without authentication",
            "configure DISTRIBUTION_API_KEYS, DISTRIBUTION_API_KEYS_FILE or mutual TLS "
            "(DISTRIBUTION_TLS_CLIENT_CA), set DISTRIBUTION_HTTP_LISTEN=off, or set DISTRIBUTION_ALLOW_INSECURE=true",
        )
    if settings.is_loopback():
        return
    raise ConfigError(
        "DISTRIBUTION_LISTEN",
        settings.listen,
        "is not a loopback address and the service would run without authentication",
        "configure DISTRIBUTION_API_KEYS, DISTRIBUTION_API_KEYS_FILE or mutual TLS "
        "(DISTRIBUTION_TLS_CLIENT_CA), or set DISTRIBUTION_ALLOW_INSECURE=true",
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads DISTRIBUTION_* variables; raises ConfigError on the first bad one."""
    env = os.environ if env is None else env
    database_url = _database_url(env.get("DISTRIBUTION_DB", "").strip())
    db = Settings.db_path if database_url else _db_path(env)
    instagram_api_base = _api_base(env, "DISTRIBUTION_INSTAGRAM_API_BASE", "https://graph.facebook.com/v23.0")
    tiktok_api_base = _api_base(env, "DISTRIBUTION_TIKTOK_API_BASE", "https://open.tiktokapis.com")
    settings = Settings(
        listen=_address(env, "DISTRIBUTION_LISTEN", Settings.listen, Settings.listen),
        db_path=db,
        database_url=database_url,
        db_pool_size=_whole(env, "DISTRIBUTION_DB_POOL_SIZE", Settings.db_pool_size),
        instagram_api_base=instagram_api_base,
        tiktok_api_base=tiktok_api_base,
        tiktok_client_key=env.get("DISTRIBUTION_TIKTOK_CLIENT_KEY", ""),
        tiktok_client_secret=env.get("DISTRIBUTION_TIKTOK_CLIENT_SECRET", ""),
        shutdown_grace=_seconds(env, "DISTRIBUTION_SHUTDOWN_GRACE", Settings.shutdown_grace),
        sandbox_processing_delay=_seconds(
            env, "DISTRIBUTION_SANDBOX_PROCESSING_DELAY", Settings.sandbox_processing_delay
        ),
        log_level=_choice(env, "DISTRIBUTION_LOG_LEVEL", Settings.log_level, ("DEBUG", "INFO", "WARNING", "ERROR")),
        event_loop=_choice(env, "DISTRIBUTION_EVENT_LOOP", Settings.event_loop, ("uvloop", "asyncio")),
        secret_keys=env.get("DISTRIBUTION_SECRET_KEYS", ""),
        api_keys=env.get("DISTRIBUTION_API_KEYS", ""),
        api_keys_file=_file(env, "DISTRIBUTION_API_KEYS_FILE"),
        tls_cert=_file(env, "DISTRIBUTION_TLS_CERT"),
        tls_key=_file(env, "DISTRIBUTION_TLS_KEY"),
        tls_client_ca=_file(env, "DISTRIBUTION_TLS_CLIENT_CA"),
        tls_client_workspaces=env.get("DISTRIBUTION_TLS_CLIENT_WORKSPACES", ""),
        allow_insecure=_flag(env, "DISTRIBUTION_ALLOW_INSECURE"),
        metrics_listen=_address(
            env, "DISTRIBUTION_METRICS_LISTEN", Settings.metrics_listen, Settings.metrics_listen, can_be_off=True
        ),
        health_listen=_address(env, "DISTRIBUTION_HEALTH_LISTEN", OFF, "127.0.0.1:8086", can_be_off=True),
        http_listen=_address(env, "DISTRIBUTION_HTTP_LISTEN", HTTP_LISTEN, HTTP_LISTEN, can_be_off=True),
        max_concurrent_per_caller=_whole(
            env, "DISTRIBUTION_MAX_CONCURRENT_PER_CALLER", Settings.max_concurrent_per_caller
        ),
        leases=_leases(env),
        late_facts=_late_facts(env),
        list_cache_entries=_whole(env, "DISTRIBUTION_LIST_CACHE_ENTRIES", Settings.list_cache_entries, minimum=0),
        media_fetch=_media_fetch(env, instagram_api_base, tiktok_api_base),
        media_fetch_timeout=_media_fetch_timeout(env),
        media_fetch_max_bytes=_whole(
            env, "DISTRIBUTION_MEDIA_FETCH_MAX_BYTES", Settings.media_fetch_max_bytes, minimum=1024
        ),
        media_fetch_concurrency=_whole(env, "DISTRIBUTION_MEDIA_FETCH_CONCURRENCY", Settings.media_fetch_concurrency),
        media_fetch_allow=_media_fetch_allow(env),
        media_inspection_max_age=_seconds(
            env, "DISTRIBUTION_MEDIA_INSPECTION_MAX_AGE", Settings.media_inspection_max_age
        ),
        secret_key_file=Path(env.get("DISTRIBUTION_SECRET_KEY_FILE", "").strip() or db.parent / "secret.key"),
        schedule=_schedule(env),
        stream=_stream(env),
        webhooks=_webhooks(env),
        webhook_timeout=_seconds(env, "DISTRIBUTION_WEBHOOK_TIMEOUT", Settings.webhook_timeout) or 10.0,
        webhook_allow=_media_fetch_allow(env, "DISTRIBUTION_WEBHOOK_ALLOW"),
        webhook_allow_http=_flag(env, "DISTRIBUTION_WEBHOOK_ALLOW_HTTP"),
    )
    if database_url and not (settings.secret_keys.strip() or env.get("DISTRIBUTION_SECRET_KEY_FILE", "").strip()):
        # Replicas must all open the tokens: a key file made by one of them would not do.
        raise ConfigError(
            "DISTRIBUTION_DB", shown_url(database_url), "is PostgreSQL, whose replicas must share the sealing keys",
            "set DISTRIBUTION_SECRET_KEYS (or DISTRIBUTION_SECRET_KEY_FILE) to the keys every replica uses",
        )
    if settings.tls_cert and not settings.tls_key:
        raise ConfigError(
            "DISTRIBUTION_TLS_CERT", settings.tls_cert, "is set without DISTRIBUTION_TLS_KEY",
            "set DISTRIBUTION_TLS_KEY to the certificate's private key file, or unset both",
        )
    if settings.tls_key and not settings.tls_cert:
        raise ConfigError(
            "DISTRIBUTION_TLS_KEY", settings.tls_key, "is set without DISTRIBUTION_TLS_CERT",
            "set DISTRIBUTION_TLS_CERT to the server certificate file, or unset both",
        )
    if settings.tls_client_ca and not settings.tls_cert:
        raise ConfigError(
            "DISTRIBUTION_TLS_CLIENT_CA", settings.tls_client_ca, "(mutual TLS) needs TLS",
            "set DISTRIBUTION_TLS_CERT and DISTRIBUTION_TLS_KEY too",
        )
    if settings.tls_client_workspaces.strip() and not settings.tls_client_ca:
        raise ConfigError(
            "DISTRIBUTION_TLS_CLIENT_WORKSPACES", settings.tls_client_workspaces,
            "maps client certificates, but mutual TLS is off",
            "set DISTRIBUTION_TLS_CLIENT_CA to the CA that signs client certificates, or unset it",
        )
    return settings


# --- what an address or a path the settings name turned out to be ---------------------------


def address_error(variable: str, address: str, err: OSError, *, can_be_off: bool = False) -> StartError:
    """A StartError for an address that could not be listened on, from the OS error."""
    off = f", or set {variable}={OFF}" if can_be_off else ""
    if isinstance(err, socket.gaierror):
        return StartError(
            variable, address, f"names a host that cannot be resolved ({err.strerror})",
            f"use an IP address or a resolvable host name{off}",
        )
    if err.errno == errno.EADDRINUSE:
        return StartError(
            variable, address, "is already in use by another process",
            f"stop that process or choose a free port{off}",
        )
    if err.errno == errno.EACCES:
        return StartError(
            variable, address, "may not be listened on by this user (ports below 1024 need privileges)",
            f"choose a port above 1023{off}",
        )
    if err.errno == errno.EADDRNOTAVAIL:
        return StartError(
            variable, address, "is not an address of this machine",
            f"use one of its addresses, 127.0.0.1, or 0.0.0.0 for all of them{off}",
        )
    reason = err.strerror or str(err)
    return StartError(variable, address, f"cannot be listened on ({reason})", f"choose another HOST:PORT{off}")


def path_error(variable: str, path: Path | str, err: OSError | str, fix: str) -> StartError:
    """A StartError for a file the settings name that could not be created, read or opened."""
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename and str(err.filename) != str(path) else ""
        reason = f"{err.strerror or err}{where}"
    else:
        reason = err
    return StartError(variable, str(path), f"cannot be used ({reason})", fix)
