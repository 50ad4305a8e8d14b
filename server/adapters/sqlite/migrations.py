"""Versioned schema migrations. Append only: a landed migration is never edited.

Times are stored as ISO-8601 UTC strings with microseconds ("...T12:00:00.000001Z"),
which sort lexicographically in time order, so (created_at, id) keyset pagination
runs on plain indexes.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
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
        ],
    ),
    (
        2,
        [
            # Bumped by every change to the record, so a copy kept elsewhere (the rendered
            # messages of list pages, server/api/rendered.py) knows exactly when it is stale;
            # updated_at cannot tell two changes in the same microsecond apart.
            "ALTER TABLE publishes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        ],
    ),
]
