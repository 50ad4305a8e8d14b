"""The API layer: the servicers over a real socket, the service in-process (the test's own
event loop), the emulators in-process with short delays, a SQLite database in tmp_path."""

from tests.support.fixtures import (
    accounts,
    channel,
    instagram_sandbox,
    media,
    no_traceback,
    publishing,
    service,
    settings,
    start_service,
    tiktok_sandbox,
)

__all__ = [
    "accounts",
    "channel",
    "instagram_sandbox",
    "media",
    "no_traceback",
    "publishing",
    "service",
    "settings",
    "start_service",
    "tiktok_sandbox",
]
