"""The TikTok Content Posting API adapter (the TikTokApi port)."""

from server.adapters.tiktok.client import RateLimits, TikTokClient

__all__ = ["RateLimits", "TikTokClient"]
