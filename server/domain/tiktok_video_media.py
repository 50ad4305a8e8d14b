"""What a TikTok video post reads from its media record: how TikTok gets the bytes, and the
video's duration as inspected (for the creator's longest-video check)."""

from __future__ import annotations

from server.domain.models import Media, Storage
from server.domain.tiktok_video import FILE_UPLOAD, PULL_FROM_URL


def video_source(media: Media) -> str:
    """How TikTok gets this video: pulled from a verified host (GCS, the host this service's
    TikTok app verified, as for photos), else uploaded by the service."""
    return PULL_FROM_URL if media.storage == Storage.GCS else FILE_UPLOAD


def video_duration_seconds(media: Media) -> float | None:
    """The video's duration as inspected (None while its headers were not read or say none)."""
    facts = media.video
    return facts.duration_ms / 1000 if facts is not None and facts.duration_ms > 0 else None
