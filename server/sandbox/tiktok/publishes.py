"""What was posted in the TikTok emulator: publishes, their lifecycle and the duplicate detector.

A publish's status is computed when asked, from the wall clock (``time.time()``): no
background tasks, and a world saved to a state file and loaded again goes on where it was
(README.md, "Publish lifecycle").
"""

from __future__ import annotations

import collections
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from server.sandbox.common import check_count
from server.sandbox.media import ImageFacts
from server.sandbox.tiktok.accounts import Accounts, Creator
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.parse import DIRECT_POST, MEDIA_UPLOAD, InitRequest
from server.sandbox.tiktok.rules import FAIL_REASONS, photo_bytes, sandbox_fail_reason
from server.sandbox.tiktok.video import VideoInitRequest, looks_like_video, new_upload_id

_SPAM = re.compile(r"\bspam\b", re.IGNORECASE)

PUBLIC = "PUBLIC_TO_EVERYONE"


@dataclass
class Publish:
    publish_id: str
    open_id: str
    post_mode: str
    privacy_level: str | None
    title: str
    description: str
    photo_images: list[str]
    photo_cover_index: int
    disable_comment: bool
    auto_add_music: bool
    brand_content_toggle: bool
    brand_organic_toggle: bool
    is_aigc: bool
    ready_at: float
    moderation_delay: float
    fail_reason: str | None
    post_id: int
    photo_bytes: list[int]
    created_at: float  # wall clock, like ready_at
    completed_at: float | None = None  # MEDIA_UPLOAD: when the creator posted the draft
    # Video posts (video.py): PHOTO or VIDEO; how the video came (PULL_FROM_URL or
    # FILE_UPLOAD) and its toggles; for FILE_UPLOAD the declared plan, the upload's id and
    # each chunk received in order as [first, last, bytes] (the chunk sizes the sender used).
    media_type: str = "PHOTO"
    source: str = ""
    video_url: str = ""
    disable_duet: bool = False
    disable_stitch: bool = False
    video_cover_timestamp_ms: int | None = None
    video_size: int = 0
    chunk_size: int = 0
    total_chunk_count: int = 0
    upload_id: str = ""
    chunks: list[list[int]] = field(default_factory=list)
    # What the uploaded bytes began with looked like a video (MP4/MOV/WebM).
    upload_is_video: bool = True

    @property
    def awaiting_upload(self) -> bool:
        return self.source == "FILE_UPLOAD" and len(self.chunks) < self.total_chunk_count

    @property
    def uploaded_bytes(self) -> int:
        return sum(c[2] for c in self.chunks)


@dataclass(frozen=True)
class PublishState:
    status: str
    fail_reason: str | None
    post_ids: list[int]  # publicaly_available_post_id
    downloaded_bytes: int
    uploaded_bytes: int = 0  # FILE_UPLOAD


class Publishes:
    """Accepted inits by publish_id, in init order."""

    def __init__(self, config: TikTokSandboxConfig, accounts: Accounts) -> None:
        self.config = config
        self._accounts = accounts
        self.by_id: dict[str, Publish] = {}  # insertion order = init order
        self._scripted_reasons: collections.deque[str] = collections.deque()

    def script_fail_reason(self, reason: str, count: int) -> None:
        if reason not in FAIL_REASONS:
            raise ValueError(f"unknown fail_reason {reason!r}; one of {sorted(FAIL_REASONS)}")
        self._scripted_reasons.extend([reason] * check_count(count))

    def accept(self, req: InitRequest, creator: Creator, facts: list[ImageFacts] | None = None) -> Publish:
        """Records an init that passed every check; its outcome is fixed now. `facts`: what
        downloading each photo shows (default: the URL convention's answers)."""
        now = time.time()
        scripted = self._scripted_reasons.popleft() if self._scripted_reasons else None
        info = req.post_info
        pub = Publish(
            publish_id=self._new_publish_id(),
            open_id=creator.open_id,
            post_mode=req.post_mode,
            privacy_level=req.privacy_level if req.post_mode == DIRECT_POST else None,
            title=req.title,
            description=req.description,
            photo_images=req.photo_images,
            photo_cover_index=req.photo_cover_index,
            disable_comment=bool(info.get("disable_comment")),
            auto_add_music=bool(info.get("auto_add_music")),
            brand_content_toggle=bool(info.get("brand_content_toggle")),
            brand_organic_toggle=bool(info.get("brand_organic_toggle")),
            is_aigc=req.is_aigc,
            ready_at=now + self.config.processing_delay,
            moderation_delay=self.config.moderation_delay,
            fail_reason=scripted or sandbox_fail_reason(req.photo_images, req.title, facts),
            post_id=7_300_000_000_000_000_000 + secrets.randbelow(10**17),
            photo_bytes=[
                facts[i].size if facts and facts[i].size else photo_bytes(url)
                for i, url in enumerate(req.photo_images)
            ],
            created_at=now,
        )
        self.by_id[pub.publish_id] = pub
        return pub

    def accept_video(self, req: VideoInitRequest, creator: Creator, pulled: ImageFacts | None) -> Publish:
        """Records a video init that passed every check. A pulled video's outcome is fixed
        now; an uploaded one's when its last chunk arrives (`received`)."""
        now = time.time()
        scripted = self._scripted_reasons.popleft() if self._scripted_reasons else None
        info = req.post_info
        direct = req.post_mode == DIRECT_POST
        reason = scripted
        if reason is None and req.source == "PULL_FROM_URL" and pulled is not None and (
            not pulled.reachable or pulled.timed_out
        ):
            reason = "video_pull_failed"
        if reason is None and _SPAM.search(req.title):
            reason = "spam_risk_text"
        pub = Publish(
            publish_id=self._new_publish_id(),
            open_id=creator.open_id,
            post_mode=req.post_mode,
            privacy_level=req.privacy_level if direct else None,
            title=req.title,
            description="",
            photo_images=[],
            photo_cover_index=0,
            disable_comment=bool(info.get("disable_comment")),
            auto_add_music=False,
            brand_content_toggle=bool(info.get("brand_content_toggle")),
            brand_organic_toggle=bool(info.get("brand_organic_toggle")),
            is_aigc=bool(info.get("is_aigc")),
            ready_at=now + self.config.processing_delay,
            moderation_delay=self.config.moderation_delay,
            fail_reason=reason,
            post_id=7_300_000_000_000_000_000 + secrets.randbelow(10**17),
            photo_bytes=[pulled.size if pulled is not None and pulled.size else 0] if req.source == "PULL_FROM_URL"
            else [req.video_size],
            created_at=now,
            media_type="VIDEO",
            source=req.source,
            video_url=req.video_url,
            disable_duet=bool(info.get("disable_duet")),
            disable_stitch=bool(info.get("disable_stitch")),
            video_cover_timestamp_ms=info.get("video_cover_timestamp_ms"),
            video_size=req.video_size,
            chunk_size=req.chunk_size,
            total_chunk_count=req.total_chunk_count,
            upload_id=new_upload_id() if req.source == "FILE_UPLOAD" else "",
        )
        self.by_id[pub.publish_id] = pub
        return pub

    def by_upload_id(self, upload_id: str) -> Publish | None:
        return next((p for p in self.by_id.values() if p.upload_id and p.upload_id == upload_id), None)

    def received(self, pub: Publish, first: int, last: int, head: bytes) -> bool:
        """Records a chunk acknowledged; True when it was the last (processing starts now)."""
        if not pub.chunks and not looks_like_video(head):
            pub.upload_is_video = False
        pub.chunks.append([first, last, last - first + 1])
        if pub.awaiting_upload:
            return False
        pub.ready_at = time.time() + self.config.processing_delay
        if pub.fail_reason is None and not pub.upload_is_video:
            pub.fail_reason = "file_format_check_failed"
        return True

    def _new_publish_id(self) -> str:
        while True:
            publish_id = f"p_pub_url~v2.{secrets.randbelow(9 * 10**18) + 10**18}"
            if publish_id not in self.by_id:
                return publish_id

    def complete_inbox(self, publish_id: str, privacy_level: str | None) -> None:
        """The creator posts a MEDIA_UPLOAD draft with `privacy_level` (default: their first
        option); KeyError for an unknown id, ValueError if it is no draft in the inbox."""
        pub = self.by_id.get(publish_id)
        if pub is None:
            raise KeyError(f"unknown publish_id {publish_id!r}")
        status = state_at(pub, time.time()).status
        if pub.post_mode != MEDIA_UPLOAD or status != "SEND_TO_USER_INBOX":
            raise ValueError(
                f"publish {publish_id} is {pub.post_mode} in status {status}, not an inbox draft"
            )
        options = self._accounts.creators[pub.open_id].privacy_level_options
        if privacy_level is not None and privacy_level not in options:
            raise ValueError(f"privacy_level {privacy_level!r} is not one of {list(options)}")
        pub.privacy_level = privacy_level or options[0]
        pub.completed_at = time.time()

    def records(self, open_id: str | None = None) -> list[dict[str, Any]]:
        """Every accepted init, in init order; only `open_id`'s if given."""
        now = time.time()
        return [
            describe(pub, now)
            for pub in self.by_id.values()
            if open_id is None or pub.open_id == open_id
        ]

    def snapshot(self) -> dict[str, Any]:
        """Every accepted init, in init order, as JSON data (scripted fail reasons are not kept)."""
        return {"publishes": [asdict(pub) for pub in self.by_id.values()]}

    def restore(self, state: dict[str, Any]) -> None:
        publishes = [Publish(**p) for p in state["publishes"]]
        self.by_id = {pub.publish_id: pub for pub in publishes}

    def stats(self) -> dict[str, Any]:
        """The duplicate detector: README.md, "Duplicate detector"."""
        groups: dict[tuple[Any, ...], list[str]] = {}
        failed = 0
        for pub in self.by_id.values():
            if pub.fail_reason is not None:
                failed += 1
                continue
            key = (pub.open_id, tuple(pub.photo_images), pub.video_url, pub.video_size, pub.title)
            groups.setdefault(key, []).append(pub.publish_id)
        duplicates = [group for group in groups.values() if len(group) > 1]
        return {
            "posts": len(self.by_id),
            "duplicate_posts": sum(len(group) - 1 for group in duplicates),
            "failed": failed,
            "duplicate_groups": duplicates,
        }


def state_at(pub: Publish, now: float) -> PublishState:
    """Where a publish is at `now`: processing, failed, in the inbox or complete."""
    total = sum(pub.photo_bytes)
    if pub.awaiting_upload:
        return PublishState("PROCESSING_UPLOAD", None, [], 0, pub.uploaded_bytes)
    if now < pub.ready_at and pub.source == "FILE_UPLOAD":
        return PublishState("PROCESSING_UPLOAD", None, [], 0, pub.uploaded_bytes)
    if now < pub.ready_at:
        downloaded = int(total * (now - pub.created_at) / (pub.ready_at - pub.created_at))
        return PublishState("PROCESSING_DOWNLOAD", None, [], downloaded)
    if pub.fail_reason is not None:
        downloaded = 0 if pub.fail_reason == "photo_pull_failed" else total
        return PublishState("FAILED", pub.fail_reason, [], downloaded)
    completed_at = pub.ready_at if pub.post_mode == DIRECT_POST else pub.completed_at
    if completed_at is None:
        return PublishState("SEND_TO_USER_INBOX", None, [], total)
    # Only public posts get a post id, once moderation has passed.
    public = pub.privacy_level == PUBLIC and now >= completed_at + pub.moderation_delay
    return PublishState("PUBLISH_COMPLETE", None, [pub.post_id] if public else [], total)


def describe(pub: Publish, now: float) -> dict[str, Any]:
    """A publish as ``posts()`` and ``GET /_sandbox/posts`` report it."""
    state = state_at(pub, now)
    return {
        "publish_id": pub.publish_id,
        "open_id": pub.open_id,
        "post_mode": pub.post_mode,
        "privacy_level": pub.privacy_level,
        "title": pub.title,
        "description": pub.description,
        "photo_images": list(pub.photo_images),
        "photo_cover_index": pub.photo_cover_index,
        "disable_comment": pub.disable_comment,
        "auto_add_music": pub.auto_add_music,
        "brand_content_toggle": pub.brand_content_toggle,
        "brand_organic_toggle": pub.brand_organic_toggle,
        "is_aigc": pub.is_aigc,
        "status": state.status,
        "fail_reason": state.fail_reason,
        "post_ids": state.post_ids,
        "downloaded_bytes": state.downloaded_bytes,
        "media_type": pub.media_type,
        "source": pub.source,
        "video_url": pub.video_url,
        "disable_duet": pub.disable_duet,
        "disable_stitch": pub.disable_stitch,
        "video_cover_timestamp_ms": pub.video_cover_timestamp_ms,
        "video_size": pub.video_size,
        "chunk_size": pub.chunk_size,
        "total_chunk_count": pub.total_chunk_count,
        "chunks": [list(c) for c in pub.chunks],
        "uploaded_bytes": pub.uploaded_bytes,
    }
