"""Fast settings: emulators with short delays, and a service polling them on a matching schedule.

The service's own schedules suit the real platforms (seconds to minutes); against emulators
that finish in 50 ms they would only make the suite wait.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from server.adapters.tiktok import RateLimits
from server.config import Settings
from server.domain.health import HealthPolicy
from server.sandbox.instagram import InstagramSandboxConfig
from server.sandbox.tiktok import TikTokSandboxConfig
from server.services.workflow.polling import PollPolicy, ReconcileSchedule
from server.services.workflow.retry import RetryPolicy

# Seconds an emulator keeps a container or photo post processing, and TikTok's moderation.
PROCESSING_DELAY = 0.05
MODERATION_DELAY = 0.3

FAST_POLL = PollPolicy(initial_interval=0.02, multiplier=1.5, max_interval=0.2, timeout=10.0)
FAST_LATE_FACTS = ReconcileSchedule(first_delay=0.1, multiplier=1.5, max_interval=0.3)
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.1, budget=1.0, max_attempts=6)
# TikTok's per-token pacing off (the emulator's limits must be off too, or it answers 429).
NO_RATE_LIMITS = RateLimits(init=0, status=0, creator_info=0)


def instagram_config(**overrides: Any) -> InstagramSandboxConfig:
    base = InstagramSandboxConfig(processing_delay=PROCESSING_DELAY, reel_processing_delay=PROCESSING_DELAY)
    return dataclasses.replace(base, **overrides)


def tiktok_config(**overrides: Any) -> TikTokSandboxConfig:
    base = TikTokSandboxConfig(processing_delay=PROCESSING_DELAY, moderation_delay=MODERATION_DELAY)
    return dataclasses.replace(base, **overrides)


def fast_settings(workdir: Path, instagram_api_base: str, tiktok_api_base: str, **overrides: Any) -> Settings:
    """Settings for an in-process service over a database in `workdir`, on free loopback
    ports (gRPC and metrics), polling and retrying on the fast schedules; no HTTP gateway
    and no media inspection unless a test asks for them (`http_listen`, `media_fetch`)."""
    settings = Settings(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
        db_path=workdir / "distribution.db",
        secret_key_file=workdir / "secret.key",
        instagram_api_base=instagram_api_base,
        tiktok_api_base=tiktok_api_base,
        shutdown_grace=1.0,
        http_listen="off",
        media_fetch="off",
        instagram_poll=FAST_POLL,
        instagram_reel_poll=FAST_POLL,
        tiktok_poll=FAST_POLL,
        late_facts=FAST_LATE_FACTS,
        retry=FAST_RETRY,
        # No background health check unless a test asks for one: it would call the emulators
        # behind the back of tests that count their calls.
        account_health=HealthPolicy(check_every=0),
    )
    return dataclasses.replace(settings, **overrides)
