"""Platform processing that a test ends itself instead of sleeping through a short delay.

A fixed sleep against a short emulated delay fails on a loaded machine either way: the sleep
ends before the delay does, or the delay ends before the test has looked. So the emulator's
processing is set LONG (nothing finishes by accident, however slow the machine) and the test
ends it, by setting the emulator's own clock marks, at the moment it wants the next status.
"""

from __future__ import annotations

import time

from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from server.sandbox.tiktok.publishes import Publish

# Longer than any test runs.
LONG = 60.0


def finish_instagram_processing(sandbox: InstagramSandbox, *container_ids: str) -> None:
    """Ends these containers' processing now (every container's when none is named), as if
    their processing time had passed."""
    containers = sandbox.state.containers
    for container_id in container_ids or tuple(containers):
        containers[container_id].ready_at = 0.0


def _publishes(sandbox: TikTokSandbox, publish_ids: tuple[str, ...]) -> list[Publish]:
    by_id = sandbox.publishes.by_id
    return [by_id[publish_id] for publish_id in publish_ids or tuple(by_id)]


def finish_tiktok_processing(sandbox: TikTokSandbox, *publish_ids: str) -> None:
    """Ends these publishes' processing now (every publish's when none is named): a direct
    post is PUBLISH_COMPLETE from now, and its moderation starts now."""
    now = time.time()
    for publish in _publishes(sandbox, publish_ids):
        publish.ready_at = min(publish.ready_at, now)


def finish_tiktok_moderation(sandbox: TikTokSandbox, *publish_ids: str) -> None:
    """Ends these complete publishes' moderation now: a public post has its post id."""
    for publish in _publishes(sandbox, publish_ids):
        publish.moderation_delay = 0.0
