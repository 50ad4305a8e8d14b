"""The publish log: changes saved with their events, notes carried by the next change, and
the reconciler woken only for a check sooner than it planned
(server/services/workflow/publish_log.py)."""

from __future__ import annotations

import uuid

import pytest

from server.domain.changes import CLEAR, KEEP, NO_CHANGE, PublishChange, SetTo
from server.domain.errors import LeaseLost
from server.domain.models import PublishEvent, PublishState
from server.domain.ports import ANYTHING_CHANGED
from tests.unit.conftest import World
from tests.unit.helpers import until


async def test_a_note_is_written_with_the_next_change_and_keeps_its_own_time(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    log.note(publish.id, "CHILDREN_FINISHED", "all finished", details={"a": "FINISHED"})
    noted_at = world.clock.now()
    world.clock.advance(5)
    changed = await log.record(
        publish.id, "CAROUSEL_CONTAINER_CREATED", "created", PublishChange(container_id=SetTo("c-1"))
    )
    events = await world.events(publish.id)
    assert [e.type for e in events][-2:] == ["CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED"]
    assert (events[-2].time, events[-1].time) == (noted_at, changed.updated_at)
    assert events[-2].details == {"a": "FINISHED"}


async def test_a_note_no_change_will_carry_is_dropped(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    log.note(publish.id, "NOTE", "lost with the run")
    log.forget(publish.id)
    await log.record(publish.id, "FAILED", "failed", PublishChange(state=PublishState.FAILED))
    assert await world.new_events(publish.id) == ["FAILED"]


async def test_the_reconciler_is_woken_only_for_a_check_sooner_than_its_plan(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2), state=PublishState.PUBLISHED)
    log = world.services.publish_log
    alarm = log.alarms.late_facts
    alarm.wakes_at = world.at(60)
    await log.record(publish.id, "A", "later than planned", PublishChange(reconcile_at=SetTo(world.at(90))))
    assert not alarm.rung
    await log.record(publish.id, "B", "kept", PublishChange(reconcile_at=KEEP))
    await log.record(publish.id, "C", "cleared", PublishChange(reconcile_at=CLEAR))
    assert not alarm.rung
    await log.record(publish.id, "D", "sooner", PublishChange(reconcile_at=SetTo(world.at(30))))
    assert alarm.rung
    alarm.reset()  # nothing planned: any check wakes it
    await log.record(publish.id, "E", "any", PublishChange(reconcile_at=SetTo(world.at(3600))))
    assert alarm.rung


async def test_every_saved_change_is_announced_once_to_subscribers(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    queue = log.subscribe(publish.id)
    first = await log.record(publish.id, "A", "a")
    second = await log.record_child(publish.id, 0, "child-0")
    world.store.changes.notify(publish.id)  # the same revision, heard again from the feed
    await until(lambda: not log._refreshing)
    assert [queue.get_nowait() for _ in range(queue.qsize())] == [first, second]
    assert second.child_container_ids[0] == "child-0"
    log.unsubscribe(publish.id, queue)


async def test_a_change_committed_by_another_replica_reaches_subscribers_here(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    queue = log.subscribe(publish.id)
    world.store.changes.notify(str(uuid.uuid4()))  # nobody here watches that one
    elsewhere = await world.store.publishes.apply(publish.id, NO_CHANGE, [PublishEvent("ELSEWHERE", "another replica")])
    world.store.changes.notify(publish.id)
    assert await queue.get() == elsewhere
    log.unsubscribe(publish.id, queue)


async def test_after_the_feed_was_interrupted_every_watched_publish_is_read_again(world: World) -> None:
    first = await world.seed(await world.instagram_request(2))
    second = await world.seed(await world.instagram_request(3))
    log = world.services.publish_log
    queues = {p.id: log.subscribe(p.id) for p in (first, second)}
    # Changes made elsewhere while the feed was down: their notifications never arrived.
    changed = {
        p.id: await world.store.publishes.apply(p.id, NO_CHANGE, [PublishEvent("ELSEWHERE", "while the feed was down")])
        for p in (first, second)
    }
    world.store.changes.notify(ANYTHING_CHANGED)
    await until(lambda: all(q.qsize() for q in queues.values()))
    for publish_id, queue in queues.items():
        assert queue.get_nowait() == changed[publish_id]
        log.unsubscribe(publish_id, queue)


async def test_a_run_tracked_here_writes_as_this_replicas_lease(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    [claimed] = await world.store.publishes.claim_orphans(log.owner, world.at(15), world.clock.now(), 10)
    log.track(claimed)
    await log.record_child(publish.id, 1, "child-1")
    await log.record_child(publish.id, 0, "child-0")
    await world.store.publishes.claim_orphans("other-replica", world.at(100), world.at(60), 10)
    with pytest.raises(LeaseLost):
        await log.record(publish.id, "X", "after the lease was taken over", PublishChange(container_id=SetTo("c")))
    assert await log.release(publish.id) is None  # no longer ours to release
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None
    assert (stored.owner, stored.container_id, stored.child_container_ids) == (
        "other-replica", None, ["child-0", "child-1"]
    )


async def test_every_write_it_makes_is_announced_to_subscribers_and_change_listeners(world: World) -> None:
    """The unit of work announces its own changes: a reschedule, a cancel, a due claim and a
    lease release reach a watcher here with no change feed involved."""
    log = world.services.publish_log
    nudges: list[None] = []
    log.on_any_change(lambda: nudges.append(None))
    scheduled = await world.publish(await world.instagram_request(2, publish_time=world.at(60)))
    queue = log.subscribe(scheduled.id)
    moved = await world.services.publisher.reschedule(world.workspace, scheduled.id, world.at(120))
    cancelled = await world.services.publisher.cancel(world.workspace, scheduled.id)
    assert [queue.get_nowait() for _ in range(queue.qsize())] == [moved, cancelled]
    due = await world.publish(await world.instagram_request(3, publish_time=world.at(60)))
    due_queue = log.subscribe(due.id)
    world.clock.advance(61)
    [claimed] = await world.services.scheduler.run_due()
    assert due_queue.get_nowait() == claimed and claimed.state == PublishState.PROCESSING
    assert len(nudges) >= 5  # two creates, the reschedule, the cancel, the claim
    log.unsubscribe(scheduled.id, queue)
    log.unsubscribe(due.id, due_queue)
    await world.services.runner.stop(0)


async def test_a_schedule_added_or_moved_rings_the_schedulers_alarm_only_when_sooner(world: World) -> None:
    log = world.services.publish_log
    alarm = log.alarms.schedules
    alarm.wakes_at = world.at(30)
    later = await world.publish(await world.instagram_request(2, publish_time=world.at(60)))
    assert not alarm.rung
    await world.services.publisher.reschedule(world.workspace, later.id, world.at(20))
    assert alarm.rung
