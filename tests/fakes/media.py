"""A fake of the MediaInspector port: answers from a table by URL, records every URL asked."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.models import Inspection, InspectionOutcome

# What an unscripted URL is: a JPEG every platform takes.
GOOD_JPEG = Inspection(InspectionOutcome.READ, "image/jpeg", 1080, 1080, 200_000, "ab" * 32)


@dataclass
class FakeMediaInspector:
    answers: dict[str, Inspection] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def inspect(self, url: str) -> Inspection:
        self.asked.append(url)
        return self.answers.get(url, GOOD_JPEG)
