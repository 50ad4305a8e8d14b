"""In-memory fakes of the ports the media use cases need (MediaInspector, MediaStore,
Clock), for unit tests of MediaLibrary without network or database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.domain.models import Inspection, InspectionOutcome, Media
from server.domain.pagination import Cursor


@dataclass
class FakeMediaInspector:
    """Answers inspections from a table by URL (READ 1080x1080 JPEG by default) and records
    every URL it was asked about."""

    answers: dict[str, Inspection] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def inspect(self, url: str) -> Inspection:
        self.asked.append(url)
        return self.answers.get(url, Inspection(InspectionOutcome.READ, "image/jpeg", 1080, 1080, 200_000))


@dataclass
class FakeMediaStore:
    rows: dict[str, Media] = field(default_factory=dict)
    saved_inspections: list[str] = field(default_factory=list)

    async def insert(self, media: Media) -> None:
        self.rows[media.id] = media

    async def get(self, workspace_id: str, media_id: str) -> Media | None:
        row = self.rows.get(media_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    async def get_many(self, workspace_id: str, media_ids: Sequence[str]) -> dict[str, Media]:
        return {m: self.rows[m] for m in media_ids if m in self.rows and self.rows[m].workspace_id == workspace_id}

    async def list_page(self, workspace_id: str, limit: int, cursor: Cursor | None) -> list[tuple[Media, Cursor]]:
        raise NotImplementedError

    async def save_inspection(self, media: Media) -> None:
        self.rows[media.id] = media
        self.saved_inspections.append(media.id)


@dataclass
class FakeClock:
    at: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
