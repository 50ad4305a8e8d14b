"""The publish log: changes saved with their events, notes carried by the next change, and
the reconciler woken only for a check sooner than it planned
(server/services/workflow/publish_log.py)."""

from __future__ import annotations

from server.domain.models import PublishState
from tests.unit.conftest import World


async def test_a_note_is_written_with_the_next_change_and_keeps_its_own_time(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    log.note(publish.id, "CHILDREN_FINISHED", "all finished", details={"a": "FINISHED"})
    noted_at = world.clock.now()
    world.clock.advance(5)
    changed = await log.record(publish.id, "CAROUSEL_CONTAINER_CREATED", "created", container_id="c-1")
    events = await world.events(publish.id)
    assert [e.type for e in events][-2:] == ["CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED"]
    assert (events[-2].time, events[-1].time) == (noted_at, changed.updated_at)
    assert events[-2].details == {"a": "FINISHED"}


async def test_a_note_no_change_will_carry_is_dropped(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    log.note(publish.id, "NOTE", "lost with the run")
    log.drop_notes(publish.id)
    await log.record(publish.id, "FAILED", "failed", state=PublishState.FAILED)
    assert await world.new_events(publish.id) == ["FAILED"]


async def test_the_reconciler_is_woken_only_for_a_check_sooner_than_its_plan(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2), state=PublishState.PUBLISHED)
    log = world.services.publish_log
    log.reconciler_wakes_at = world.at(60)
    await log.record(publish.id, "A", "later than planned", reconcile_at=world.at(90))
    assert not log.reconcile_scheduled.is_set()
    await log.record(publish.id, "B", "kept", reconcile_at=False)
    await log.record(publish.id, "C", "cleared", reconcile_at=None)
    assert not log.reconcile_scheduled.is_set()
    await log.record(publish.id, "D", "sooner", reconcile_at=world.at(30))
    assert log.reconcile_scheduled.is_set()
    log.reconcile_scheduled.clear()
    log.reconciler_wakes_at = None  # nothing planned: any check wakes it
    await log.record(publish.id, "E", "any", reconcile_at=world.at(3600))
    assert log.reconcile_scheduled.is_set()


async def test_every_saved_change_is_announced_to_subscribers(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2))
    log = world.services.publish_log
    queue = log.subscribe(publish.id)
    first = await log.record(publish.id, "A", "a")
    second = await log.record_child(publish.id, 0, "child-0")
    log.run_ended(second)
    assert [queue.get_nowait() for _ in range(3)] == [first, second, second]
    assert second.child_container_ids[0] == "child-0"
    log.unsubscribe(publish.id, queue)
