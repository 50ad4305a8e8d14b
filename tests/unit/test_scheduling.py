"""Scheduled publishes on fakes and a fake clock: what is checked when scheduling, the due
claim, lateness, MISSED, cancel and reschedule (and their races with the claim), and the
checks repeated at the scheduled time (server/services/publishing.py,
server/services/workflow/scheduler.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import pytest

from server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from server.domain.limits import ROLLING_DAY_RETRY_AFTER_SECONDS
from server.domain.models import AccountState, Platform, Publish, PublishState
from server.domain.schedule import MISSED_ERROR_REASON
from server.services.workflow.scheduler import Scheduler
from tests.fakes.tiktok import TikTokFailure
from tests.support.errors import rich_error_of
from tests.support.waiting import eventually
from tests.unit.conftest import World
from tests.unit.helpers import error_of, instagram_calls, until


def scheduler(world: World) -> Scheduler:
    return world.services.scheduler


async def scheduled_instagram(world: World, in_seconds: float = 60, **fields: object) -> Publish:
    publish = await world.publish(await world.instagram_request(2, publish_time=world.at(in_seconds), **fields))
    assert publish.state == PublishState.SCHEDULED
    return publish


async def due(world: World, after_seconds: float) -> list[Publish]:
    """Moves the clock on and runs the scheduler's pass, as its timer would."""
    world.clock.advance(after_seconds)
    return await scheduler(world).run_due()


async def outcome(world: World, publish: Publish) -> Publish:
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None
    return await world.services.runner.wait(stored)


# --- scheduling ------------------------------------------------------------------------------


async def test_a_future_time_records_a_scheduled_publish_and_returns_at_once(world: World) -> None:
    publish = await scheduled_instagram(world, 60)
    assert publish.schedule_time == world.at(60)
    assert (publish.owner, publish.started_at) == (None, None)
    # No platform call at all: Instagram's quota is about the time of posting.
    assert world.instagram.calls == []
    assert await world.timeline(publish.id) == ["CREATED", "SCHEDULED"]
    assert await world.store.publishes.get(publish.id) == publish
    assert world.services.runner.in_flight == 0


async def test_a_tiktok_schedule_checks_the_creators_privacy_levels_now(world: World) -> None:
    world.tiktok.privacy_level_options = ("SELF_ONLY",)
    request = await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE", publish_time=world.at(600))
    with pytest.raises(FailedPrecondition) as caught:
        await world.publish(request)
    assert caught.value.reason == "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"
    assert world.store.publishes.rows == {}
    assert world.tiktok.methods() == ["creator_info"]


async def test_a_time_within_the_tolerance_publishes_at_once(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2, publish_time=world.at(2)))
    assert (publish.state, publish.schedule_time) == (PublishState.PUBLISHED, None)


@pytest.mark.parametrize(("offset", "words"), [(-60, "in the past"), (366 * 86400, "more than 365 days ahead")])
async def test_a_time_in_the_past_or_beyond_the_horizon_is_refused_with_every_other_problem(
    world: World, offset: float, words: str
) -> None:
    account = await world.instagram_account()
    request = await world.instagram_request(1, account, publish_time=world.at(offset))
    for call in (world.publish, lambda r: world.services.publisher.validate(world.workspace, r)):
        with pytest.raises(InvalidArgument) as caught:
            await call(request)
        fields = {v.field: v.description for v in caught.value.field_violations}
        assert set(fields) == {"media_ids", "publish_time"}
        assert words in fields["publish_time"]
    assert world.store.publishes.rows == {}


async def test_a_retry_with_the_same_request_id_returns_the_schedule_and_another_time_is_refused(
    world: World,
) -> None:
    request = await world.instagram_request(2, request_id="6f1c1a80-5d0b-4c38-9b0c-2f8f51c3d6a1",
                                            publish_time=world.at(60))
    first = await world.publish(request)
    again = await world.publish(request)
    assert (again.id, again.state) == (first.id, PublishState.SCHEDULED)
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(dataclasses.replace(request, publish_time=world.at(120)))
    assert caught.value.reason == "REQUEST_ID_REUSED"
    world.clock.advance(3600)  # the retry comes after the time: still the first call's outcome
    late = await world.publish(request)
    assert (late.id, late.state) == (first.id, PublishState.SCHEDULED)
    with pytest.raises(InvalidArgument):  # a new request with that time is refused
        await world.publish(dataclasses.replace(request, request_id="0b0c2f8f-5d0b-4c38-9b0c-6f1c1a8051c3"))


# --- the due claim ---------------------------------------------------------------------------


async def test_a_due_publish_runs_once_like_an_immediate_one_with_its_lateness(world: World) -> None:
    publish = await scheduled_instagram(world, 60)
    assert await due(world, 30) == []
    claimed = await due(world, 45)  # 15 s late
    assert [p.id for p in claimed] == [publish.id]
    final = await outcome(world, publish)
    assert final.state == PublishState.PUBLISHED
    assert final.start_lateness == timedelta(seconds=15)
    assert world.metrics.schedule_lateness == [(Platform.INSTAGRAM, 15.0)]
    assert world.instagram.methods() == instagram_calls(2)  # the quota reserved at the time, then the steps
    timeline = await world.events(publish.id)
    assert [e.type for e in timeline][:4] == ["CREATED", "SCHEDULED", "SCHEDULE_DUE", "CHILD_CONTAINER_CREATED"]
    assert timeline[2].details["lateness_seconds"] == 15
    assert await due(world, 60) == []  # never claimed twice
    assert world.instagram.count("publish") == 1


async def test_a_publish_found_due_past_the_lateness_limit_ends_missed_without_a_platform_call(
    world: World,
) -> None:
    publish = await scheduled_instagram(world, 60)
    limit = world.settings.schedule.max_lateness.total_seconds()
    [missed] = await due(world, 60 + limit + 1)
    assert missed.state == PublishState.MISSED
    assert error_of(missed) == {"code": "FAILED_PRECONDITION", "reason": MISSED_ERROR_REASON}
    assert missed.done
    assert world.instagram.calls == []
    assert await world.timeline(publish.id) == ["CREATED", "SCHEDULED", "MISSED"]
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.MISSED)]


async def test_many_due_publishes_are_claimed_in_batches_each_once(world: World) -> None:
    account = await world.instagram_account()
    made = [
        await world.publish(await world.instagram_request(2, account, publish_time=world.at(60), allow_duplicate=True))
        for _ in range(5)
    ]
    world.services.scheduler._batch = 2  # three passes of the claim in one run_due
    claimed = await due(world, 61)
    assert sorted(p.id for p in claimed) == sorted(p.id for p in made)
    finals = [await outcome(world, p) for p in made]
    assert {p.state for p in finals} == {PublishState.PUBLISHED}
    assert world.instagram.count("publish") == 5


# --- cancel and reschedule -------------------------------------------------------------------


async def test_cancel_is_idempotent_and_recorded_and_the_publish_never_runs(world: World) -> None:
    publish = await scheduled_instagram(world)
    cancelled = await world.services.publisher.cancel(world.workspace, publish.id)
    assert cancelled.state == PublishState.CANCELLED
    again = await world.services.publisher.cancel(world.workspace, publish.id.upper())
    assert again == cancelled  # unchanged, no second event
    assert await world.timeline(publish.id) == ["CREATED", "SCHEDULED", "CANCELLED"]
    assert await due(world, 120) == []
    assert world.instagram.calls == []


async def test_cancel_or_reschedule_once_started_is_a_failed_precondition(world: World) -> None:
    publish = await scheduled_instagram(world)
    await due(world, 61)
    for attempt in (
        world.services.publisher.cancel(world.workspace, publish.id),
        world.services.publisher.reschedule(world.workspace, publish.id, world.at(600)),
    ):
        with pytest.raises(FailedPrecondition) as caught:
            await attempt
        assert caught.value.reason == "PUBLISH_NOT_SCHEDULED"
    assert (await outcome(world, publish)).state == PublishState.PUBLISHED


@pytest.mark.parametrize("cancel_first", [True, False])
async def test_cancel_racing_the_due_claim_has_exactly_one_outcome(world: World, cancel_first: bool) -> None:
    publish = await scheduled_instagram(world)
    world.clock.advance(61)
    cancel = world.services.publisher.cancel(world.workspace, publish.id)
    claim = scheduler(world).run_due()
    results = await asyncio.gather(*((cancel, claim) if cancel_first else (claim, cancel)), return_exceptions=True)
    cancel_result = results[0 if cancel_first else 1]
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None
    if isinstance(cancel_result, FailedPrecondition):
        assert (await outcome(world, publish)).state == PublishState.PUBLISHED
        assert world.instagram.count("publish") == 1
    else:
        assert isinstance(cancel_result, Publish)
        assert stored.state == PublishState.CANCELLED
        assert world.instagram.calls == []


async def test_reschedule_moves_the_time_idempotently_with_the_same_rules(world: World) -> None:
    publish = await scheduled_instagram(world, 60)
    publisher = world.services.publisher
    moved = await publisher.reschedule(world.workspace, publish.id, world.at(600))
    assert (moved.state, moved.schedule_time) == (PublishState.SCHEDULED, world.at(600))
    assert await publisher.reschedule(world.workspace, publish.id, world.at(600)) == moved
    assert await world.timeline(publish.id) == ["CREATED", "SCHEDULED", "RESCHEDULED"]
    with pytest.raises(InvalidArgument) as caught:
        await publisher.reschedule(world.workspace, "not-an-id", world.at(-60))
    assert {v.field for v in caught.value.field_violations} == {"id", "publish_time"}
    assert await due(world, 120) == []  # no longer due at its old time
    assert [p.id for p in await due(world, 500)] == [publish.id]
    assert (await outcome(world, publish)).state == PublishState.PUBLISHED


async def test_reschedule_racing_the_due_claim_has_exactly_one_outcome(world: World) -> None:
    publish = await scheduled_instagram(world)
    world.clock.advance(61)
    results = await asyncio.gather(
        scheduler(world).run_due(),
        world.services.publisher.reschedule(world.workspace, publish.id, world.at(600)),
        return_exceptions=True,
    )
    claimed, moved = results
    assert isinstance(claimed, list)
    if isinstance(moved, Publish):
        assert claimed == []
        assert (await world.store.publishes.get(publish.id)).state == PublishState.SCHEDULED  # type: ignore[union-attr]
    else:
        assert isinstance(moved, FailedPrecondition)
        assert [p.id for p in claimed] == [publish.id]
        assert (await outcome(world, publish)).state == PublishState.PUBLISHED


# --- checks that go stale --------------------------------------------------------------------


async def test_an_account_that_needs_a_reconnect_at_the_time_fails_the_publish_with_the_reason(
    world: World,
) -> None:
    publish = await scheduled_instagram(world)
    await world.store.accounts.mark_needs_reconnect(publish.account_id)
    await due(world, 61)
    final = await outcome(world, publish)
    assert final.state == PublishState.FAILED
    assert error_of(final) == {"code": "FAILED_PRECONDITION", "reason": "ACCOUNT_NOT_CONNECTED"}
    assert "At the scheduled time" in final.error.message  # type: ignore[union-attr]
    assert world.instagram.calls == []


async def test_a_disconnected_account_at_the_time_fails_the_publish(world: World) -> None:
    publish = await scheduled_instagram(world)
    await world.store.accounts.disconnect(world.workspace, publish.account_id)
    await due(world, 61)
    final = await outcome(world, publish)
    assert error_of(final) == {"code": "FAILED_PRECONDITION", "reason": "ACCOUNT_DISCONNECTED"}
    assert world.instagram.calls == []


async def test_a_quota_used_up_at_the_time_fails_the_publish_keeping_when_to_retry(world: World) -> None:
    publish = await scheduled_instagram(world)
    world.instagram.quota_usage = 50
    await due(world, 61)
    final = await outcome(world, publish)
    assert error_of(final) == {"code": "RESOURCE_EXHAUSTED", "reason": "INSTAGRAM_PUBLISH_LIMIT_REACHED"}
    assert final.error is not None and final.error.retry_after == ROLLING_DAY_RETRY_AFTER_SECONDS
    assert rich_error_of(final.error.as_exception(final.id)).retry_delay_seconds == ROLLING_DAY_RETRY_AFTER_SECONDS
    assert world.instagram.methods() == ["publishing_limit"]


async def test_a_privacy_level_the_creator_no_longer_allows_fails_the_publish_before_init(world: World) -> None:
    request = await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE", publish_time=world.at(60))
    publish = await world.publish(request)
    assert publish.state == PublishState.SCHEDULED
    world.tiktok.privacy_level_options = ("SELF_ONLY",)
    await due(world, 61)
    final = await outcome(world, publish)
    assert final.state == PublishState.FAILED
    assert error_of(final) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"}
    assert world.tiktok.methods() == ["creator_info", "creator_info"]  # no init


async def test_a_token_refused_at_the_time_fails_the_publish_and_flags_the_account(world: World) -> None:
    # Good when scheduled (past the refresh margin), expired by the time.
    account = await world.tiktok_account(access_token_expires_at=world.at(1800))
    publish = await world.publish(await world.tiktok_request(2, account, publish_time=world.at(3600)))
    assert world.tiktok.count("refresh") == 0
    world.tiktok.script("refresh", TikTokFailure.refresh_refused())
    await due(world, 3601)
    final = await outcome(world, publish)
    assert final.state == PublishState.FAILED
    assert final.error is not None
    assert final.error.code in ("FAILED_PRECONDITION", "UNAUTHENTICATED")
    assert "init_photo_post" not in world.tiktok.methods()
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_the_timer_wakes_for_a_schedule_added_on_this_replica(world: World) -> None:
    """Real time here: the timer's wait is the event loop's. Scheduled 0.2 s ahead (past the
    tolerance, set to 0 for this test) it runs without any pass being called by hand."""
    world.services.publisher.schedule = world.settings.schedule.__class__(tolerance=timedelta(0))
    world.services.scheduler._policy = world.services.publisher.schedule
    sched = scheduler(world)
    sched.start()
    try:
        publish = await world.publish(await world.instagram_request(2, publish_time=world.at(0.2)))
        assert publish.state == PublishState.SCHEDULED
        world.clock.advance(0.3)  # the fake clock says it is due; the timer re-reads at its wake-up
        world.services.publish_log.alarms.schedules.ring(world.clock.now())
        await until(lambda: world.instagram.count("publish") == 1, steps=5000)
    finally:
        await sched.stop()


async def test_a_scheduler_without_metrics_still_runs_due_publishes_and_records_missed_ones(world: World) -> None:
    late = await scheduled_instagram(world, 60)
    limit = world.settings.schedule.max_lateness.total_seconds()
    world.clock.advance(60 + limit + 1)  # `late` is now past the lateness limit
    on_time = await scheduled_instagram(world, 60)
    world.clock.advance(61)
    bare = Scheduler(world.services.runner, world.clock, world.settings.schedule)
    claimed = {p.id: p.state for p in await bare.run_due()}
    assert set(claimed) == {late.id, on_time.id} and claimed[late.id] == PublishState.MISSED
    assert (await outcome(world, on_time)).state == PublishState.PUBLISHED
    assert await world.timeline(late.id) == ["CREATED", "SCHEDULED", "MISSED"]
    assert world.instagram.count("publish") == 1


async def test_the_timer_outlives_a_failed_pass(world: World, caplog: pytest.LogCaptureFixture) -> None:
    publish = await scheduled_instagram(world, 60)
    sched = scheduler(world)
    world.clock.advance(61)  # due
    world.store.closed = True  # the database away: the first pass fails
    sched.start()
    try:
        await until(lambda: any(r.getMessage() == "scheduler pass failed; trying again at the next sweep"
                                for r in caplog.records))
        assert world.instagram.count("publish") == 0
        world.store.closed = False
        world.services.publish_log.alarms.schedules.ring(world.clock.now())  # sooner than the next sweep
        await until(lambda: world.instagram.count("publish") == 1, steps=5000)
    finally:
        await sched.stop()
    assert (await outcome(world, publish)).state == PublishState.PUBLISHED


async def test_the_same_schedule_sent_twice_at_once_is_recorded_once(world: World) -> None:
    request = await world.instagram_request(2, publish_time=world.at(60), request_id=str(uuid.uuid4()))
    first, second = await asyncio.gather(world.publish(request), world.publish(request))
    assert first.id == second.id and second.state == PublishState.SCHEDULED
    assert len(world.store.publishes.rows) == 1
    assert await world.timeline(first.id) == ["CREATED", "SCHEDULED"]


async def test_the_same_content_scheduled_twice_at_once_lets_one_in(world: World) -> None:
    request = await world.instagram_request(2, publish_time=world.at(60), caption="same")
    results = await asyncio.gather(world.publish(request), world.publish(request), return_exceptions=True)
    [scheduled] = [r for r in results if isinstance(r, Publish)]
    [refused] = [r for r in results if isinstance(r, AlreadyExists)]
    assert refused.reason == "DUPLICATE_PUBLISH" and refused.metadata["publish_id"] == scheduled.id
    assert len(world.store.publishes.rows) == 1


async def test_cancel_or_reschedule_of_an_unknown_publish_is_not_found(world: World) -> None:
    unknown = str(uuid.uuid4())
    for call in (world.services.publisher.cancel(world.workspace, unknown),
                 world.services.publisher.reschedule(world.workspace, unknown, world.at(600))):
        with pytest.raises(NotFound) as caught:
            await call
        assert (caught.value.reason, caught.value.metadata) == ("PUBLISH_NOT_FOUND", {"publish_id": unknown})


async def test_a_scheduled_inbox_upload_asks_no_creator_info_at_the_time(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, post_mode="INBOX", publish_time=world.at(60)))
    assert publish.state == PublishState.SCHEDULED
    asked = world.tiktok.count("creator_info")
    await due(world, 61)
    final = await outcome(world, publish)
    assert final.state == PublishState.DELIVERED_TO_INBOX
    assert world.tiktok.count("creator_info") == asked  # privacy settings do not apply to an inbox upload


async def test_the_sleeping_timer_wakes_by_itself_at_the_next_schedule_not_the_next_sweep(world: World) -> None:
    """Real time, as in the test above: the next schedule is 0.1 s ahead and the sweep 60 s
    apart, so only a timer that sleeps until the next schedule publishes it within seconds."""
    publish = await scheduled_instagram(world, 60)
    world.clock.advance(59.9)  # by the fake clock, 0.1 s before it is due
    sched = Scheduler(world.services.runner, world.clock, world.settings.schedule, sweep_every=60.0)
    sched.start()
    try:
        alarm = world.services.publish_log.alarms.schedules
        await until(lambda: alarm.wakes_at is not None)  # its first pass is over: it sleeps
        assert world.instagram.count("publish") == 0
        world.clock.advance(0.2)  # due now; nothing pokes the timer
        await eventually(lambda: world.instagram.count("publish") == 1, "the timer to start the due publish",
                         within=5.0)
    finally:
        await sched.stop()
    assert (await outcome(world, publish)).state == PublishState.PUBLISHED
