"""The TikTok emulator's settings, changeable at run time over ``POST /_sandbox/config``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TikTokSandboxConfig:
    processing_delay: float = 1.0  # seconds a publish stays PROCESSING_DOWNLOAD
    moderation_delay: float = 5.0  # seconds from PUBLISH_COMPLETE to a public post id
    init_limit_per_minute: int = 6  # per access token; 0 disables the limit
    status_limit_per_minute: int = 30
    creator_info_limit_per_minute: int = 20
    # The sandbox's choice: TikTok's pages read do not give user/info's limit.
    user_info_limit_per_minute: int = 600
    # The length of the limits' sliding window in seconds: TikTok's minute, shortened by
    # tests so a burst beyond a limit is seen in seconds.
    rate_window: float = 60.0
    # URL prefixes ("https://host/path/") or domain properties ("example.com") the app verified.
    verified_url_prefixes: tuple[str, ...] = ("https://storage.googleapis.com/",)
    # A slow network for one chunk of every upload (1-based; 0: none): it waits this many
    # seconds halfway through the chunk, so a test can stop the sender mid-chunk.
    upload_stall_at_chunk: int = 0
    upload_stall_seconds: float = 30.0
    # A connection dropped mid-chunk: that chunk (1-based; 0: none) is read halfway, then its
    # connection is reset with no answer, once (the setting returns to 0).
    upload_drop_at_chunk: int = 0
    access_token_ttl: int = 86400  # seconds an access token issued by /v2/oauth/token/ lives
    refresh_token_ttl: int = 31536000
    # Seconds an authorization code from /v2/auth/authorize/ may be exchanged in (the sandbox's
    # choice: TikTok's pages read do not state it); 0 makes every code expired at once.
    authorization_code_ttl: float = 600.0
