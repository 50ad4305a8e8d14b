"""The service's settings: read once from the environment at start (`load_settings`, a loop
over the table in table.py), or built in code with the same defaults (`Settings()`).

Every default runs the service on loopback against the built-in sandbox emulators, so
`make run` needs no configuration.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.adapters.tiktok import RateLimits
from server.config.errors import OFF, ConfigError, shown_url
from server.config.parsers import SANDBOX
from server.config.table import DEFAULT_DB, SETTINGS, default
from server.domain.health import HealthPolicy
from server.domain.schedule import SchedulePolicy
from server.services.events import StreamPolicy
from server.services.webhooks import WebhookPolicy
from server.services.workflow.polling import (
    INSTAGRAM_CONTAINERS,
    INSTAGRAM_REELS,
    TIKTOK_STATUS,
    PollPolicy,
    ReconcileSchedule,
)
from server.services.workflow.retry import DEFAULT_RETRY, RetryPolicy
from server.services.workflow.runner import LeasePolicy


@dataclass(frozen=True)
class Settings:
    """What the service runs with. The fields read from the environment take their defaults
    from the settings table (server/config/table.py, docs/configuration.md); the policies
    are assembled from the table's values (`leases` from DISTRIBUTION_LEASE_SECONDS, ...);
    the rest are set only in code (tests and benchmarks shorten them)."""

    listen: str = default("listen")
    # DISTRIBUTION_DB: a file path (SQLite) in db_path, or a postgresql:// URL in database_url.
    db_path: Path = Path(DEFAULT_DB)
    database_url: str = ""
    db_pool_size: int = default("db_pool_size")
    instagram_api_base: str = default("instagram_api_base")
    tiktok_api_base: str = default("tiktok_api_base")
    tiktok_client_key: str = default("tiktok_client_key")
    tiktok_client_secret: str = default("tiktok_client_secret")
    tiktok_auth_base: str = default("tiktok_auth_base")
    tiktok_pkce: str = default("tiktok_pkce")
    instagram_app_id: str = default("instagram_app_id")
    instagram_app_secret: str = default("instagram_app_secret")
    instagram_auth_base: str = default("instagram_auth_base")
    instagram_oauth_base: str = default("instagram_oauth_base")
    connect_state_ttl: float = default("connect_state_ttl")
    connect_redirect_uris: str = default("connect_redirect_uris")
    tiktok_require_creator_consent: bool = default("tiktok_require_creator_consent")
    tiktok_require_caption_fits_title: bool = default("tiktok_require_caption_fits_title")
    tiktok_require_disable_comment: bool = default("tiktok_require_disable_comment")
    tiktok_upload_chunk_bytes: int = default("tiktok_upload_chunk_bytes")
    shutdown_grace: float = default("shutdown_grace")
    sandbox_processing_delay: float = default("sandbox_processing_delay")
    log_level: str = default("log_level")
    event_loop: str = default("event_loop")
    secret_keys: str = default("secret_keys")
    # None: `secret.key` beside the SQLite database (see `key_file`).
    secret_key_file: Path | None = default("secret_key_file")
    api_keys: str = default("api_keys")
    api_keys_file: str = default("api_keys_file")
    tls_cert: str = default("tls_cert")
    tls_key: str = default("tls_key")
    tls_client_ca: str = default("tls_client_ca")
    tls_client_workspaces: str = default("tls_client_workspaces")
    allow_insecure: bool = default("allow_insecure")
    max_concurrent_per_caller: int = default("max_concurrent_per_caller")
    list_cache_entries: int = default("list_cache_entries")
    metrics_listen: str = default("metrics_listen")
    health_listen: str = default("health_listen")
    http_listen: str = default("http_listen")
    console: bool = default("console")
    http_allowed_hosts: tuple[str, ...] = default("http_allowed_hosts")
    # "auto", "direct", "sandbox" or "off"; `media_fetch_mode` resolves "auto".
    media_fetch: str = default("media_fetch")
    media_fetch_timeout: float = default("media_fetch_timeout")
    media_fetch_max_bytes: int = default("media_fetch_max_bytes")
    media_fetch_concurrency: int = default("media_fetch_concurrency")
    media_fetch_allow: tuple[str, ...] = default("media_fetch_allow")
    media_inspection_max_age: float = default("media_inspection_max_age")
    webhook_timeout: float = default("webhook_timeout")
    webhook_allow: tuple[str, ...] = default("webhook_allow")
    webhook_allow_http: bool = default("webhook_allow_http")
    # Assembled from several rows of the table (see `_policies`).
    leases: LeasePolicy = LeasePolicy()
    late_facts: ReconcileSchedule = ReconcileSchedule()
    schedule: SchedulePolicy = SchedulePolicy()
    stream: StreamPolicy = field(default_factory=StreamPolicy)
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    account_health: HealthPolicy = HealthPolicy()
    # TikTok's per-token request limits (kept by waiting), with DISTRIBUTION_TIKTOK_PACING_MARGIN.
    tiktok_rate_limits: RateLimits = RateLimits()
    # Set only in code: how often platform processing is polled, the backoff for transient
    # platform errors, and how often a replica looks for schedules other replicas recorded
    # (its own wake it at their time).
    instagram_poll: PollPolicy = INSTAGRAM_CONTAINERS
    instagram_reel_poll: PollPolicy = INSTAGRAM_REELS
    tiktok_poll: PollPolicy = TIKTOK_STATUS
    retry: RetryPolicy = DEFAULT_RETRY
    schedule_sweep_every: float = 5.0

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def key_file(self) -> Path:
        """Where the sealing keys are kept when DISTRIBUTION_SECRET_KEYS is empty."""
        return self.secret_key_file or self.db_path.parent / "secret.key"

    @property
    def media_fetch_mode(self) -> str:
        """How media bytes are read: "auto" is the sandbox media host while both platforms
        are the sandbox (a real platform never gets a made-up inspection), else direct."""
        if self.media_fetch != "auto":
            return self.media_fetch
        return SANDBOX if self.instagram_api_base == SANDBOX and self.tiktok_api_base == SANDBOX else "direct"

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads every DISTRIBUTION_* variable of the table; raises ConfigError on the first bad
    one, then on settings that do not fit together."""
    env = os.environ if env is None else env
    values = {setting.key: setting.read(env) for setting in SETTINGS}
    _check_together(values, env)
    database = values.pop("db")
    is_url = database.startswith(("postgresql://", "postgres://"))
    policies = _policies(values)
    secret_key_file = values.pop("secret_key_file")
    return Settings(
        db_path=Path(DEFAULT_DB if is_url else database),
        database_url=database if is_url else "",
        secret_key_file=secret_key_file,
        **policies,
        **values,
    )


def _policies(values: dict[str, Any]) -> dict[str, Any]:
    """The policies assembled from their rows (removed from `values`)."""
    ttl = values.pop("lease_seconds")
    retention = timedelta(days=values.pop("event_retention_days"))
    return {
        "tiktok_rate_limits": RateLimits(margin=values.pop("tiktok_pacing_margin")),
        "account_health": HealthPolicy(
            expiring_within=timedelta(days=values.pop("account_expiry_warning_days")),
            quota_low_remaining=values.pop("account_quota_low_remaining"),
            check_every=values.pop("account_check_seconds"),
        ),
        # Renewed every third of its life; a dead replica's publishes are looked for every
        # second, or every fifth of the lease if that is shorter.
        "leases": LeasePolicy(ttl=ttl, renew_every=ttl / 3, sweep_every=min(LeasePolicy.sweep_every, ttl / 5)),
        "late_facts": dataclasses.replace(ReconcileSchedule(), first_delay=values.pop("late_fact_delay")),
        "schedule": SchedulePolicy(
            tolerance=timedelta(seconds=values.pop("schedule_tolerance")),
            horizon=timedelta(seconds=values.pop("schedule_horizon")),
            max_lateness=timedelta(seconds=values.pop("schedule_max_lateness")),
        ),
        "stream": StreamPolicy(retention=retention, buffer=values.pop("watch_buffer")),
        "webhooks": WebhookPolicy(
            retry_scale=values.pop("webhook_retry_scale"),
            disable_window=timedelta(days=values.pop("webhook_disable_after_days")),
            concurrency=values.pop("webhook_concurrency"),
            per_webhook=values.pop("webhook_concurrency_per_webhook"),
            secret_overlap=timedelta(hours=values.pop("webhook_secret_overlap_hours")),
            per_workspace=values.pop("webhooks_per_workspace"),
            # Redelivery reaches as far back as events are kept.
            redelivery_window=retention,
            claim_seconds=max(30.0, 3 * values["webhook_timeout"]),
        ),
    }


def _check_together(v: Mapping[str, Any], env: Mapping[str, str]) -> None:
    """Settings each well-formed alone that do not fit together."""
    tolerance, horizon = v["schedule_tolerance"], v["schedule_horizon"]
    if horizon <= tolerance:
        raise ConfigError(
            "DISTRIBUTION_SCHEDULE_HORIZON", env.get("DISTRIBUTION_SCHEDULE_HORIZON", ""),
            f"is not beyond DISTRIBUTION_SCHEDULE_TOLERANCE ({tolerance:g} s)",
            f"use seconds, e.g. {default('schedule_horizon'):g} (365 days, the default)",
        )
    database = v["db"]
    if database.startswith(("postgresql://", "postgres://")) and not (v["secret_keys"] or v["secret_key_file"]):
        # Replicas must all open the tokens: a key file made by one of them would not do.
        raise ConfigError(
            "DISTRIBUTION_DB", shown_url(database), "is PostgreSQL, whose replicas must share the sealing keys",
            "set DISTRIBUTION_SECRET_KEYS (or DISTRIBUTION_SECRET_KEY_FILE) to the keys every replica uses",
        )
    if v["tls_cert"] and not v["tls_key"]:
        raise ConfigError(
            "DISTRIBUTION_TLS_CERT", v["tls_cert"], "is set without DISTRIBUTION_TLS_KEY",
            "set DISTRIBUTION_TLS_KEY to the certificate's private key file, or unset both",
        )
    if v["tls_key"] and not v["tls_cert"]:
        raise ConfigError(
            "DISTRIBUTION_TLS_KEY", v["tls_key"], "is set without DISTRIBUTION_TLS_CERT",
            "set DISTRIBUTION_TLS_CERT to the server certificate file, or unset both",
        )
    if v["tls_client_ca"] and not v["tls_cert"]:
        raise ConfigError(
            "DISTRIBUTION_TLS_CLIENT_CA", v["tls_client_ca"], "(mutual TLS) needs TLS",
            "set DISTRIBUTION_TLS_CERT and DISTRIBUTION_TLS_KEY too",
        )
    if v["tls_client_workspaces"] and not v["tls_client_ca"]:
        raise ConfigError(
            "DISTRIBUTION_TLS_CLIENT_WORKSPACES", v["tls_client_workspaces"],
            "maps client certificates, but mutual TLS is off",
            "set DISTRIBUTION_TLS_CLIENT_CA to the CA that signs client certificates, or unset it",
        )


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
