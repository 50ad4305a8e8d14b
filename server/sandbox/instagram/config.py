"""The Instagram emulator's settings, changeable at run time over ``POST /_sandbox/config``."""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY = 86400.0
VERSION_RE = re.compile(r"v\d+\.\d+")


@dataclass
class InstagramSandboxConfig:
    processing_delay: float = 1.0  # seconds a container stays IN_PROGRESS
    # Seconds a REELS container stays IN_PROGRESS: Meta processes video for far longer than
    # images (its guide polls once a minute for up to 5 minutes).
    reel_processing_delay: float = 5.0
    container_ttl: float = DAY  # seconds until a never-published container is EXPIRED
    publish_quota: int = 50  # content_publishing_limit quota_total per 24 h, per IG user
    api_version: str = "v23.0"  # version prefix of the base URL start() returns
    container_quota: int = 400  # containers one IG user may create per rolling 24 h
    # Business Login: an authorization code is good for 1 hour, once; the short-lived token it
    # gives lives 1 hour, the long-lived one 60 days. 0 makes every code expired at once.
    authorization_code_ttl: float = 3600.0
    short_lived_token_ttl: float = 3600.0
