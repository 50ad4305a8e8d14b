"""Versioned schema migrations for every store, from one list of versions. Append only: a
landed migration is never edited.

Each version carries the statements of each engine. SQLite stores times as ISO-8601 UTC
strings with microseconds ("...T12:00:00.000001Z"), which sort lexicographically in time
order, so (created_at, id) keyset pagination runs on plain indexes; PostgreSQL stores them
as timestamptz and the same keyset runs on the same indexes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


_SQLITE_V1 = (
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                platform TEXT NOT NULL,
                external_account_id TEXT NOT NULL,
                username TEXT NOT NULL DEFAULT '',
                state TEXT NOT NULL,
                access_token_sealed TEXT,
                refresh_token_sealed TEXT,
                access_token_expires_at TEXT,
                refresh_token_expires_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (workspace_id, platform, external_account_id)
            )
            """,
            "CREATE INDEX accounts_by_workspace ON accounts (workspace_id, created_at DESC, id DESC)",
            """
            CREATE TABLE media (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                url TEXT NOT NULL,
                mime_type TEXT NOT NULL,
                kind TEXT NOT NULL,
                storage TEXT NOT NULL,
                width INTEGER NOT NULL DEFAULT 0,
                height INTEGER NOT NULL DEFAULT 0,
                size_bytes INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX media_by_workspace ON media (workspace_id, created_at DESC, id DESC)",
            """
            CREATE TABLE publishes (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                platform TEXT NOT NULL,
                kind TEXT NOT NULL,
                account_id TEXT NOT NULL REFERENCES accounts (id),
                media_ids TEXT NOT NULL,
                caption TEXT NOT NULL DEFAULT '',
                options TEXT NOT NULL DEFAULT '{}',
                state TEXT NOT NULL,
                request_id TEXT,
                request_fingerprint TEXT,
                -- Hash of (platform, account, ordered media, caption): the duplicate guard's key.
                content_fingerprint TEXT NOT NULL DEFAULT '',
                child_container_ids TEXT NOT NULL DEFAULT '[]',
                container_id TEXT,
                ig_media_id TEXT,
                permalink TEXT,
                tiktok_publish_id TEXT,
                tiktok_post_id TEXT,
                error TEXT,
                -- The platform-changing call sent and not yet answered ("tiktok_init",
                -- "media_publish"): after a crash its outcome is unknown and it is not repeated.
                call_in_flight TEXT,
                -- Facts still expected after the publish ended (JSON list, e.g. ["permalink"]),
                -- and when the reconciler asks the platform next.
                pending_facts TEXT NOT NULL DEFAULT '[]',
                reconcile_at TEXT,
                reconcile_attempts INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                published_at TEXT
            )
            """,
            """
            CREATE UNIQUE INDEX publishes_by_request_id
                ON publishes (workspace_id, request_id) WHERE request_id IS NOT NULL
            """,
            # One index per documented ListPublishes filter, each ending in the page order, so
            # every filter's first page and any deep page (keyset) is one index range scan.
            "CREATE INDEX publishes_by_workspace ON publishes (workspace_id, created_at DESC, id DESC)",
            """
            CREATE INDEX publishes_by_account
                ON publishes (workspace_id, account_id, created_at DESC, id DESC)
            """,
            """
            CREATE INDEX publishes_by_platform
                ON publishes (workspace_id, platform, created_at DESC, id DESC)
            """,
            """
            CREATE INDEX publishes_by_state
                ON publishes (workspace_id, state, created_at DESC, id DESC)
            """,
            # Filters used together: a rare state among one platform's or one account's
            # publishes must not be found by walking all of them.
            """
            CREATE INDEX publishes_by_platform_state
                ON publishes (workspace_id, platform, state, created_at DESC, id DESC)
            """,
            """
            CREATE INDEX publishes_by_account_state
                ON publishes (workspace_id, account_id, state, created_at DESC, id DESC)
            """,
            """
            CREATE INDEX publishes_by_content
                ON publishes (workspace_id, account_id, content_fingerprint, created_at)
            """,
            """
            CREATE INDEX publishes_to_reconcile
                ON publishes (reconcile_at) WHERE reconcile_at IS NOT NULL
            """,
            """
            CREATE INDEX publishes_unfinished
                ON publishes (state) WHERE state IN ('PENDING', 'PROCESSING')
            """,
            """
            CREATE TABLE publish_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                publish_id TEXT NOT NULL REFERENCES publishes (id),
                time TEXT NOT NULL,
                type TEXT NOT NULL,
                state TEXT,
                message TEXT NOT NULL DEFAULT '',
                details TEXT NOT NULL DEFAULT '{}'
            )
            """,
            "CREATE INDEX publish_events_by_publish ON publish_events (publish_id, id)",
)

_POSTGRES_V1 = (
    """
    CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        workspace_id text NOT NULL,
        platform text NOT NULL,
        external_account_id text NOT NULL,
        username text NOT NULL DEFAULT '',
        state text NOT NULL,
        access_token_sealed text,
        refresh_token_sealed text,
        access_token_expires_at timestamptz,
        refresh_token_expires_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (workspace_id, platform, external_account_id)
    )
    """,
    "CREATE INDEX accounts_by_workspace ON accounts (workspace_id, created_at DESC, id DESC)",
    """
    CREATE TABLE media (
        id uuid PRIMARY KEY,
        workspace_id text NOT NULL,
        url text NOT NULL,
        mime_type text NOT NULL,
        kind text NOT NULL,
        storage text NOT NULL,
        width integer NOT NULL DEFAULT 0,
        height integer NOT NULL DEFAULT 0,
        size_bytes bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX media_by_workspace ON media (workspace_id, created_at DESC, id DESC)",
    """
    CREATE TABLE publishes (
        id uuid PRIMARY KEY,
        workspace_id text NOT NULL,
        platform text NOT NULL,
        kind text NOT NULL,
        account_id uuid NOT NULL REFERENCES accounts (id),
        media_ids text[] NOT NULL,
        caption text NOT NULL DEFAULT '',
        options jsonb NOT NULL DEFAULT '{}',
        state text NOT NULL,
        request_id text,
        request_fingerprint text,
        content_fingerprint text NOT NULL DEFAULT '',
        child_container_ids text[] NOT NULL DEFAULT '{}',
        container_id text,
        ig_media_id text,
        permalink text,
        tiktok_publish_id text,
        tiktok_post_id text,
        error jsonb,
        call_in_flight text,
        pending_facts text[] NOT NULL DEFAULT '{}',
        reconcile_at timestamptz,
        reconcile_attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        published_at timestamptz
    )
    """,
    """
    CREATE UNIQUE INDEX publishes_by_request_id
        ON publishes (workspace_id, request_id) WHERE request_id IS NOT NULL
    """,
    "CREATE INDEX publishes_by_workspace ON publishes (workspace_id, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_account ON publishes (workspace_id, account_id, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_platform ON publishes (workspace_id, platform, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_state ON publishes (workspace_id, state, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_platform_state ON publishes (workspace_id, platform, state, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_account_state ON publishes (workspace_id, account_id, state, created_at DESC, id DESC)",
    "CREATE INDEX publishes_by_content ON publishes (workspace_id, account_id, content_fingerprint, created_at)",
    "CREATE INDEX publishes_to_reconcile ON publishes (reconcile_at) WHERE reconcile_at IS NOT NULL",
    "CREATE INDEX publishes_unfinished ON publishes (state) WHERE state IN ('PENDING', 'PROCESSING')",
    """
    CREATE TABLE publish_events (
        id bigserial PRIMARY KEY,
        publish_id uuid NOT NULL REFERENCES publishes (id),
        time timestamptz NOT NULL,
        type text NOT NULL,
        state text,
        message text NOT NULL DEFAULT '',
        details jsonb NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX publish_events_by_publish ON publish_events (publish_id, id)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "accounts, media, publishes and their timelines", _SQLITE_V1, _POSTGRES_V1),
    Migration(
        2,
        "a revision on every publish record",
        (
            # Bumped by every change to the record, so a copy kept elsewhere (the rendered
            # messages of list pages, server/api/rendered.py) knows exactly when it is stale;
            # updated_at cannot tell two changes in the same microsecond apart.
            "ALTER TABLE publishes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
),
        ("ALTER TABLE publishes ADD COLUMN revision integer NOT NULL DEFAULT 0",),
    ),
    Migration(
        3,
        "leases: which replica's run drives a publish, and until when; shared call windows and quota readings",
        (
            "ALTER TABLE publishes ADD COLUMN owner TEXT",
            "ALTER TABLE publishes ADD COLUMN lease_until TEXT",
            "CREATE INDEX publishes_leased ON publishes (lease_until) WHERE owner IS NOT NULL",
        ),
        (
            "ALTER TABLE publishes ADD COLUMN owner text",
            "ALTER TABLE publishes ADD COLUMN lease_until timestamptz",
            # Calls let through per rate-limit key (e.g. TikTok init per token), shared by replicas.
            "CREATE TABLE rate_window_calls (key text NOT NULL, at timestamptz NOT NULL)",
            "CREATE INDEX rate_window_calls_by_key ON rate_window_calls (key, at)",
            """
            CREATE FUNCTION distribution_take_slot(slot_key text, slot_limit integer, window_seconds float8)
            RETURNS float8 LANGUAGE plpgsql AS $$
            DECLARE
                cutoff timestamptz := clock_timestamp() - make_interval(secs => window_seconds);
                used integer;
                oldest timestamptz;
            BEGIN
                -- One taker per key at a time; the lock ends with the transaction.
                PERFORM pg_advisory_xact_lock(hashtextextended(slot_key, 0));
                DELETE FROM rate_window_calls WHERE key = slot_key AND at <= cutoff;
                SELECT count(*), min(at) INTO used, oldest FROM rate_window_calls WHERE key = slot_key;
                IF used < slot_limit THEN
                    INSERT INTO rate_window_calls (key, at) VALUES (slot_key, clock_timestamp());
                    RETURN 0;
                END IF;
                RETURN greatest(extract(epoch FROM oldest - cutoff), 0.001);
            END
            $$
            """,
            """
            CREATE TABLE instagram_quota (
                account_id uuid PRIMARY KEY,
                usage integer NOT NULL,
                total integer NOT NULL,
                read_at timestamptz NOT NULL
            )
            """,
            # Every replica hears of every change to a publish (its revision moves), at commit.
            """
            CREATE FUNCTION distribution_notify_publish() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('distribution_publishes', NEW.id::text);
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER publishes_notify AFTER INSERT OR UPDATE OF revision ON publishes
                FOR EACH ROW EXECUTE FUNCTION distribution_notify_publish()
            """,
            "CREATE INDEX publishes_leased ON publishes (lease_until) WHERE owner IS NOT NULL",
        ),
    ),
    Migration(
        4,
        "what each media item's bytes are: the last inspection of its URL",
        (
            # NULL: never inspected (media fetch off, or registered before inspection existed).
            "ALTER TABLE media ADD COLUMN inspection_outcome TEXT",
            "ALTER TABLE media ADD COLUMN inspected_mime_type TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspected_width INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN inspected_height INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN inspected_size_bytes INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN content_sha256 TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspection_detail TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspected_at TEXT",
        ),
        (
            "ALTER TABLE media ADD COLUMN inspection_outcome text",
            "ALTER TABLE media ADD COLUMN inspected_mime_type text NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspected_width integer NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN inspected_height integer NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN inspected_size_bytes bigint NOT NULL DEFAULT 0",
            "ALTER TABLE media ADD COLUMN content_sha256 text NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspection_detail text NOT NULL DEFAULT ''",
            "ALTER TABLE media ADD COLUMN inspected_at timestamptz",
        ),
    ),
    Migration(
        5,
        "scheduled publishes: when each is to run and when its run started",
        (
            "ALTER TABLE publishes ADD COLUMN schedule_time TEXT",
            "ALTER TABLE publishes ADD COLUMN started_at TEXT",
            # The due claim and the timer's next wake-up read only the waiting schedules.
            "CREATE INDEX publishes_due ON publishes (schedule_time) WHERE state = 'SCHEDULED'",
            "CREATE INDEX publishes_by_schedule ON publishes (workspace_id, schedule_time)"
            " WHERE schedule_time IS NOT NULL",
        ),
        (
            "ALTER TABLE publishes ADD COLUMN schedule_time timestamptz",
            "ALTER TABLE publishes ADD COLUMN started_at timestamptz",
            "CREATE INDEX publishes_due ON publishes (schedule_time) WHERE state = 'SCHEDULED'",
            "CREATE INDEX publishes_by_schedule ON publishes (workspace_id, schedule_time)"
            " WHERE schedule_time IS NOT NULL",
        ),
    ),
    Migration(
        6,
        "an Instagram first comment's own state, id and error, beside its publish's",
        # JSON {state, comment_id, error, sends}; NULL when the publish asked for no first comment.
        ("ALTER TABLE publishes ADD COLUMN first_comment TEXT",),
        ("ALTER TABLE publishes ADD COLUMN first_comment jsonb",),
    ),
    Migration(
        7,
        "the workspace event stream's commit order (PostgreSQL), webhooks and their deliveries",
        (
            # SQLite: one writer, so publish_events.id is already the stream's order.
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                url TEXT NOT NULL,
                event_kinds TEXT NOT NULL DEFAULT '[]',
                description TEXT NOT NULL DEFAULT '',
                secret_sealed TEXT NOT NULL,
                state TEXT NOT NULL,
                disabled_reason TEXT NOT NULL DEFAULT '',
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                -- The stream position up to which events are queued as deliveries.
                cursor_xid INTEGER NOT NULL DEFAULT 0,
                cursor_id INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX webhooks_by_workspace ON webhooks (workspace_id, created_at DESC, id DESC)",
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY,
                webhook_id TEXT NOT NULL,
                workspace_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                publish_id TEXT NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT,
                last_attempt_at TEXT,
                last_status_code INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                UNIQUE (webhook_id, event_id)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'PENDING'",
            """
            CREATE INDEX webhook_deliveries_by_webhook
                ON webhook_deliveries (webhook_id, created_at DESC, id DESC)
            """,
        ),
        (
            # The id of the transaction that wrote each event: bigserial ids are handed out in
            # one order and committed in another, so the stream orders by (xid, id) and reads
            # only transactions older than every running one (server/adapters/postgres/events.py).
            # Rows written before this migration all get its xid, their ids keep their order.
            "ALTER TABLE publish_events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()",
            "CREATE INDEX publish_events_by_xid ON publish_events (xid, id)",
            """
            CREATE TABLE webhooks (
                id uuid PRIMARY KEY,
                workspace_id text NOT NULL,
                url text NOT NULL,
                event_kinds text[] NOT NULL DEFAULT '{}',
                description text NOT NULL DEFAULT '',
                secret_sealed text NOT NULL,
                state text NOT NULL,
                disabled_reason text NOT NULL DEFAULT '',
                consecutive_failures integer NOT NULL DEFAULT 0,
                cursor_xid bigint NOT NULL DEFAULT 0,
                cursor_id bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX webhooks_by_workspace ON webhooks (workspace_id, created_at DESC, id DESC)",
            """
            CREATE TABLE webhook_deliveries (
                id uuid PRIMARY KEY,
                webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
                workspace_id text NOT NULL,
                event_id text NOT NULL,
                event_type text NOT NULL,
                publish_id uuid NOT NULL,
                body text NOT NULL,
                state text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz,
                last_attempt_at timestamptz,
                last_status_code integer NOT NULL DEFAULT 0,
                last_error text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL,
                UNIQUE (webhook_id, event_id)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'PENDING'",
            """
            CREATE INDEX webhook_deliveries_by_webhook
                ON webhook_deliveries (webhook_id, created_at DESC, id DESC)
            """,
        ),
    ),
    Migration(
        8,
        "webhooks disabled by time, paced, re-enabled, their secrets rotated and deliveries redelivered",
        (
            # When the current unbroken run of failed attempts began (NULL: the last succeeded).
            "ALTER TABLE webhooks ADD COLUMN failing_since TEXT",
            # No attempt before this (a receiver's Retry-After, or a pause after it failed).
            "ALTER TABLE webhooks ADD COLUMN paused_until TEXT",
            # The secret before the last rotation, still signing until it expires.
            "ALTER TABLE webhooks ADD COLUMN previous_secret_sealed TEXT",
            "ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at TEXT",
            # Deliveries: an event may be queued again by hand (redelivery), so the table is
            # rebuilt without its UNIQUE (webhook_id, event_id), which now holds for the
            # deliveries the stream queued only; claimed_until marks an attempt in flight.
            """
            CREATE TABLE webhook_deliveries_v8 (
                id TEXT PRIMARY KEY,
                webhook_id TEXT NOT NULL,
                workspace_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                publish_id TEXT NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT,
                last_attempt_at TEXT,
                last_status_code INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                claimed_until TEXT,
                redelivery INTEGER NOT NULL DEFAULT 0
            )
            """,
            "INSERT INTO webhook_deliveries_v8 (id, webhook_id, workspace_id, event_id, event_type, publish_id, body,"
            " state, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at)"
            " SELECT id, webhook_id, workspace_id, event_id, event_type, publish_id, body, state, attempts,"
            " next_attempt_at, last_attempt_at, last_status_code, last_error, created_at FROM webhook_deliveries",
            "DROP TABLE webhook_deliveries",
            "ALTER TABLE webhook_deliveries_v8 RENAME TO webhook_deliveries",
            "CREATE UNIQUE INDEX webhook_deliveries_queued ON webhook_deliveries (webhook_id, event_id)"
            " WHERE redelivery = 0",
            # New names: every index name of this list is created once (bench/history_data.py
            # rebuilds them all from these statements).
            "CREATE INDEX webhook_deliveries_due_per_webhook ON webhook_deliveries (webhook_id, next_attempt_at)"
            " WHERE state = 'PENDING'",
            "CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC, id DESC)",
        ),
        (
            "ALTER TABLE webhooks ADD COLUMN failing_since timestamptz",
            "ALTER TABLE webhooks ADD COLUMN paused_until timestamptz",
            "ALTER TABLE webhooks ADD COLUMN previous_secret_sealed text",
            "ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at timestamptz",
            "ALTER TABLE webhook_deliveries ADD COLUMN claimed_until timestamptz",
            "ALTER TABLE webhook_deliveries ADD COLUMN redelivery boolean NOT NULL DEFAULT false",
            # The order deliveries were queued in (the stream's, within a pass): event ids are
            # opaque, so they no longer give it. SQLite's rowid is this order already.
            "ALTER TABLE webhook_deliveries ADD COLUMN seq bigserial",
            "ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_webhook_id_event_id_key",
            "CREATE UNIQUE INDEX webhook_deliveries_queued ON webhook_deliveries (webhook_id, event_id)"
            " WHERE NOT redelivery",
            "DROP INDEX webhook_deliveries_due",
            "CREATE INDEX webhook_deliveries_due_per_webhook ON webhook_deliveries (webhook_id, next_attempt_at)"
            " WHERE state = 'PENDING'",
        ),
    ),
    Migration(
        9,
        "account connections in progress (OAuth state), each redeemed once",
        (
            """
            CREATE TABLE account_connections (
                nonce TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                platform TEXT NOT NULL,
                redirect_uri TEXT NOT NULL,
                scopes TEXT NOT NULL,
                account_id TEXT NOT NULL DEFAULT '',
                pkce TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at TEXT
            )
            """,
            "CREATE INDEX account_connections_by_expiry ON account_connections (expires_at)",
        ),
        (
            """
            CREATE TABLE account_connections (
                nonce text PRIMARY KEY,
                workspace_id text NOT NULL,
                platform text NOT NULL,
                redirect_uri text NOT NULL,
                scopes text NOT NULL,
                account_id text NOT NULL DEFAULT '',
                pkce text NOT NULL,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            )
            """,
            "CREATE INDEX account_connections_by_expiry ON account_connections (expires_at)",
        ),
    ),
    Migration(
        10,
        "account health: when each account is checked next, what TikTok's creator_info said, the last failure",
        (
            """
            CREATE TABLE account_health (
                account_id TEXT PRIMARY KEY REFERENCES accounts (id),
                checked_at TEXT,
                next_check_at TEXT,
                creator_read_at TEXT,
                creator_can_post INTEGER,
                creator_cannot_post_reason TEXT NOT NULL DEFAULT '',
                creator_privacy_level_options TEXT NOT NULL DEFAULT '',
                creator_comment_disabled INTEGER,
                creator_max_video_post_duration_sec INTEGER,
                failure_code TEXT NOT NULL DEFAULT '',
                failure_message TEXT NOT NULL DEFAULT '',
                failure_at TEXT
            )
            """,
        ),
        (
            """
            CREATE TABLE account_health (
                account_id uuid PRIMARY KEY REFERENCES accounts (id),
                checked_at timestamptz,
                next_check_at timestamptz,
                creator_read_at timestamptz,
                creator_can_post boolean,
                creator_cannot_post_reason text NOT NULL DEFAULT '',
                creator_privacy_level_options text NOT NULL DEFAULT '',
                creator_comment_disabled boolean,
                creator_max_video_post_duration_sec integer,
                failure_code text NOT NULL DEFAULT '',
                failure_message text NOT NULL DEFAULT '',
                failure_at timestamptz
            )
            """,
        ),
    ),
    Migration(
        11,
        "traces: the span that created a publish, and the trace each timeline event was written in",
        (
            "ALTER TABLE publishes ADD COLUMN traceparent TEXT",
            "ALTER TABLE publish_events ADD COLUMN trace_id TEXT NOT NULL DEFAULT ''",
        ),
        (
            "ALTER TABLE publishes ADD COLUMN traceparent text",
            "ALTER TABLE publish_events ADD COLUMN trace_id text NOT NULL DEFAULT ''",
        ),
    ),
    Migration(
        12,
        "a video's container, duration, pixel size, frame rate and codecs, as inspected",
        # JSON VideoFacts; NULL for images and for videos whose headers were never read.
        # `video` is the media's current facts, `inspected_video` what the last inspection read.
        ("ALTER TABLE media ADD COLUMN video TEXT", "ALTER TABLE media ADD COLUMN inspected_video TEXT"),
        ("ALTER TABLE media ADD COLUMN video jsonb", "ALTER TABLE media ADD COLUMN inspected_video jsonb"),
    ),
    Migration(
        13,
        "account events in the event log (no publish), and the health conditions each was sent for",
        (
            # Account events (account.token_expiring, ...) are rows of the same log as publish
            # events, so one sequence orders both in the stream. Such a row has no publish: its
            # own workspace, account and platform. SQLite cannot drop a NOT NULL: the table is
            # rebuilt with its ids (the stream's positions) and its AUTOINCREMENT sequence kept.
            """
            CREATE TABLE publish_events_v13 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                publish_id TEXT REFERENCES publishes (id),
                time TEXT NOT NULL,
                type TEXT NOT NULL,
                state TEXT,
                message TEXT NOT NULL DEFAULT '',
                details TEXT NOT NULL DEFAULT '{}',
                trace_id TEXT NOT NULL DEFAULT '',
                workspace_id TEXT,
                account_id TEXT,
                platform TEXT
            )
            """,
            "INSERT INTO publish_events_v13 (id, publish_id, time, type, state, message, details, trace_id)"
            " SELECT id, publish_id, time, type, state, message, details, trace_id FROM publish_events ORDER BY id",
            # The sequence goes on from the highest id ever handed out (a deleted row's too).
            "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'publish_events')"
            " WHERE name = 'publish_events_v13'"
            " AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'publish_events')",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'publish_events_v13', seq FROM sqlite_sequence"
            " WHERE name = 'publish_events'"
            " AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'publish_events_v13')",
            "DROP TABLE publish_events",
            "ALTER TABLE publish_events_v13 RENAME TO publish_events",
            # New names: every index name of this list is created once (bench/history_data.py).
            "CREATE INDEX publish_events_timeline ON publish_events (publish_id, id)",
            # The marker of the condition each event was last sent for (server/domain/account_events.py).
            "ALTER TABLE account_health ADD COLUMN token_expiring_marker TEXT",
            "ALTER TABLE account_health ADD COLUMN quota_low_marker TEXT",
        ),
        (
            "ALTER TABLE publish_events ALTER COLUMN publish_id DROP NOT NULL",
            "ALTER TABLE publish_events ADD COLUMN workspace_id text",
            "ALTER TABLE publish_events ADD COLUMN account_id uuid",
            "ALTER TABLE publish_events ADD COLUMN platform text",
            # Every replica's streams and webhook dispatchers hear of an account event at commit,
            # as of a publish change: the channel carries the account's id, which names no publish.
            """
            CREATE FUNCTION distribution_notify_account_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('distribution_publishes', NEW.account_id::text);
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER publish_events_account_notify AFTER INSERT ON publish_events
                FOR EACH ROW WHEN (NEW.publish_id IS NULL) EXECUTE FUNCTION distribution_notify_account_event()
            """,
            # A delivery of an account event has no publish (SQLite keeps '' in its TEXT column).
            "ALTER TABLE webhook_deliveries ALTER COLUMN publish_id DROP NOT NULL",
            "ALTER TABLE account_health ADD COLUMN token_expiring_marker text",
            "ALTER TABLE account_health ADD COLUMN quota_low_marker text",
        ),
    ),
    Migration(
        14,
        "a TikTok video upload's progress beside its publish",
        # JSON {video_size, chunk_size, total_chunk_count, chunks_acknowledged, upload_url,
        # upload_url_expires_at}; NULL for every publish that uploads nothing.
        ("ALTER TABLE publishes ADD COLUMN tiktok_upload TEXT",),
        ("ALTER TABLE publishes ADD COLUMN tiktok_upload jsonb",),
    ),
)
