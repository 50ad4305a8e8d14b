"""The end-to-end layer: real processes. The service runs as `python -m server` (tests start
it through tests.support.processes; `platforms` are the emulators as processes) or
in-process for outside clients that are processes themselves (grpcurl, buf, node); the soak
and the benchmarks run as they run for a person."""

from tests.support.fixtures import (
    channel,
    instagram_sandbox,
    media,
    platforms,
    service,
    settings,
    start_service,
    tiktok_sandbox,
)

__all__ = [
    "channel",
    "instagram_sandbox",
    "media",
    "platforms",
    "service",
    "settings",
    "start_service",
    "tiktok_sandbox",
]
