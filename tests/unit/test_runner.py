"""The runner: one task per publish, resumed at start, interrupted publishes recorded, and
shutdown after a grace period (server/services/workflow/runner.py)."""

from __future__ import annotations

import asyncio

import pytest

from server.bootstrap import Adapters, build_services
from server.domain.errors import DomainError
from server.domain.models import Platform, Publish, PublishState
from tests.fakes import IgFailure
from tests.unit.conftest import World
from tests.unit.helpers import instagram_timeline


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
    restarted = build_services(world.settings, Adapters(world.store, world.instagram, world.tiktok, world.clock),
                               "restarted-replica")
    assert await restarted.runner.resume_unfinished() == 1
    final = await restarted.runner.wait(stopped)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 2
    assert await world.timeline(final.id) == [
        *instagram_timeline(2)[:-3], "PUBLISH_SENT", "RUN_HANDED_BACK", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]
