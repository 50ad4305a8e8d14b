"""Starts scheduled publishes at their time.

A SCHEDULED publish waits in the store with no owner. The scheduler sleeps until the
earliest schedule_time (a timer, never a busy poll), claims every due one in batches
(PublishStore.claim_due_schedules: each is claimed once, across replicas too) and hands
those started to the runner, which runs them like an immediate publish. One found due past
the lateness limit (the service was down) is ended MISSED by the claim itself.

Its timer is re-armed when a schedule is added or moved on this replica (`poke`); what other
replicas add is found at the next sweep, at most `sweep_every` seconds later: a replica only
needs another's schedules when that one is down, and then the lease sweep takes longer anyway.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from server.domain.models import Publish, PublishState
from server.domain.ports import Clock, Metrics
from server.domain.schedule import SchedulePolicy
from server.services.background import BackgroundLoop
from server.services.workflow.runner import PublishRunner

log = logging.getLogger("distribution.scheduler")


class Scheduler:
    def __init__(
        self,
        runner: PublishRunner,
        clock: Clock,
        policy: SchedulePolicy = SchedulePolicy(),
        *,
        sweep_every: float = 5.0,
        batch: int = 200,
        metrics: Metrics | None = None,
    ) -> None:
        self._runner = runner
        self._log = runner.publish_log
        # Rung by the publish log when a schedule is added or moved here.
        self._alarm = self._log.alarms.schedules
        self._clock = clock
        self._policy = policy
        self._sweep_every = sweep_every
        self._batch = batch
        self._metrics = metrics
        self._background = BackgroundLoop("scheduler", self._loop)

    async def run_due(self) -> list[Publish]:
        """Claims every publish due now and starts each (or records it MISSED); returns them."""
        claimed: list[Publish] = []
        while True:
            now = self._clock.now()
            batch = await self._log.claim_due_schedules(
                now + self._runner.lease_until(), now, now - self._policy.max_lateness, self._batch
            )
            for publish in batch:
                self._started(publish)
            claimed.extend(batch)
            if len(batch) < self._batch:
                return claimed

    def _started(self, publish: Publish) -> None:
        lateness = publish.start_lateness or timedelta(0)
        if self._metrics is not None:
            self._metrics.schedule_started(publish.platform, lateness.total_seconds())
        if publish.state == PublishState.MISSED:
            log.warning(
                "scheduled publish missed", extra={"publish_id": publish.id, "lateness": lateness.total_seconds()}
            )
            if self._metrics is not None:
                self._metrics.publish_finished(publish.platform, publish.state)
        else:
            log.info("scheduled publish due", extra={"publish_id": publish.id, "lateness": lateness.total_seconds()})
            self._runner.submit(publish)

    # --- the timer --------------------------------------------------------------------------

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _loop(self) -> None:
        while True:
            self._alarm.reset()  # before reading: a ring from here on wakes the next wait
            delay = self._sweep_every
            try:
                await self.run_due()
                next_at = await self._log.next_schedule_time()
                if next_at is not None:
                    # A floor: a due row another replica holds locked is not spun on.
                    delay = min(max((next_at - self._clock.now()).total_seconds(), 0.01), delay)
            except Exception:  # the database away for a moment: try again at the next sweep
                log.exception("scheduler pass failed; trying again at the next sweep")
            await self._alarm.sleep_until(self._clock.now() + timedelta(seconds=delay), delay)
