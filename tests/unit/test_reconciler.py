"""Late facts: a TikTok post id or an Instagram permalink asked for again at growing intervals
until it arrives or its horizon passes (server/services/workflow/reconciler.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from server.config import Settings
from server.domain.models import Publish, PublishEvent, PublishState
from server.services.workflow.polling import ReconcileSchedule
from tests.fakes import IgFailure, TikTokFailure
from tests.fakes.tiktok import status
from tests.unit.conftest import World, make_world, setting
from tests.unit.helpers import until


async def permalink_pending(world: World) -> Publish:
    """A live Instagram post whose permalink read failed: left to the reconciler."""
    world.instagram.script("media", IgFailure.server_error("media"))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.pending_facts == ["permalink"]
    return publish


async def post_id_pending(world: World, **fields: object) -> Publish:
    """A public TikTok post whose id TikTok gives after moderation."""
    publish = await world.publish(await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE", **fields))
    assert publish.pending_facts == ["tiktok_post_id"]
    return publish


async def stored(world: World, publish: Publish) -> Publish:
    found = await world.store.publishes.get(publish.id)
    assert found is not None
    return found


async def test_a_permalink_that_arrives_is_recorded_and_the_schedule_cleared(world: World) -> None:
    publish = await permalink_pending(world)
    reconciler = world.services.reconciler
    assert await reconciler.run_once() == publish.reconcile_at  # not due yet: nothing asked
    assert world.instagram.count("media") == 1
    world.clock.advance(30)
    assert await reconciler.run_once() is None
    final = await stored(world, publish)
    assert final.permalink == "https://www.instagram.com/p/Post1/"
    assert (final.pending_facts, final.reconcile_at, final.reconcile_attempts) == ([], None, 1)
    assert final.state == PublishState.PUBLISHED
    assert (await world.timeline(publish.id))[-2:] == ["PERMALINK_PENDING", "LATE_FACTS_ARRIVED"]
    assert (await world.events(publish.id))[-1].details == {"permalink": final.permalink}
    assert world.instagram.count("media") == 2


async def test_a_tiktok_post_id_that_arrives_is_recorded(world: World) -> None:
    publish = await post_id_pending(world)
    world.tiktok.statuses["v_pub_1"] = [status("PUBLISH_COMPLETE", post_ids=("7300000000000000042",))]
    world.clock.advance(30)
    await world.services.reconciler.run_once()
    final = await stored(world, publish)
    assert (final.tiktok_post_id, final.pending_facts, final.reconcile_at) == ("7300000000000000042", [], None)
    assert world.tiktok.methods()[-1] == "fetch_status"


async def test_a_fact_still_missing_is_asked_for_again_at_growing_intervals(world: World) -> None:
    publish = await post_id_pending(world)
    delays = []
    for _ in range(8):
        world.clock.advance(((await stored(world, publish)).reconcile_at - world.clock.now()).total_seconds())
        await world.services.reconciler.run_once()
        delays.append(((await stored(world, publish)).reconcile_at - world.clock.now()).total_seconds())
    assert delays == [60, 120, 240, 480, 960, 1800, 1800, 1800]
    final = await stored(world, publish)
    assert final.reconcile_attempts == 8
    assert final.pending_facts == ["tiktok_post_id"]
    assert (await world.timeline(publish.id))[-8:] == ["LATE_FACTS_PENDING"] * 8
    assert world.tiktok.count("fetch_status") == 1 + 8  # one read per check


async def test_a_failed_read_is_named_and_asked_again(world: World) -> None:
    publish = await permalink_pending(world)
    world.instagram.script("media", IgFailure.server_error("media"))
    world.clock.advance(30)
    await world.services.reconciler.run_once()
    events = await world.events(publish.id)
    assert events[-1].type == "LATE_FACTS_PENDING"
    assert events[-1].message.startswith("Still waiting for permalink (permalink: Instagram refused media_read")
    assert (await stored(world, publish)).reconcile_at == world.at(60)


@pytest.mark.parametrize(
    ("make", "horizon", "fact"),
    [(permalink_pending, 86400, "permalink"), (post_id_pending, 3 * 86400, "tiktok_post_id")],
    ids=["permalink-after-a-day", "tiktok-post-id-after-three-days"],
)
async def test_a_fact_is_given_up_once_its_horizon_passed(
    world: World, make: Callable[[World], object], horizon: int, fact: str
) -> None:
    publish: Publish = await make(world)  # type: ignore[misc]
    world.instagram.permalinks_ready = False
    world.clock.advance(horizon - 10)
    await world.services.reconciler.run_once()
    assert (await stored(world, publish)).pending_facts == [fact]
    world.clock.advance(60)  # the next check, now past the horizon
    await world.services.reconciler.run_once()
    final = await stored(world, publish)
    assert (final.pending_facts, final.reconcile_at) == ([], None)
    last = (await world.events(publish.id))[-1]
    assert last.type == "LATE_FACTS_ABANDONED"
    assert last.message == f"Stopped waiting for {fact}: no {fact} within the documented horizon"


@pytest.mark.parametrize("how", ["disconnected", "deleted"])
async def test_a_fact_of_an_account_without_a_token_is_given_up(world: World, how: str) -> None:
    publish = await permalink_pending(world)
    if how == "disconnected":
        await world.store.accounts.disconnect(world.workspace, publish.account_id)
    else:
        del world.store.accounts.rows[publish.account_id]
    world.clock.advance(30)
    await world.services.reconciler.run_once()
    last = (await world.events(publish.id))[-1]
    assert (last.type, "no usable token" in last.message) == ("LATE_FACTS_ABANDONED", True)
    assert world.instagram.count("media") == 1


async def test_a_transient_token_failure_postpones_the_check(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=world.at(3600))
    publish = await post_id_pending(world, account=account)
    world.clock.advance(2 * 3600)  # the token has expired
    world.tiktok.script("refresh", TikTokFailure.server_error("refresh"))
    await world.services.reconciler.run_once()
    final = await stored(world, publish)
    assert final.pending_facts == ["tiktok_post_id"]
    assert final.reconcile_at is not None


async def test_facts_it_cannot_read_stay_pending_and_one_that_arrives_is_kept(world: World) -> None:
    publish = await permalink_pending(world)
    await world.store.publishes.apply(
        publish.id, setting(pending_facts=["permalink", "tiktok_post_id", "something_else"],
                            reconcile_at=world.clock.now()), [_note()],
    )
    await world.services.reconciler.run_once()
    final = await stored(world, publish)
    assert final.permalink is not None
    assert final.pending_facts == ["tiktok_post_id", "something_else"]
    assert final.reconcile_at == world.at(60)
    assert world.tiktok.calls == []  # an Instagram publish has no TikTok id to ask about


async def test_a_full_batch_says_more_may_be_due_now() -> None:
    world = make_world(Settings(late_facts=ReconcileSchedule(batch=2)))
    try:
        for _ in range(3):
            await permalink_pending(world)
        world.clock.advance(30)
        assert await world.services.reconciler.run_once() == world.clock.now()
        assert await world.services.reconciler.run_once() is None
        assert all(p.permalink for p in world.store.publishes.rows.values())
    finally:
        await world.services.runner.stop(0)


# --- the background loop ----------------------------------------------------------------------


async def test_the_loop_wakes_for_a_check_scheduled_sooner_and_records_it(world: World) -> None:
    reconciler, log = world.services.reconciler, world.services.publish_log
    reconciler.start()
    alarm = log.alarms.late_facts
    await until(lambda: not alarm.rung)
    publish = await permalink_pending(world)  # schedules a check 30 s ahead: wakes the loop
    await until(lambda: alarm.wakes_at == publish.reconcile_at)
    # The loop now waits on the event loop's own clock (asyncio.wait_for), not the Clock port:
    # a test moves virtual time and wakes it by hand (see the unit layer's README).
    world.clock.advance(30)
    updates = log.subscribe(publish.id)
    alarm.ring(world.clock.now())
    changed = await updates.get()
    assert changed.permalink == "https://www.instagram.com/p/Post1/"
    await until(lambda: alarm.wakes_at is None and not alarm.rung)
    await reconciler.stop()
    await reconciler.stop()  # stopping twice is harmless


async def test_the_loop_goes_on_after_a_failed_pass(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    log = world.services.publish_log
    failures = []

    async def broken(now: object, hold_until: object, limit: int) -> list[Publish]:
        failures.append(now)
        raise RuntimeError("store trouble")

    monkeypatch.setattr(world.store.publishes, "claim_due_for_reconcile", broken)
    world.services.reconciler.start()
    await until(lambda: log.alarms.late_facts.wakes_at is not None)
    assert log.alarms.late_facts.wakes_at == world.at(30)  # tries again after the first delay
    assert len(failures) == 1
    await world.services.reconciler.stop()


async def test_the_loop_runs_full_batches_back_to_back() -> None:
    world = make_world(Settings(late_facts=ReconcileSchedule(batch=1)))
    log = world.services.publish_log
    try:
        publishes = []
        for _ in range(2):
            publishes.append(await permalink_pending(world))
        world.clock.advance(30)
        world.services.reconciler.start()
        await until(lambda: all(p.permalink for p in world.store.publishes.rows.values()))
        await until(lambda: log.alarms.late_facts.wakes_at is None and not log.alarms.late_facts.rung)
        assert world.instagram.count("media") == 2 + 2
    finally:
        await world.services.reconciler.stop()
        await world.services.runner.stop(0)


def _note() -> PublishEvent:
    return PublishEvent("TEST", "facts set by the test")
