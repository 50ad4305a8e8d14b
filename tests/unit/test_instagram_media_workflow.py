"""A single image or Reel through the Instagram workflow, on fakes: one container created with
the caption and options and saved at once (never created again, a restart included), polled
(a Reel on its longer schedule, its processing in the timeline), then media_publish and the
permalink, as for carousels (server/services/workflow/instagram.py)."""

from __future__ import annotations

import dataclasses

import pytest

from server.domain.commands import InstagramMedia
from server.domain.errors import AlreadyExists, DeadlineExceeded, FailedPrecondition, ResourceExhausted
from server.domain.models import PublishKind, PublishState
from server.domain.options import ImageOptions, UserTag
from server.domain.ports import SingleMediaPost
from server.services.workflow.polling import INSTAGRAM_REELS
from tests.fakes import IgFailure
from tests.unit.conftest import World
from tests.unit.helpers import error_of, publish_fails

AFTER_CONTAINER = ["container_statuses", "publish", "media"]


async def request_for(world: World, url: str, **fields: object) -> InstagramMedia:
    account = await world.instagram_account()
    [media_id] = await world.images(1, url=url)
    return InstagramMedia(media_id=media_id, account_id=account.id, **fields)  # type: ignore[arg-type]


async def test_an_image_is_one_container_with_its_caption_and_options_then_media_publish(world: World) -> None:
    request = await request_for(
        world, "gs://bucket/one-{n}.jpg", caption="One #photo",
        image=ImageOptions("A leaf", (UserTag("ana", 0.1, 0.9),)), collaborators=("@bo",), location_id="123",
    )
    publish = await world.publish(request)

    assert (publish.state, publish.kind) == (PublishState.PUBLISHED, PublishKind.IMAGE)
    assert (publish.container_id, publish.child_container_ids) == ("image-1", [])
    # The quota read, as for a carousel; then the two calls that make the post, and the permalink.
    assert world.instagram.methods() == ["publishing_limit", "create_media_container", *AFTER_CONTAINER]
    post = world.instagram.calls_to("create_media_container")[0].args["post"]
    assert post == SingleMediaPost(
        url="https://storage.googleapis.com/bucket/one-1.jpg", reel=False, caption="One #photo", alt_text="A leaf",
        user_tags=(UserTag("ana", 0.1, 0.9),), collaborators=("bo",), location_id="123",
    )
    assert world.instagram.calls_to("publish")[0].args["creation_id"] == "image-1"
    assert await world.timeline(publish.id) == [
        "CREATED", "PROCESSING_STARTED", "CONTAINER_CREATED", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ",
    ]
    events = await world.events(publish.id)
    assert events[0].message == "Instagram image post recorded"


async def test_a_reel_is_polled_on_its_own_schedule_with_its_processing_in_the_timeline(world: World) -> None:
    world.instagram.add_container("reel-1", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "FINISHED")
    request = await request_for(world, "gs://bucket/reel-{n}.mp4", thumb_offset_ms=2500, share_to_feed=True)
    publish = await world.publish(request)

    assert (publish.state, publish.kind, publish.container_id) == (PublishState.PUBLISHED, PublishKind.REEL, "reel-1")
    post = world.instagram.calls_to("create_media_container")[0].args["post"]
    assert (post.reel, post.url, post.thumb_offset_ms, post.share_to_feed) == (
        True, "https://storage.googleapis.com/bucket/reel-1.mp4", 2500, True
    )
    assert world.instagram.count("container_statuses") == 4
    timeline = await world.timeline(publish.id)
    assert timeline == [
        "CREATED", "PROCESSING_STARTED", "CONTAINER_CREATED", "REEL_PROCESSING", "PUBLISH_SENT", "PUBLISHED",
        "PERMALINK_READ",
    ]
    # The Reel schedule's first waits (1 s, then 1.5 s, 2.25 s), not the images' quarter second.
    assert world.clock.slept >= INSTAGRAM_REELS.initial_interval * (1 + 1.5 + 2.25)
    events = await world.events(publish.id)
    assert events[0].message == "Instagram Reel recorded"
    assert events[3].details == {"container_id": "reel-1", "status": "IN_PROGRESS"}


async def test_a_restart_with_the_container_saved_never_creates_another(world: World) -> None:
    world.instagram.add_container("reel-7", "IN_PROGRESS", "FINISHED")
    request = await request_for(world, "gs://bucket/crash-{n}.mp4")
    seeded = await world.seed(request, container_id="reel-7")
    assert seeded.kind == PublishKind.REEL

    assert await world.services.runner.resume_unfinished() == 1
    publish = await world.services.publish_log.wait_until_done(seeded.id)

    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("create_media_container") == 0
    assert world.instagram.calls_to("publish")[0].args["creation_id"] == "reel-7"


async def test_a_reel_whose_processing_fails_ends_failed_with_the_platforms_words(world: World) -> None:
    world.instagram.add_container("reel-1", "IN_PROGRESS", "ERROR")
    request = await request_for(world, "gs://bucket/bad-{n}.mp4")
    _, publish = await publish_fails(world, request, FailedPrecondition)
    assert publish.state == PublishState.FAILED
    assert error_of(publish)["code"] == "FAILED_PRECONDITION"
    assert world.instagram.count("publish") == 0


async def test_a_reel_never_finished_within_its_horizon_is_deadline_exceeded(world: World) -> None:
    world.instagram.add_container("reel-1", *["IN_PROGRESS"] * 10_000)
    request = await request_for(world, "gs://bucket/slow-{n}.mp4")
    _, publish = await publish_fails(world, request, DeadlineExceeded)
    assert error_of(publish) == {"code": "DEADLINE_EXCEEDED", "reason": "INSTAGRAM_PROCESSING_TIMEOUT"}
    assert publish.error is not None
    assert "Instagram Reel containers were not FINISHED within 1800s" in publish.error.message
    assert world.instagram.count("publish") == 0


async def test_a_container_that_cannot_be_created_fails_the_publish(world: World) -> None:
    world.instagram.script("create_media_container", IgFailure.fetch_failed("create_media_container"))
    request = await request_for(world, "gs://bucket/gone-{n}.jpg")
    _, publish = await publish_fails(world, request, FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_MEDIA_FETCH_FAILED"}
    assert publish.container_id is None


async def test_a_scheduled_reel_runs_at_its_time_with_the_quota_reserved_then(world: World) -> None:
    request = await request_for(world, "gs://bucket/later-{n}.mp4", publish_time=world.at(120))
    scheduled = await world.publish(request)
    assert (scheduled.state, scheduled.kind) == (PublishState.SCHEDULED, PublishKind.REEL)
    assert world.instagram.calls == []  # nothing until its time (the quota is about the time of posting)
    assert (await world.events(scheduled.id))[0].message == "Instagram Reel recorded"
    world.clock.advance(121)
    [claimed] = await world.services.scheduler.run_due()
    stored = await world.store.publishes.get(claimed.id)
    assert stored is not None
    final = await world.services.runner.wait(stored)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.methods() == ["publishing_limit", "create_media_container", *AFTER_CONTAINER]


async def test_a_request_id_replays_the_publish_and_reused_for_another_media_is_refused(world: World) -> None:
    request = await request_for(world, "gs://bucket/same-{n}.jpg", request_id="0b6a4b38-5d8e-4c0e-9a51-31f4a1f3c001")
    first = await world.publish(request)
    again = await world.publish(request)
    assert again.id == first.id and world.instagram.count("create_media_container") == 1
    [other] = await world.images(1, url="gs://bucket/other-{n}.jpg")
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(dataclasses.replace(request, media_id=other))
    assert caught.value.reason == "REQUEST_ID_REUSED"


async def test_the_same_media_and_caption_again_within_a_day_is_refused_as_a_duplicate(world: World) -> None:
    request = await request_for(world, "gs://bucket/dup-{n}.jpg", caption="once")
    await world.publish(request)
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(request)
    assert caught.value.reason == "DUPLICATE_PUBLISH"
    assert (await world.publish(dataclasses.replace(request, allow_duplicate=True))).state == PublishState.PUBLISHED


async def test_a_reel_counts_against_the_24_hour_limit_and_is_refused_at_it(world: World) -> None:
    world.instagram.quota_usage = world.instagram.quota_total  # 50 posts in the last 24 hours
    request = await request_for(world, "gs://bucket/over-{n}.mp4")
    with pytest.raises(ResourceExhausted):
        await world.publish(request)
    assert world.instagram.methods() == ["publishing_limit"]  # no container spent
    assert world.store.publishes.rows == {}
    world.instagram.quota_usage = world.instagram.quota_total - 1
    world.clock.advance(3600)  # the cached reading is stale: read again
    assert (await world.publish(await request_for(world, "gs://bucket/last-{n}.mp4"))).state == PublishState.PUBLISHED
    assert world.instagram.quota_usage == world.instagram.quota_total  # the Reel was one post of the limit
