"""Loopback emulator of TikTok's Content Posting API for photo posts (carousels).

README.md (next to this file) documents the endpoints, the sandbox conventions and the
control API; ``python -m server.sandbox.tiktok --help`` the command line.
"""

from server.sandbox.tiktok.api import ENDPOINTS
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.errors import ApiError, OAuthError
from server.sandbox.tiktok.sandbox import TikTokSandbox

__all__ = [
    "ENDPOINTS",
    "ApiError",
    "OAuthError",
    "TikTokSandbox",
    "TikTokSandboxConfig",
]
