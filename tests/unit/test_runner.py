"""The runner: one task per publish, resumed at start, interrupted publishes recorded, and
shutdown after a grace period (server/services/workflow/runner.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from server.bootstrap import Adapters, build_services
from server.domain.changes import CLEAR, PublishChange
from server.domain.errors import DomainError, StoreUnavailable
from server.domain.models import Platform, Publish, PublishEvent, PublishState
from tests.fakes import Hold, IgFailure
from tests.unit.conftest import REPLICA, World, setting
from tests.unit.helpers import instagram_timeline, until


async def test_one_task_drives_a_publish_however_often_it_is_submitted(world: World) -> None:
    held = world.instagram.hold("publish")
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    publish = await world.only_publish()
    runner = world.services.runner
    assert runner.submit(publish) is runner.submit(publish)
    assert runner.in_flight == 1
    assert world.metrics.in_flight == 1
    assert (publish.owner, publish.done) == (runner.owner, False)
    held.release()
    await caller
    assert runner.in_flight == 0
    assert world.metrics.in_flight == 0
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.PUBLISHED)]


async def test_resume_drives_every_unfinished_publish_and_leaves_finished_ones(world: World) -> None:
    account = await world.instagram_account()
    world.instagram.add_container("c-1")
    unfinished = await world.seed(await world.instagram_request(2, account), container_id="c-1")
    await world.seed(await world.instagram_request(2, account), state=PublishState.PUBLISHED)
    assert await world.services.runner.resume_unfinished() == 1
    assert (await world.services.runner.wait(unfinished)).state == PublishState.PUBLISHED


@pytest.mark.parametrize("how", ["disconnected", "deleted"])
async def test_a_resumed_publish_whose_account_is_gone_fails_without_a_platform_call(world: World, how: str) -> None:
    account = await world.instagram_account()
    publish = await world.seed(await world.instagram_request(2, account), state=PublishState.PENDING)
    if how == "disconnected":
        await world.store.accounts.disconnect(world.workspace, account.id)
    else:
        del world.store.accounts.rows[account.id]
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.FAILED
    assert final.error is not None
    assert (final.error.code, final.error.reason) == ("FAILED_PRECONDITION", "ACCOUNT_DISCONNECTED")
    assert world.instagram.calls == []
    assert await world.new_events(publish.id) == ["FAILED"]


async def test_a_resumed_publish_that_may_have_posted_ends_unconfirmed_when_its_account_is_gone(world: World) -> None:
    account = await world.tiktok_account()
    publish = await world.seed(await world.tiktok_request(2, account), tiktok_publish_id="v_pub_7")
    await world.store.accounts.disconnect(world.workspace, account.id)
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.UNCONFIRMED
    assert final.error is not None
    assert final.error.reason == "ACCOUNT_DISCONNECTED"
    assert world.tiktok.calls == []


@pytest.mark.parametrize(
    ("saved", "state"),
    [({}, PublishState.FAILED),
     ({"container_id": "c-1", "call_in_flight": "media_publish"}, PublishState.UNCONFIRMED)],
    ids=["nothing-sent", "media-publish-in-flight"],
)
async def test_a_domain_error_mid_run_ends_the_publish_with_that_error(
    world: World, saved: dict[str, str], state: PublishState
) -> None:
    # The token expires in a day and Instagram refuses to refresh it: AccountTokens raises
    # ACCOUNT_REFRESH_FAILED from inside the workflow's first step.
    account = await world.instagram_account(access_token_expires_at=world.at(86400))
    publish = await world.seed(await world.instagram_request(2, account), **saved)
    world.instagram.script("refresh_long_lived_token", IgFailure.token_rejected("refresh_long_lived_token"))
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == state
    assert final.error is not None
    assert (final.error.code, final.error.reason) == ("FAILED_PRECONDITION", "ACCOUNT_REFRESH_FAILED")
    assert world.instagram.methods() == ["refresh_long_lived_token"]
    assert await world.new_events(publish.id) == [state.value]
    assert world.metrics.finished == [(Platform.INSTAGRAM, state)]


async def test_a_bug_after_media_publish_was_sent_ends_unconfirmed(world: World) -> None:
    world.instagram.script("publish", RuntimeError("bug"))
    _, publish = await _fails(world)
    assert publish.state == PublishState.UNCONFIRMED
    assert publish.error is not None
    assert (publish.error.code, publish.error.reason) == ("INTERNAL", "INTERNAL_ERROR")
    assert "see the service log" in publish.error.message


async def _fails(world: World) -> tuple[DomainError, Publish]:
    with pytest.raises(DomainError) as caught:
        await world.publish(await world.instagram_request(2))
    return caught.value, await world.only_publish()


async def test_stop_with_nothing_running_returns_at_once(world: World) -> None:
    await world.services.runner.stop(10)
    assert world.services.runner.in_flight == 0


async def test_stop_lets_a_publish_finish_within_the_grace_period(world: World) -> None:
    world.instagram.add_container("carousel-1", *["IN_PROGRESS"] * 5, "FINISHED")
    held = world.instagram.hold("create_carousel_container")
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    stopping = asyncio.create_task(world.services.runner.stop(10))
    await asyncio.sleep(0)
    held.release()
    await stopping
    assert (await caller).state == PublishState.PUBLISHED
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.PUBLISHED)]


async def test_stop_after_the_grace_period_leaves_the_publish_to_resume_at_next_start(world: World) -> None:
    request = await world.instagram_request(2)
    held = world.instagram.hold("publish")
    caller = asyncio.create_task(world.publish(request))
    await held.reached.wait()
    await world.services.runner.stop(0)
    with pytest.raises(asyncio.CancelledError):
        await caller
    stopped = await world.only_publish()
    assert stopped.state == PublishState.PROCESSING
    assert stopped.call_in_flight == "media_publish"
    assert (stopped.owner, stopped.lease_until) == (None, None)  # handed back: free to resume at once
    assert world.metrics.finished == []
    assert world.services.runner.in_flight == 0

    # The next start: new use cases on the same store and platform. media_publish was in
    # flight and never answered: the container's status decides (it is still FINISHED).
    restarted = build_services(
        world.settings, Adapters(world.store, world.instagram, world.tiktok, world.clock, world.segmenter),
        "restarted-replica",
    )
    assert await restarted.runner.resume_unfinished() == 1
    final = await restarted.runner.wait(stopped)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 2
    assert await world.timeline(final.id) == [
        *instagram_timeline(2)[:-3], "PUBLISH_SENT", "RUN_HANDED_BACK", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]


# --- leases -----------------------------------------------------------------------------------


async def _running_with_held(world: World, method: str) -> tuple[asyncio.Task[Publish], Publish, Hold]:
    """A publish whose run waits inside `method`, with the caller's task."""
    held = world.instagram.hold(method)
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    return caller, await world.only_publish(), held


async def _finished_elsewhere(world: World, publish: Publish, owner: str = "other-replica") -> None:
    """Another replica ends the publish and releases it; its commit reaches us by the feed."""
    await world.store.publishes.apply(
        publish.id, setting(state=PublishState.PUBLISHED, ig_media_id="1790000000000077"),
        [PublishEvent("PUBLISHED", "published by another replica", PublishState.PUBLISHED)], owner=owner,
    )
    await world.store.publishes.apply(publish.id, PublishChange(lease=CLEAR), [], owner=owner)
    world.store.changes.notify(publish.id)


async def test_the_upkeep_renews_the_leases_of_running_publishes(world: World) -> None:
    caller, publish, held = await _running_with_held(world, "publish")
    first_lease = publish.lease_until
    assert first_lease is not None
    world.services.runner.start()
    await until(lambda: (world.store.publishes.rows[publish.id].lease_until or first_lease) > first_lease)
    held.release()
    assert (await caller).state == PublishState.PUBLISHED


async def test_a_run_held_for_three_ttls_keeps_a_live_lease_at_every_moment(world: World) -> None:
    """On the virtual clock, with only the upkeep's sleeps moving time: from the run's first
    write to three lease lengths later, its lease never ends, and each renewal comes at most
    `renew_every` after the one before (the first counts from when the lease was taken)."""
    leases = world.services.runner.leases
    store = world.store.publishes
    renewed_at: list[datetime] = []
    renew = store.renew_leases

    async def renewing(owner: str, publish_ids: Sequence[str], lease_until: datetime) -> set[str]:
        renewed_at.append(world.clock.now())
        return await renew(owner, publish_ids, lease_until)

    store.renew_leases = renewing  # type: ignore[method-assign]
    world.services.runner.start()
    caller, publish, held = await _running_with_held(world, "publish")
    assert publish.lease_until is not None
    taken_at = publish.lease_until - timedelta(seconds=leases.ttl)
    lapsed: list[datetime] = []
    advance = world.clock.advance

    def watched(seconds: float) -> None:
        advance(seconds)
        lease = store.rows[publish.id].lease_until
        if lease is None or lease <= world.clock.now():
            lapsed.append(world.clock.now())

    world.clock.advance = watched  # type: ignore[method-assign]
    end = taken_at + timedelta(seconds=3 * leases.ttl)
    await until(lambda: world.clock.now() >= end, steps=100_000)
    assert lapsed == []
    times = [taken_at, *renewed_at]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 3 * leases.ttl / leases.renew_every - 1
    assert max(gaps) <= leases.renew_every
    held.release()
    assert (await caller).state == PublishState.PUBLISHED


async def test_the_upkeep_takes_over_a_publish_whose_replica_died(world: World) -> None:
    world.instagram.add_container("c-1")
    orphan = await world.seed(await world.instagram_request(2), container_id="c-1")
    world.store.publishes.rows[orphan.id].owner = "dead-replica"
    world.store.publishes.rows[orphan.id].lease_until = world.at(10)
    world.services.runner.start()
    await until(lambda: world.store.publishes.rows[orphan.id].done)
    final = world.store.publishes.rows[orphan.id]
    assert final.state == PublishState.PUBLISHED
    assert world.clock.now() > world.at(-1)  # virtual time moved past the dead lease
    assert world.instagram.count("publish") == 1


async def test_a_takeover_says_in_the_timeline_who_let_the_lease_lapse_when_and_who_took_over(world: World) -> None:
    world.instagram.add_container("c-1")
    orphan = await world.seed(await world.instagram_request(2), container_id="c-1")
    handed_back = await world.seed(await world.instagram_request(2, caption="handed back"))
    lapsed_at = world.clock.now() - timedelta(seconds=5)
    world.store.publishes.rows[orphan.id].owner = "dead-replica"
    world.store.publishes.rows[orphan.id].lease_until = lapsed_at
    assert await world.services.runner.resume_unfinished() == 2
    await until(lambda: world.store.publishes.rows[orphan.id].done and world.store.publishes.rows[handed_back.id].done)
    [event] = [e for e in await world.events(orphan.id) if e.type == "TAKEN_OVER"]
    assert event.details == {"lapsed_owner": "dead-replica", "lapsed_at": lapsed_at.isoformat(), "owner": REPLICA}
    assert event.message == (
        f"Replica {REPLICA} took over this publish: replica dead-replica let its lease lapse at "
        f"{lapsed_at.isoformat()}; it resumes from its last saved step"
    )
    # A publish no run held (handed back at a shutdown) is resumed, not taken over.
    assert "TAKEN_OVER" not in [e.type for e in await world.events(handed_back.id)]
    assert world.metrics.takeovers == [Platform.INSTAGRAM]


async def test_the_upkeep_goes_on_when_the_store_is_away_for_a_moment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = world.store.publishes.claim_orphans
    refusals = []

    async def away_once(*args: object) -> list[Publish]:
        if not refusals:
            refusals.append(args)
            raise StoreUnavailable(reason="STORE_UNAVAILABLE", message="away")
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(world.store.publishes, "claim_orphans", away_once)
    orphan = await world.seed(await world.instagram_request(2), state=PublishState.PENDING)
    world.services.runner.start()
    await until(lambda: world.store.publishes.rows[orphan.id].done)
    assert len(refusals) == 1


async def test_the_upkeep_goes_on_after_an_unexpected_store_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = world.store.publishes.claim_orphans
    failures = []

    async def broken_once(*args: object) -> list[Publish]:
        if not failures:
            failures.append(args)
            raise RuntimeError("disk I/O error")
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(world.store.publishes, "claim_orphans", broken_once)
    world.services.runner.start()
    try:
        await until(lambda: bool(failures))
        orphan = await world.seed(await world.instagram_request(2), state=PublishState.PENDING)
        await until(lambda: world.store.publishes.rows[orphan.id].done)
    finally:
        with contextlib.suppress(RuntimeError):  # today stop() raises the upkeep's error
            await world.services.runner.stop(0)


async def test_a_run_whose_lease_was_taken_over_writes_nothing_more_and_its_caller_gets_the_outcome(
    world: World,
) -> None:
    caller, publish, held = await _running_with_held(world, "create_carousel_container")
    # This replica stalled past its lease; another one took the publish over.
    [taken] = await world.store.publishes.claim_orphans("other-replica", world.at(100), world.at(60), 10)
    assert taken.id == publish.id
    held.release()
    await until(lambda: world.services.runner.in_flight == 0)
    stored = world.store.publishes.rows[publish.id]
    assert stored.container_id is None  # its write was refused
    assert world.instagram.methods()[-1] == "create_carousel_container"  # and it called no more
    assert not caller.done()  # the caller waits for the replica that drives it now
    await _finished_elsewhere(world, publish)
    final = await caller
    assert (final.state, final.ig_media_id, final.owner) == (PublishState.PUBLISHED, "1790000000000077", None)
    assert world.metrics.finished == []  # counted by the replica that finished it


async def test_a_lease_lost_at_renewal_leaves_the_caller_waiting_for_the_outcome(world: World) -> None:
    caller, publish, _held = await _running_with_held(world, "publish")
    await world.store.publishes.claim_orphans("other-replica", world.at(1000), world.at(500), 10)
    world.services.runner.start()
    await until(lambda: world.services.runner.in_flight == 0)
    await _finished_elsewhere(world, publish)
    [outcome] = await asyncio.gather(caller, return_exceptions=True)
    assert isinstance(outcome, Publish)
    assert outcome.state == PublishState.PUBLISHED


async def test_waiting_for_a_publish_another_replica_drives(world: World) -> None:
    request = await world.instagram_request(2, request_id=str(uuid.uuid4()))
    running_elsewhere = await world.seed(request)
    world.store.publishes.rows[running_elsewhere.id].owner = "other-replica"
    world.store.publishes.rows[running_elsewhere.id].lease_until = world.at(15)
    retry = asyncio.create_task(world.publish(request))  # a retry with the same request_id
    await until(lambda: running_elsewhere.id in world.services.publish_log._subscribers)
    assert world.services.runner.in_flight == 0  # not driven here
    await _finished_elsewhere(world, running_elsewhere)
    assert (await retry).state == PublishState.PUBLISHED
    assert world.instagram.calls == []
