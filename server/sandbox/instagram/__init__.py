"""Loopback emulator of the Instagram Graph API content-publishing endpoints.

README.md (next to this file) documents the endpoints, the sandbox conventions and the
control API; ``python -m server.sandbox.instagram --help`` the command line.
"""

from server.sandbox.instagram.api import ENDPOINTS
from server.sandbox.instagram.config import InstagramSandboxConfig
from server.sandbox.instagram.errors import GraphError
from server.sandbox.instagram.sandbox import InstagramSandbox

__all__ = ["ENDPOINTS", "GraphError", "InstagramSandbox", "InstagramSandboxConfig"]
