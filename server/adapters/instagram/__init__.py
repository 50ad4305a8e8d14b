"""The Instagram Graph API adapter (the InstagramApi port)."""

from server.adapters.instagram.client import InstagramClient

__all__ = ["InstagramClient"]
