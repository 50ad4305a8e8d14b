"""A metrics recorder (the Metrics port): what the use cases reported, as plain lists."""

from __future__ import annotations

from collections.abc import Callable

from server.domain.models import Platform, PublishState


class RecordingMetrics:
    def __init__(self) -> None:
        self.finished: list[tuple[Platform, PublishState]] = []
        self.retries: list[tuple[str, str]] = []  # (platform, endpoint) per retry
        self._in_flight: Callable[[], int] | None = None
        self.schedule_lateness: list[tuple[Platform, float]] = []  # per claimed scheduled publish
        self.takeovers: list[Platform] = []  # per publish taken over after its lease lapsed

    def publish_finished(self, platform: Platform, state: PublishState) -> None:
        self.finished.append((platform, state))

    def platform_retry(self, platform: str, endpoint: str) -> None:
        self.retries.append((platform, endpoint))

    def track_in_flight(self, count: Callable[[], int]) -> None:
        self._in_flight = count

    def schedule_started(self, platform: Platform, lateness_seconds: float) -> None:
        self.schedule_lateness.append((platform, lateness_seconds))

    def publish_taken_over(self, platform: Platform) -> None:
        self.takeovers.append(platform)

    @property
    def in_flight(self) -> int | None:
        """What the gauge would read now (None until a runner registered its count)."""
        return None if self._in_flight is None else self._in_flight()
