"""Scheduling rules: when a publish_time means "later", which times are refused, and what
a due scheduled publish becomes when it is claimed (started, or MISSED past the limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.changes import Lease, PublishChange, SetTo
from server.domain.ending import ending
from server.domain.errors import FieldViolation
from server.domain.models import Publish, PublishError, PublishEvent, PublishState


@dataclass(frozen=True)
class SchedulePolicy:
    """`tolerance`: a publish_time this close to now (either side) means "now" (clocks of
    callers drift by a few seconds). `horizon`: the furthest ahead a publish may be
    scheduled. `max_lateness`: a publish found due later than this after its time (the
    service was down) ends MISSED instead of posting stale content."""

    tolerance: timedelta = timedelta(seconds=5)
    horizon: timedelta = timedelta(days=365)
    max_lateness: timedelta = timedelta(hours=1)


def is_later(publish_time: datetime | None, now: datetime, policy: SchedulePolicy) -> bool:
    """Whether the publish is to be scheduled rather than run at once."""
    return publish_time is not None and publish_time - now > policy.tolerance


def publish_time_violation(
    publish_time: datetime | None, now: datetime, policy: SchedulePolicy, *, field: str = "publish_time",
    required: bool = False,
) -> FieldViolation | None:
    """The problem with a requested publish time, if any: in the past (beyond the tolerance)
    or beyond the horizon. `required`: it must also be in the future (a reschedule)."""
    if publish_time is None:
        return FieldViolation(field, "is required: the new time to publish") if required else None
    stamp = publish_time.isoformat(timespec="seconds")
    if publish_time < now - policy.tolerance or (required and not is_later(publish_time, now, policy)):
        return FieldViolation(
            field,
            f"{stamp} is in the past (now is {now.isoformat(timespec='seconds')}); give a future time"
            + ("" if required else ", or leave it unset to publish at once"),
        )
    if publish_time - now > policy.horizon:
        horizon = _span(policy.horizon)
        return FieldViolation(field, f"{stamp} is more than {horizon} ahead; schedule within {horizon}")
    return None


def _span(span: timedelta) -> str:
    """A horizon in words: whole days when it is some, else seconds."""
    if span >= timedelta(days=1) and span % timedelta(days=1) == timedelta(0):
        return f"{span.days} days"
    return f"{span.total_seconds():g} seconds"


def scheduled_events(publish: Publish) -> list[PublishEvent]:
    """The first events of a publish recorded to run later."""
    assert publish.schedule_time is not None
    return [
        PublishEvent(type="CREATED", state=PublishState.PENDING, message=f"{publish.description} recorded"),
        PublishEvent(
            type="SCHEDULED", state=PublishState.SCHEDULED,
            message=f"Scheduled for {publish.schedule_time.isoformat(timespec='seconds')}",
            details={"schedule_time": publish.schedule_time.isoformat()},
        ),
    ]


MISSED_ERROR_REASON = "SCHEDULE_MISSED"


def due_change(
    publish: Publish, now: datetime, missed_before: datetime, lease: Lease, trace_id: str = ""
) -> tuple[PublishChange, list[PublishEvent]]:
    """What a due scheduled publish becomes when claimed at `now`, and its timeline events:
    PROCESSING (its run starts, held by `lease`, lateness recorded), or MISSED when its time
    is before `missed_before` (the lateness limit passed; terminal, no platform call and no
    run: ended by `ending`, as every end is). Either is made only while it is SCHEDULED.
    The event names `trace_id`, the trace the claim is made in ("" untraced)."""
    assert publish.schedule_time is not None
    lateness = max((now - publish.schedule_time).total_seconds(), 0.0)
    details = {"schedule_time": publish.schedule_time.isoformat(), "lateness_seconds": round(lateness, 3)}
    if publish.schedule_time < missed_before:
        limit = (now - missed_before).total_seconds()
        error = PublishError(
            # Not DEADLINE_EXCEEDED: to callers that means "may be live"; nothing was posted here.
            code="FAILED_PRECONDITION",
            reason=MISSED_ERROR_REASON,
            message=f"Scheduled for {publish.schedule_time.isoformat(timespec='seconds')} but the service could "
            f"only start it {lateness:.0f} s late, past the limit of {limit:.0f} s; nothing was posted. "
            "Publish again (or schedule a new time) if it is still wanted",
        )
        change = ending(publish, PublishState.MISSED, error).then(_DUE.then(PublishChange(started_at=SetTo(now))))
        return change, [PublishEvent(
            type="MISSED", state=PublishState.MISSED, message=error.message, details=details, trace_id=trace_id
        )]
    started = PublishEvent(
        type="SCHEDULE_DUE", state=PublishState.PROCESSING,
        message=f"Scheduled time reached; started {lateness:.3f} s after it", details=details, trace_id=trace_id,
    )
    change = PublishChange(state=PublishState.PROCESSING, started_at=SetTo(now), lease=SetTo(lease))
    return change.then(_DUE), [started]


# A due claim races a cancel and a reschedule: whichever writes first wins, the other finds
# the publish no longer SCHEDULED.
_DUE = PublishChange(only_from=frozenset({PublishState.SCHEDULED}))
