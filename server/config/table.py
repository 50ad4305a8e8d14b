"""Every DISTRIBUTION_* setting, once: its variable, the name of its value, how it is read,
its default, what it means and whether it is a secret.

`load_settings` is a loop over this table, the `Settings` dataclass takes its defaults from
it, and `docs/configuration.md` is generated from it (`make generate`; `make test` fails
when the page is stale). A new setting is one row here and, where the service reads it, a
field of `Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from server.adapters.tiktok import RateLimits
from server.config.errors import OFF
from server.config.parsers import (
    SANDBOX,
    Address,
    ApiBase,
    Choice,
    Database,
    FilePath,
    Flag,
    HostList,
    Number,
    ReadableFile,
    Text,
    Whole,
    shown,
)
from server.domain.health import HealthPolicy
from server.domain.schedule import SchedulePolicy
from server.services.events import StreamPolicy
from server.services.webhooks import WebhookPolicy
from server.services.workflow.polling import ReconcileSchedule
from server.services.workflow.runner import LeasePolicy

DEFAULT_DB = "var/distribution.db"
MEDIA_FETCH_MODES = ("auto", "direct", "sandbox", "off")


class Parser(Protocol):
    def parse(self, name: str, raw: str, default: Any) -> Any: ...

    def bounds(self) -> str: ...


@dataclass(frozen=True)
class Setting:
    """One variable. `key`: the name its value has in `Settings` (or, for the parts of a
    policy, in the policy assembled from them). `default`: the value an unset or empty
    variable takes; `shown_default`: how the page writes it where the value is derived."""

    env: str
    key: str
    parse: Parser
    default: Any
    meaning: str
    section: str
    secret: bool = False
    shown_default: str = ""

    @property
    def default_text(self) -> str:
        if self.shown_default:
            return self.shown_default
        return f"`{shown(self.default)}`" if shown(self.default) != "" else "(empty)"

    def read(self, env: Any) -> Any:
        raw = env.get(self.env)
        if raw is None:
            return self.default
        text = raw.strip()
        if not text:
            if isinstance(self.parse, Database):
                raise self.parse.empty(self.env, raw)
            return self.default
        return self.parse.parse(self.env, text, self.default)


SERVICE, STORE, PLATFORMS, SECURITY, MEDIA, SCHEDULING, EVENTS = (
    "Service", "Store and replicas", "Platforms", "Security", "Media inspection", "Scheduling", "Events and webhooks",
)  # fmt: skip
SECTIONS = (SERVICE, STORE, PLATFORMS, SECURITY, MEDIA, SCHEDULING, EVENTS)

SETTINGS: tuple[Setting, ...] = (
    # --- the service ---------------------------------------------------------------------
    Setting(
        "DISTRIBUTION_LISTEN", "listen", Address("127.0.0.1:50051"), "127.0.0.1:50051",
        "The gRPC address. An address another process holds refuses the start (no port sharing); "
        "a non-loopback address needs authentication (see security.md).", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_HTTP_LISTEN", "http_listen", Address("127.0.0.1:8080", can_be_off=True), "127.0.0.1:8080",
        "The HTTP/JSON gateway's address, or `off`. Same TLS files and API keys as the gRPC port; "
        "a non-loopback address needs authentication.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_CONSOLE", "console", Flag(), True,
        "Whether the HTTP gateway serves the console for people at `/console/` (static files that call the "
        "HTTP API with the caller's own key; see console.md). `false` serves none.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_METRICS_LISTEN", "metrics_listen", Address("127.0.0.1:9464", can_be_off=True), "127.0.0.1:9464",
        "Where Prometheus metrics are served (`/metrics`), or `off`.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_HEALTH_LISTEN", "health_listen", Address("127.0.0.1:8086", can_be_off=True), OFF,
        "A second, plaintext gRPC address serving only `grpc.health.v1`, for probes that hold no client "
        "certificate (see security.md), or `off`.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_SHUTDOWN_GRACE", "shutdown_grace", Number(), 10.0,
        "Seconds in-flight calls and publishes get after SIGTERM or SIGINT; a publish not done by then is "
        "handed back and resumed at the next start (or by another replica).", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_LOG_LEVEL", "log_level", Choice(("DEBUG", "INFO", "WARNING", "ERROR")), "INFO",
        "The least level logged. `DEBUG` shows each platform call.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_EVENT_LOOP", "event_loop", Choice(("uvloop", "asyncio")), "uvloop",
        "The asyncio event loop; uvloop spends less CPU per call.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_MAX_CONCURRENT_PER_CALLER", "max_concurrent_per_caller", Whole(), 256,
        "Calls one workspace may have in flight; beyond that it gets RESOURCE_EXHAUSTED with RetryInfo "
        "while other workspaces are served.", SERVICE,
    ),
    Setting(
        "DISTRIBUTION_LIST_CACHE_ENTRIES", "list_cache_entries", Whole(minimum=0), 10_000,
        "Rendered publishes kept for ListPublishes pages, each until its record changes (about 0.8 KB "
        "each); `0` keeps none.", SERVICE,
    ),
    # --- the store -----------------------------------------------------------------------
    Setting(
        "DISTRIBUTION_DB", "db", Database(DEFAULT_DB), DEFAULT_DB,
        "A file path: SQLite (one process), its directory created if missing, also holding the default "
        "key file and the sandbox emulators' state files. A `postgresql://` URL: PostgreSQL, for several "
        "replicas (see replicas.md; a password in it is never shown). Set but empty is refused.", STORE,
    ),
    Setting(
        "DISTRIBUTION_DB_POOL_SIZE", "db_pool_size", Whole(), 10,
        "PostgreSQL: the most connections one replica opens (plus one that listens for changes).", STORE,
    ),
    Setting(
        "DISTRIBUTION_LEASE_SECONDS", "lease_seconds", Number(minimum=1.0, too_small="is less than 1 second"),
        LeasePolicy.ttl,
        "How long a replica's hold on a running publish lasts unless renewed (it is renewed every third "
        "of it). A dead replica's publishes are taken over after at most this plus a second.", STORE,
    ),
    Setting(
        "DISTRIBUTION_LATE_FACT_DELAY", "late_fact_delay", Number(minimum=0.1, too_small="is less than 0.1 second"),
        ReconcileSchedule.first_delay,
        "Seconds after a run ends before the reconciler first asks for what it left pending (an Instagram "
        "permalink, TikTok's post id, a first comment whose outcome a crash left unknown); later asks back "
        "off from it, doubling up to 30 minutes.", STORE,
    ),
    # --- the platforms -------------------------------------------------------------------
    Setting(
        "DISTRIBUTION_INSTAGRAM_API_BASE", "instagram_api_base", ApiBase("https://graph.facebook.com/v23.0"), SANDBOX,
        "`sandbox` starts the built-in Graph API emulator in the service's process; otherwise the Graph "
        "API's base URL with its version.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_API_BASE", "tiktok_api_base", ApiBase("https://open.tiktokapis.com"), SANDBOX,
        "`sandbox` starts the built-in TikTok emulator in the service's process; otherwise TikTok's API "
        "base URL.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_CLIENT_KEY", "tiktok_client_key", Text("the app's client key"), "",
        "The TikTok app's client key, sent with the refresh grant to renew access tokens and used by "
        "StartAccountConnection (empty with a `sandbox` API base: the sandbox's app).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_CLIENT_SECRET", "tiktok_client_secret", Text("the app's client secret"), "",
        "The TikTok app's client secret, sent with the refresh grant and the connect flow's code exchange.",
        PLATFORMS, secret=True,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_AUTH_BASE", "tiktok_auth_base", ApiBase("https://www.tiktok.com"), "",
        "Where TikTok's consent screen lives (its `/v2/auth/authorize/`), for StartAccountConnection.", PLATFORMS,
        shown_default="`https://www.tiktok.com` (the sandbox's with a `sandbox` API base)",
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_PKCE", "tiktok_pkce", Choice(("off", "s256", "hex")), "off",
        "PKCE in TikTok's connect flow, which TikTok asks of desktop and mobile apps: `s256` sends RFC 7636's "
        "base64url SHA-256 code_challenge, `hex` the same digest in hexadecimal as TikTok's desktop guide "
        "shows; `off` (web apps) sends none. The code_verifier never leaves the service but for the "
        "token exchange.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_INSTAGRAM_APP_ID", "instagram_app_id", Text("the Instagram app id"), "",
        "The Instagram app's id (Business Login for Instagram), for StartAccountConnection (empty with a "
        "`sandbox` API base: the sandbox's app).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_INSTAGRAM_APP_SECRET", "instagram_app_secret", Text("the Instagram app secret"), "",
        "The Instagram app's secret, sent with the connect flow's code and long-lived token exchanges.",
        PLATFORMS, secret=True,
    ),
    Setting(
        "DISTRIBUTION_INSTAGRAM_AUTH_BASE", "instagram_auth_base", ApiBase("https://www.instagram.com"), "",
        "Where Instagram's consent screen lives (its `/oauth/authorize`), for StartAccountConnection.", PLATFORMS,
        shown_default="`https://www.instagram.com` (the sandbox's with a `sandbox` API base)",
    ),
    Setting(
        "DISTRIBUTION_INSTAGRAM_OAUTH_BASE", "instagram_oauth_base", ApiBase("https://api.instagram.com"), "",
        "Where Instagram exchanges an authorization code (its `/oauth/access_token`). The long-lived token "
        "and the profile are read on DISTRIBUTION_INSTAGRAM_API_BASE's host, which connected accounts need "
        "to be `https://graph.instagram.com/<version>`.", PLATFORMS,
        shown_default="`https://api.instagram.com` (the sandbox's with a `sandbox` API base)",
    ),
    Setting(
        "DISTRIBUTION_CONNECT_STATE_TTL", "connect_state_ttl", Number(minimum=1.0, too_small="is less than a second"),
        600.0,
        "Seconds a StartAccountConnection's `state` may be completed in; later it is refused as expired.",
        PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_CONNECT_REDIRECT_URIS", "connect_redirect_uris", Text("comma-separated URL prefixes"), "",
        "Redirect URIs StartAccountConnection takes (each must start with one of these), e.g. "
        "`https://app.example.com/oauth/`. Empty: any https URL, or http on a loopback host.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT", "tiktok_require_creator_consent", Flag(), False,
        "`true` refuses a TikTok direct post whose caller does not set `creator_consent_obtained: true` "
        "(FAILED_PRECONDITION, TIKTOK_CONSENT_REQUIRED), for an app whose TikTok review asks for it. Off, "
        "such a post is made, as the spec says, and the record keeps what was declared (see api.md, post "
        "options).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_REQUIRE_CAPTION_FITS_TITLE", "tiktok_require_caption_fits_title", Flag(), False,
        "`true` refuses a TikTok caption longer than TikTok's title holds (90 UTF-16 code units: most emoji "
        "count 2) with INVALID_ARGUMENT naming `caption`. Off, any caption of up to 90 characters is taken, as "
        "the spec says: one too long for the title is sent whole as the description, with a title cut from it "
        "(see platforms.md, TikTok caption length).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_REQUIRE_DISABLE_COMMENT", "tiktok_require_disable_comment", Flag(), False,
        "`true` refuses a TikTok direct post that leaves comments on (no `disable_comment: true`) when the "
        "creator turned comments off for their account (FAILED_PRECONDITION, "
        "TIKTOK_COMMENTS_DISABLED_BY_CREATOR). Off, such a post is made, as the spec says, with "
        "`disable_comment: true` sent and the record saying why (see api.md, post options).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_PACING_MARGIN", "tiktok_pacing_margin", Number(maximum=60.0), RateLimits.margin,
        "Seconds added to TikTok's one-minute windows when pacing calls per token (6 inits, 20 creator_info, "
        "30 status reads a minute): TikTok counts a call when it arrives, later than it was let go, so a burst "
        "paced to the exact minute can still draw `rate_limit_exceeded`. The default covers a slow connection "
        "to TikTok; raise it when `distribution_platform_rate_limited_total` grows (see platforms.md, TikTok "
        "rate limits).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_ACCOUNT_CHECK_SECONDS", "account_check_seconds", Number(), HealthPolicy.check_every,
        "How often each connected account's health is checked in the background (one replica checks each): "
        "a token that would expire before the next check is refreshed, Instagram's publishing quota or "
        "TikTok's creator_info is read, and a failure is recorded (see accounts.md, Account health). `0` "
        "checks none; the health shown then comes from publishes alone.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_ACCOUNT_EXPIRY_WARNING_DAYS", "account_expiry_warning_days", Number(unit="days"),
        HealthPolicy.expiring_within.days,
        "An account shows health `EXPIRING` this many days before a token Distribution cannot renew "
        "expires (a TikTok refresh token, or an access token with no refresh token).", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_ACCOUNT_QUOTA_LOW_REMAINING", "account_quota_low_remaining", Whole(minimum=0),
        HealthPolicy.quota_low_remaining,
        "An Instagram account shows health `QUOTA_LOW` when at most this many API posts of its 24-hour "
        "quota are left.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_TIKTOK_UPLOAD_CHUNK_BYTES", "tiktok_upload_chunk_bytes", Whole(minimum=5 * 1024 * 1024),
        10 * 1024 * 1024,
        "Bytes per chunk when a TikTok video is uploaded (FILE_UPLOAD: a video not hosted on Google Cloud "
        "Storage). TikTok takes chunks of 5 MB to 64 MB (above 64,000,000 the chunk is 64,000,000), the final "
        "one absorbing the trailing bytes; a file no larger than one chunk goes whole. An upload holds far less "
        "than a chunk in memory: each is streamed from the media host to TikTok.", PLATFORMS,
    ),
    Setting(
        "DISTRIBUTION_SANDBOX_PROCESSING_DELAY", "sandbox_processing_delay", Number(), 1.0,
        "Seconds the built-in emulators keep a container or photo post processing.", PLATFORMS,
    ),
    # --- security ------------------------------------------------------------------------
    Setting(
        "DISTRIBUTION_API_KEYS", "api_keys", Text("`workspace=key,...`"), "",
        "API keys and the workspace each opens (keys of 16 characters or more; only their hashes are "
        "kept).", SECURITY, secret=True,
    ),
    Setting(
        "DISTRIBUTION_API_KEYS_FILE", "api_keys_file", ReadableFile(), "",
        "A file of `workspace <sha256 hex of the key>` lines, beside or instead of DISTRIBUTION_API_KEYS.", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_TLS_CERT", "tls_cert", ReadableFile(), "",
        "The server's PEM certificate chain: TLS on the gRPC and HTTP ports (needs DISTRIBUTION_TLS_KEY).", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_TLS_KEY", "tls_key", ReadableFile(), "",
        "The certificate's unencrypted PEM private key.", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_TLS_CLIENT_CA", "tls_client_ca", ReadableFile(), "",
        "The CA that signs client certificates: mutual TLS (needs TLS).", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_TLS_CLIENT_WORKSPACES", "tls_client_workspaces", Text("`common-name=workspace,...`"), "",
        "Client certificate common names that stand for a workspace without an API key (needs mutual "
        "TLS).", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_ALLOW_INSECURE", "allow_insecure", Flag(), False,
        "Allows running without authentication on a non-loopback address.", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_HTTP_ALLOWED_HOSTS", "http_allowed_hosts", HostList(), (),
        "Host names, and networks for a `Host` written as an address, that the HTTP port of a service without "
        "authentication answers besides `localhost`, `*.localhost`, loopback addresses and its listen address "
        "(e.g. `dev-box.lan,10.0.0.0/8`); any other `Host` gets 403, against DNS rebinding (see security.md). "
        "Unused with API keys or mutual TLS.", SECURITY,
    ),
    Setting(
        "DISTRIBUTION_SECRET_KEYS", "secret_keys", Text("comma-separated Fernet keys"), "",
        "Keys sealing platform tokens and webhook secrets at rest: the first seals, all open (rotation). "
        "Required with PostgreSQL, where every replica must open what the others sealed.", SECURITY, secret=True,
    ),
    Setting(
        "DISTRIBUTION_SECRET_KEY_FILE", "secret_key_file", FilePath(), None,
        "Used while DISTRIBUTION_SECRET_KEYS is empty: created with mode 0600 on the first start, refused "
        "if group or others may read it.", SECURITY, shown_default="`secret.key` beside the SQLite database",
    ),
    # --- media inspection ----------------------------------------------------------------
    Setting(
        "DISTRIBUTION_MEDIA_FETCH", "media_fetch", Choice(MEDIA_FETCH_MODES), "auto",
        "How media bytes are read for inspection: `direct` from their hosts, through the egress guard; "
        "`sandbox` from the built-in sandbox media host; `off` reads nothing (the URL's extension and the "
        "caller are believed); `auto` is `sandbox` while both API bases are `sandbox`, else `direct`.", MEDIA,
    ),
    Setting(
        "DISTRIBUTION_MEDIA_FETCH_TIMEOUT", "media_fetch_timeout",
        Number(minimum=0.0, above=True, too_small="leaves no time to fetch"), 10.0,
        "Seconds one inspection may take, redirects included; slower is UNREACHABLE.", MEDIA,
    ),
    Setting(
        "DISTRIBUTION_MEDIA_FETCH_MAX_BYTES", "media_fetch_max_bytes", Whole(minimum=1024), 1 << 20,
        "The most bytes read from one file; a header past them is TOO_LARGE. Smaller files are read whole "
        "and get a SHA-256.", MEDIA,
    ),
    Setting(
        "DISTRIBUTION_MEDIA_FETCH_CONCURRENCY", "media_fetch_concurrency", Whole(), 16,
        "Inspections at once per replica; more wait their turn.", MEDIA,
    ),
    Setting(
        "DISTRIBUTION_MEDIA_FETCH_ALLOW", "media_fetch_allow", HostList(), (),
        "Private networks or host names the direct fetch may reach (a private media host); metadata "
        "addresses stay refused.", MEDIA,
    ),
    Setting(
        "DISTRIBUTION_MEDIA_INSPECTION_MAX_AGE", "media_inspection_max_age", Number(), 3600.0,
        "Seconds an inspection stays good; a publish inspects older (or never inspected) media again "
        "first.", MEDIA,
    ),
    # --- scheduling ----------------------------------------------------------------------
    Setting(
        "DISTRIBUTION_SCHEDULE_TOLERANCE", "schedule_tolerance",
        Number(maximum=60.0, too_large="is more than 60 seconds"), SchedulePolicy.tolerance.total_seconds(),
        "A `publish_time` this close to now, either side, means now.", SCHEDULING,
    ),
    Setting(
        "DISTRIBUTION_SCHEDULE_HORIZON", "schedule_horizon", Number(), SchedulePolicy.horizon.total_seconds(),
        "Seconds: the furthest ahead a publish may be scheduled (365 days); must exceed the tolerance.", SCHEDULING,
    ),
    Setting(
        "DISTRIBUTION_SCHEDULE_MAX_LATENESS", "schedule_max_lateness", Number(),
        SchedulePolicy.max_lateness.total_seconds(),
        "Seconds: a scheduled publish found due later than this after its time (the service was down) "
        "ends MISSED instead of posting.", SCHEDULING,
    ),
    # --- events and webhooks -------------------------------------------------------------
    Setting(
        "DISTRIBUTION_EVENT_RETENTION_DAYS", "event_retention_days",
        Number(unit="days", above=True, too_small="leaves no event to resume from"),
        StreamPolicy.retention / timedelta(days=1),
        "How far back WatchPublishes resumes (`after_event_id`); older ids are OUT_OF_RANGE.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WATCH_BUFFER", "watch_buffer", Whole(), StreamPolicy.buffer,
        "Events a WatchPublishes stream reads ahead of its consumer.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_TIMEOUT", "webhook_timeout",
        Number(minimum=0.0, above=True, too_small="leaves no time for a delivery"), 10.0,
        "Seconds one webhook POST may take.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_RETRY_SCALE", "webhook_retry_scale", Number(unit="times"), WebhookPolicy.retry_scale,
        "Multiplies the webhook retry schedule (tests shrink it).", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_DISABLE_AFTER_DAYS", "webhook_disable_after_days",
        Number(unit="days", above=True, too_small="would disable a webhook at its first failure"),
        WebhookPolicy.disable_window / timedelta(days=1),
        "Days every attempt to a webhook must have failed, an unbroken run counted from its first failure "
        "(a success anywhere ends it), before the webhook is disabled; its pending deliveries then end "
        "ABANDONED.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_CONCURRENCY", "webhook_concurrency", Whole(), WebhookPolicy.concurrency,
        "Webhook POSTs in flight at once, per replica.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_CONCURRENCY_PER_WEBHOOK", "webhook_concurrency_per_webhook", Whole(),
        WebhookPolicy.per_webhook,
        "POSTs in flight at once to one webhook, counting every replica's.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_SECRET_OVERLAP_HOURS", "webhook_secret_overlap_hours", Number(unit="hours"),
        WebhookPolicy.secret_overlap / timedelta(hours=1),
        "Hours a secret replaced by RotateWebhookSecret still signs each delivery beside the new one.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOKS_PER_WORKSPACE", "webhooks_per_workspace", Whole(), WebhookPolicy.per_workspace,
        "Webhooks one workspace may have; one more is RESOURCE_EXHAUSTED (WEBHOOK_LIMIT_REACHED).", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_ALLOW", "webhook_allow", HostList(), (),
        "Private networks or host names webhook URLs may reach besides public addresses.", EVENTS,
    ),
    Setting(
        "DISTRIBUTION_WEBHOOK_ALLOW_HTTP", "webhook_allow_http", Flag(), False,
        "Allows plain-http webhook URLs (a loopback receiver in tests).", EVENTS,
    ),
)

BY_KEY = {setting.key: setting for setting in SETTINGS}


def default(key: str) -> Any:
    """The default of the setting named `key`: what `Settings` built in code holds too."""
    return BY_KEY[key].default
