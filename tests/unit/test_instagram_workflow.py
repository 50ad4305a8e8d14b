"""The Instagram carousel workflow, step by step, on fakes: what the record, the timeline and
the platform calls show for every branch (server/services/workflow/instagram.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from server.domain.commands import InstagramCarousel
from server.domain.errors import Aborted, DeadlineExceeded, FailedPrecondition, Unavailable
from server.domain.models import AccountState, Platform, PublishState
from server.domain.platforms import ContainerStatus, IgMedia, PlatformFailure
from server.services.workflow.instagram import MAX_PUBLISH_ATTEMPTS
from tests.fakes import NORMAL, Applied, IgFailure
from tests.fakes.instagram import graph_timestamp
from tests.unit.conftest import IG_USER, World
from tests.unit.helpers import children, error_of, instagram_calls, instagram_timeline, publish_fails, until


async def test_publishes_a_carousel_one_saved_step_at_a_time(world: World) -> None:
    request = await world.instagram_request(3, caption="Autumn #demo")
    publish = await world.publish(request)

    assert publish.state == PublishState.PUBLISHED
    assert publish.child_container_ids == ["child-1", "child-2", "child-3"]
    assert publish.container_id == "carousel-1"
    assert publish.ig_media_id == "1790000000000001"
    assert publish.permalink == "https://www.instagram.com/p/Post1/"
    assert (publish.pending_facts, publish.reconcile_at) == ([], None)
    assert (publish.call_in_flight, publish.error) == (None, None)
    assert publish.published_at == world.clock.now()
    assert await world.timeline(publish.id) == instagram_timeline(3)
    assert world.instagram.methods() == instagram_calls(3)
    ig = world.instagram
    assert [c.args["image_url"] for c in ig.calls_to("create_image_container")] == [
        f"https://storage.googleapis.com/bucket/photo-{n}.jpg" for n in (1, 2, 3)
    ]
    assert {c.args["ig_user_id"] for c in ig.calls_to("create_image_container")} == {IG_USER}
    carousel = ig.calls_to("create_carousel_container")[0].args
    assert (carousel["children"], carousel["caption"]) == (["child-1", "child-2", "child-3"], "Autumn #demo")
    assert ig.calls_to("publish")[0].args["creation_id"] == "carousel-1"
    assert {c.args["token"] for c in ig.calls if "token" in c.args} == {"ig-token"}
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.PUBLISHED)]
    events = await world.events(publish.id)
    assert events[-1].details == {"permalink": publish.permalink, "shortcode": "Post1"}
    assert events[-2].details == {"ig_media_id": publish.ig_media_id, "creation_id": "carousel-1"}


async def test_containers_still_processing_are_polled_until_finished(world: World) -> None:
    world.instagram.add_container("child-2", "IN_PROGRESS", "IN_PROGRESS", "FINISHED")
    world.instagram.add_container("carousel-1", "IN_PROGRESS", "FINISHED")
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("container_statuses") == 3 + 2
    assert await world.timeline(publish.id) == instagram_timeline(2)
    assert world.clock.slept > 0  # it waited between polls (virtual time)
    events = await world.events(publish.id)
    assert events[4].details == {"child-1": "FINISHED", "child-2": "FINISHED"}


# --- item containers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "creates", "expected"),
    [
        pytest.param(IgFailure.fetch_failed(), 3,
                     {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_MEDIA_FETCH_FAILED", "item": 1}, id="final"),
        pytest.param(IgFailure.answered("create_image_container", code="36003", message="Aspect ratio"), 3,
                     {"code": "INVALID_ARGUMENT", "reason": "INSTAGRAM_ASPECT_RATIO_UNSUPPORTED", "item": 1},
                     id="invalid-image"),
        pytest.param(IgFailure.refused("create_image_container"), 3 + 5,
                     {"code": "UNAVAILABLE", "reason": "INSTAGRAM_UNREACHABLE", "item": 1}, id="unreachable-6-times"),
    ],
)
async def test_an_item_container_that_cannot_be_created_fails_the_publish_naming_the_item(
    world: World, failure: PlatformFailure, creates: int, expected: dict[str, object]
) -> None:
    # Items are created side by side: item 0, 1, 2 are asked first, then item 1's retries.
    world.instagram.script("create_image_container", NORMAL, failure, NORMAL, *[failure] * (creates - 3))
    error, publish = await publish_fails(world, await world.instagram_request(3))
    assert error_of(publish) == expected
    assert error.metadata["field"] == "media_ids[1]"
    assert publish.state == PublishState.FAILED
    assert publish.child_container_ids == ["child-1", None, "child-2"]
    assert await world.timeline(publish.id) == ["CREATED", "PROCESSING_STARTED", *children(2), "FAILED"]
    assert world.instagram.methods() == ["publishing_limit", *["create_image_container"] * creates]
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.FAILED)]


async def test_a_transient_item_failure_is_retried_and_posts_once(world: World) -> None:
    world.instagram.script("create_image_container", IgFailure.server_error("create_image_container"),
                           IgFailure.rate_limited("create_image_container", retry_after=2))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("create_image_container") == 4
    assert world.instagram.count("publish") == 1
    assert world.metrics.retries == [("instagram", "create_container")] * 2
    assert 2 in world.clock.sleeps  # Retry-After honoured
    assert await world.timeline(publish.id) == instagram_timeline(2)


async def test_a_bug_while_creating_items_ends_the_publish_as_an_internal_error(world: World) -> None:
    world.instagram.script("create_image_container", RuntimeError("bug in the client"))
    error, publish = await publish_fails(world, await world.instagram_request(2))
    assert error.code == "INTERNAL"
    assert error_of(publish) == {"code": "INTERNAL", "reason": "INTERNAL_ERROR"}
    assert publish.state == PublishState.FAILED
    assert await world.timeline(publish.id) == ["CREATED", "PROCESSING_STARTED", *children(1), "FAILED"]


@pytest.mark.parametrize(
    ("status", "expected", "exception"),
    [
        pytest.param("ERROR 2207052", {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_MEDIA_FETCH_FAILED",
                                       "item": 1}, FailedPrecondition, id="error-fetch"),
        pytest.param("ERROR 2207009", {"code": "INVALID_ARGUMENT", "reason": "INSTAGRAM_ASPECT_RATIO_UNSUPPORTED",
                                       "item": 1}, None, id="error-aspect-ratio"),
        pytest.param("ERROR", {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_CONTAINER_ERROR", "item": 1},
                     FailedPrecondition, id="error-without-subcode"),
        pytest.param("EXPIRED", {"code": "ABORTED", "reason": "INSTAGRAM_CONTAINER_EXPIRED", "item": 1}, Aborted,
                     id="expired"),
        pytest.param("PUBLISHED", {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_CONTAINER_ALREADY_USED",
                                   "item": 1}, FailedPrecondition, id="already-used"),
    ],
)
async def test_an_item_container_that_ends_badly_fails_the_publish_naming_it(
    world: World, status: str, expected: dict[str, object], exception: type[Exception] | None
) -> None:
    world.instagram.add_container("child-2", "IN_PROGRESS", status)
    error, publish = await publish_fails(world, await world.instagram_request(3))
    if exception is not None:
        assert isinstance(error, exception)
    assert error_of(publish) == expected
    assert publish.error is not None
    assert publish.error.message.startswith("media_ids[1]: ")
    assert await world.timeline(publish.id) == ["CREATED", "PROCESSING_STARTED", *children(3), "FAILED"]
    assert world.instagram.methods() == ["publishing_limit", *["create_image_container"] * 3,
                                         "container_statuses", "container_statuses"]
    assert world.instagram.count("publish") == 0


async def test_a_container_error_the_adapter_could_not_map_still_fails_the_publish(world: World) -> None:
    world.instagram.script("container_statuses", NORMAL, {"carousel-1": ContainerStatus("carousel-1", "ERROR", "")})
    _, publish = await publish_fails(world, await world.instagram_request(2))
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_CONTAINER_ERROR"}
    assert publish.error is not None
    assert "could not process container carousel-1" in publish.error.message


async def test_an_expired_carousel_container_aborts_without_posting(world: World) -> None:
    world.instagram.add_container("carousel-1", "EXPIRED")
    error, publish = await publish_fails(world, await world.instagram_request(2), Aborted)
    assert error_of(publish) == {"code": "ABORTED", "reason": "INSTAGRAM_CONTAINER_EXPIRED"}
    assert error.metadata["retryable"] == "true"
    assert await world.timeline(publish.id) == [
        "CREATED", "PROCESSING_STARTED", *children(2), "CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED", "FAILED"
    ]
    assert world.instagram.count("publish") == 0


async def test_item_containers_still_processing_at_the_poll_timeout_fail_unavailable(world: World) -> None:
    world.instagram.add_container("child-1", "IN_PROGRESS")
    _, publish = await publish_fails(world, await world.instagram_request(2), Unavailable)
    assert error_of(publish) == {"code": "UNAVAILABLE", "reason": "INSTAGRAM_PROCESSING_TIMEOUT"}
    assert publish.error is not None
    assert "not FINISHED within 300s" in publish.error.message
    assert "'child-1': 'IN_PROGRESS'" in publish.error.message
    assert world.clock.slept == pytest.approx(300)
    assert await world.timeline(publish.id) == ["CREATED", "PROCESSING_STARTED", *children(2), "FAILED"]


async def test_a_carousel_still_processing_at_the_poll_timeout_is_deadline_exceeded(world: World) -> None:
    world.instagram.add_container("carousel-1", "IN_PROGRESS")
    _, publish = await publish_fails(world, await world.instagram_request(2), DeadlineExceeded)
    assert error_of(publish) == {"code": "DEADLINE_EXCEEDED", "reason": "INSTAGRAM_PROCESSING_TIMEOUT"}
    assert world.instagram.count("publish") == 0


async def test_status_reads_failing_transiently_until_the_timeout_name_the_last_failure(world: World) -> None:
    world.instagram.script("container_statuses", *[IgFailure.timed_out("container_statuses")] * 1000)
    _, publish = await publish_fails(world, await world.instagram_request(2), Unavailable)
    assert publish.error is not None
    assert "last statuses: unknown" in publish.error.message
    assert "last status read failed: instagram container_status" in publish.error.message
    assert world.instagram.count("create_carousel_container") == 0


async def test_a_status_read_refused_for_good_fails_the_publish(world: World) -> None:
    world.instagram.script("container_statuses", IgFailure.answered("container_statuses", code="10",
                                                                    message="Permission denied"))
    _, publish = await publish_fails(world, await world.instagram_request(2), FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_PERMISSION_MISSING"}
    assert world.instagram.count("container_statuses") == 1


async def test_a_token_rejected_mid_publish_fails_it_and_marks_the_account(world: World) -> None:
    account = await world.instagram_account()
    world.instagram.script("container_statuses", IgFailure.token_rejected("container_statuses"))
    _, publish = await publish_fails(world, await world.instagram_request(2, account), FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_TOKEN_INVALID"}
    assert publish.error is not None
    assert publish.error.token_rejected
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


# --- the carousel container -------------------------------------------------------------------


async def test_a_carousel_container_that_cannot_be_created_fails_the_publish(world: World) -> None:
    world.instagram.script("create_carousel_container",
                           IgFailure.answered("create_carousel_container", code="100", subcode="2207028",
                                              message="Carousel item count"))
    error, publish = await publish_fails(world, await world.instagram_request(2))
    assert error_of(publish) == {"code": "INVALID_ARGUMENT", "reason": "INSTAGRAM_CAROUSEL_ITEM_COUNT"}
    assert error.metadata["platform_subcode"] == "2207028"
    assert error.metadata["platform_trace_id"] == "AbCdEfTrace"
    assert publish.container_id is None
    assert await world.timeline(publish.id) == [
        "CREATED", "PROCESSING_STARTED", *children(2), "CHILDREN_FINISHED", "FAILED"
    ]
    assert world.instagram.methods()[-1] == "create_carousel_container"


# --- media_publish ----------------------------------------------------------------------------


async def test_not_ready_from_media_publish_waits_and_publishes_once(world: World) -> None:
    world.instagram.script("publish", IgFailure.not_ready())
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 2
    assert (await world.timeline(publish.id))[-5:] == [
        "PUBLISH_SENT", "PUBLISH_NOT_READY", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]


@pytest.mark.parametrize(
    "failure",
    [IgFailure.server_error("publish"), IgFailure.timed_out("publish"), IgFailure.bad_answer("publish")],
    ids=["answered-500", "timed-out", "no-id-in-answer"],
)
async def test_media_publish_that_went_live_although_it_failed_is_found_not_resent(
    world: World, failure: PlatformFailure
) -> None:
    assert failure.maybe_applied
    world.instagram.script("publish", Applied(failure))
    publish = await world.publish(await world.instagram_request(2, caption="live"))
    assert publish.state == PublishState.PUBLISHED
    assert publish.ig_media_id == "1790000000000001"
    assert publish.permalink == "https://www.instagram.com/p/Post1/"
    assert world.instagram.count("publish") == 1
    assert world.instagram.methods()[-4:] == ["publish", "container_statuses", "recent_media", "media"]
    assert (await world.timeline(publish.id))[-4:] == [
        "PUBLISH_SENT", "PUBLISH_OUTCOME_UNKNOWN", "PUBLISHED", "PERMALINK_READ"
    ]
    events = await world.events(publish.id)
    assert events[-3].details["http_status"] == str(failure.http_status)
    assert events[-2].message == "The carousel container is PUBLISHED; found IG media 1790000000000001"


async def test_media_publish_timed_out_before_it_took_effect_is_sent_again(world: World) -> None:
    world.instagram.script("publish", IgFailure.timed_out("publish"))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 2
    assert world.instagram.count("recent_media") == 0
    assert (await world.timeline(publish.id))[-5:] == [
        "PUBLISH_SENT", "PUBLISH_OUTCOME_UNKNOWN", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]


async def test_media_publish_refused_before_sending_fails_at_once_and_posts_nothing(world: World) -> None:
    failure = IgFailure.refused("publish")
    assert not failure.maybe_applied
    world.instagram.script("publish", failure)
    error, publish = await publish_fails(world, await world.instagram_request(2), Unavailable)
    assert error_of(publish) == {"code": "UNAVAILABLE", "reason": "INSTAGRAM_UNREACHABLE"}
    assert error.metadata["retryable"] == "true"  # publishing again (a new publish) may succeed
    assert world.instagram.count("publish") == 1
    assert world.instagram.count("recent_media") == 0
    assert (await world.timeline(publish.id))[-2:] == ["PUBLISH_SENT", "FAILED"]


@pytest.mark.parametrize(
    "failure",
    [IgFailure.not_ready(), IgFailure.timed_out("publish")],
    ids=["not-ready", "timed-out"],
)
async def test_every_media_publish_attempt_used_up_fails_saying_nothing_was_posted(
    world: World, failure: PlatformFailure
) -> None:
    world.instagram.script("publish", *[failure] * MAX_PUBLISH_ATTEMPTS)
    error, publish = await publish_fails(world, await world.instagram_request(2), Unavailable)
    assert error_of(publish) == {"code": "UNAVAILABLE", "reason": "INSTAGRAM_PUBLISH_FAILED"}
    assert "nothing was posted" in error.message
    assert error.metadata["retryable"] == "true"
    assert world.instagram.count("publish") == MAX_PUBLISH_ATTEMPTS
    assert world.instagram.count("container_statuses") == 1 + MAX_PUBLISH_ATTEMPTS + 1
    timeline = await world.timeline(publish.id)
    assert timeline.count("PUBLISH_SENT") == MAX_PUBLISH_ATTEMPTS
    assert timeline[-1] == "FAILED"


async def test_a_final_media_publish_refusal_fails_the_publish(world: World) -> None:
    world.instagram.script("publish", IgFailure.answered("publish", code="9", subcode="2207042",
                                                         message="Publish limit reached"))
    error, publish = await publish_fails(world, await world.instagram_request(2))
    assert error_of(publish) == {"code": "RESOURCE_EXHAUSTED", "reason": "INSTAGRAM_PUBLISH_LIMIT_REACHED"}
    assert error.code == "RESOURCE_EXHAUSTED"
    assert world.instagram.count("publish") == 1
    assert (await world.timeline(publish.id))[-2:] == ["PUBLISH_SENT", "FAILED"]


async def test_a_token_rejected_by_media_publish_marks_the_account(world: World) -> None:
    account = await world.instagram_account()
    world.instagram.script("publish", IgFailure.token_rejected("publish"))
    await publish_fails(world, await world.instagram_request(2, account), FailedPrecondition)
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_media_publish_rejected_after_a_reconnect_meanwhile_is_sent_once_more_with_the_new_token(
    world: World,
) -> None:
    account = await world.instagram_account()
    held = world.instagram.hold("create_carousel_container")
    world.instagram.script("publish", IgFailure.token_rejected("publish"))
    run = asyncio.create_task(world.publish(await world.instagram_request(2, account)))
    await held.reached.wait()
    # The owner reconnects the account while the publish is under way: the run's token is dead.
    await world.instagram_account(access_token="ig-token-2")
    held.release()
    publish = await run
    assert publish.state == PublishState.PUBLISHED
    assert [c.args["token"] for c in world.instagram.calls_to("publish")] == ["ig-token", "ig-token-2"]
    assert world.instagram.count("refresh_long_lived_token") == 0  # the stored token was new: no refresh
    assert "TOKEN_REFRESHED" in await world.timeline(publish.id)
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.ACTIVE


async def test_unknown_outcome_and_an_unreadable_status_end_unconfirmed(world: World) -> None:
    world.instagram.script("publish", IgFailure.timed_out("publish"))
    world.instagram.script("container_statuses", NORMAL, NORMAL,
                           IgFailure.answered("container_statuses", code="10", message="Permission denied"))
    error, publish = await publish_fails(world, await world.instagram_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert error_of(publish) == {"code": "DEADLINE_EXCEEDED", "reason": "PUBLISH_UNCONFIRMED"}
    assert error.message.startswith(
        "The outcome of the Instagram publish could not be established: the container status cannot be read: "
    )
    assert error.message.endswith(". It may be live; do not publish it again without checking.")
    assert (await world.timeline(publish.id))[-3:] == ["PUBLISH_SENT", "PUBLISH_OUTCOME_UNKNOWN", "UNCONFIRMED"]
    assert world.metrics.finished == [(Platform.INSTAGRAM, PublishState.UNCONFIRMED)]


async def test_unknown_outcome_and_status_reads_failing_until_the_timeout_end_unconfirmed(world: World) -> None:
    world.instagram.script("publish", IgFailure.server_error("publish"))
    world.instagram.script("container_statuses", NORMAL, NORMAL, *[IgFailure.timed_out("container_statuses")] * 1000)
    error, publish = await publish_fails(world, await world.instagram_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert "could not be established; last status read failed" in error.message
    assert world.instagram.count("publish") == 1


# --- finding a post whose media id was lost ---------------------------------------------------


async def test_two_matching_recent_posts_leave_the_media_id_unknown(world: World) -> None:
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    request = await world.instagram_request(2, caption="twins")
    world.instagram.add_post(IG_USER, "twins")  # posted by another app a moment before
    publish = await world.publish(request)
    assert publish.state == PublishState.PUBLISHED
    assert (publish.ig_media_id, publish.permalink) == (None, None)
    assert (publish.pending_facts, publish.reconcile_at) == ([], None)
    assert world.instagram.count("media") == 0
    events = await world.events(publish.id)
    assert events[-1].type == "PUBLISHED"
    assert "could not be told apart" in events[-1].message


async def test_recovery_skips_posts_that_are_older_have_another_caption_or_are_claimed(world: World) -> None:
    account = await world.instagram_account()
    world.instagram.add_post(IG_USER, "mine", world.at(-120))  # before the publish was created
    world.instagram.add_post(IG_USER, "someone else's")
    claimed = world.instagram.add_post(IG_USER, "mine")
    earlier = await world.seed(await world.instagram_request(2, account, caption="mine"), state=PublishState.PUBLISHED,
                               ig_media_id=claimed.id)
    assert earlier.ig_media_id == claimed.id
    world.instagram.script("publish", Applied(IgFailure.server_error("publish")))
    world.clock.advance(1)
    publish = await world.publish(await world.instagram_request(2, account, caption="mine", allow_duplicate=True))
    assert publish.ig_media_id == "1790000000000004"
    assert publish.permalink == "https://www.instagram.com/p/Post4/"


async def test_a_post_listed_without_its_caption_still_counts(world: World) -> None:
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    request = await world.instagram_request(2, caption="x")
    listed = IgMedia("1799", "https://www.instagram.com/p/X/", "X", graph_timestamp(world.clock.now()), caption=None)
    world.instagram.script("recent_media", [listed])
    publish = await world.publish(request)
    assert publish.ig_media_id == "1799"
    assert world.instagram.calls_to("recent_media")[0].args["limit"] == 25


async def test_a_failed_recent_media_read_leaves_the_media_id_unknown(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="distribution.workflow.instagram")
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    failure = IgFailure.server_error("recent_media")
    world.instagram.script("recent_media", failure)
    publish = await world.publish(await world.instagram_request(2))
    [logged] = [r for r in caplog.records if r.name == "distribution.workflow.instagram"]
    assert logged.getMessage() == "recent media read failed"
    assert (logged.publish_id, logged.error) == (publish.id, str(failure))  # type: ignore[attr-defined]
    assert publish.state == PublishState.PUBLISHED
    assert publish.ig_media_id is None
    assert world.instagram.count("recent_media") == 1  # a read that failed is not retried here


# --- the permalink ----------------------------------------------------------------------------


@pytest.mark.parametrize("why", ["read-failed", "not-given-yet"])
async def test_a_permalink_not_read_is_left_to_the_reconciler_and_the_post_is_live(world: World, why: str) -> None:
    if why == "read-failed":
        world.instagram.script("media", IgFailure.server_error("media"))
    else:
        world.instagram.permalinks_ready = False
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert publish.permalink is None
    assert publish.pending_facts == ["permalink"]
    assert publish.reconcile_at == world.clock.now() + timedelta(seconds=30)
    assert (await world.timeline(publish.id))[-2:] == ["PUBLISHED", "PERMALINK_PENDING"]


async def test_a_bug_after_the_post_went_live_keeps_it_published(world: World) -> None:
    world.instagram.script("media", RuntimeError("bug in the permalink read"))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert publish.error is None
    assert (await world.timeline(publish.id))[-1] == "PUBLISHED"


# --- resumed after a restart ------------------------------------------------------------------


async def test_a_run_resumed_with_every_item_created_goes_on_from_the_carousel(world: World) -> None:
    world.instagram.add_container("old-1")
    world.instagram.add_container("old-2")
    publish = await world.seed(await world.instagram_request(2), children=["old-1", "old-2"])
    assert await world.services.runner.resume_unfinished() == 1
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert await world.new_events(publish.id) == [
        "CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]
    assert world.instagram.methods() == ["container_statuses", "create_carousel_container", "container_statuses",
                                         "publish", "media"]
    assert world.instagram.calls_to("create_carousel_container")[0].args["children"] == ["old-1", "old-2"]


@pytest.mark.parametrize(
    ("saved", "created"),
    [([None, "old-2", None], 2), ([], 3)],
    ids=["some-items-saved", "record-without-item-slots"],
)
async def test_a_resumed_run_creates_only_the_missing_items(
    world: World, saved: list[str | None], created: int
) -> None:
    world.instagram.add_container("old-2")
    request = await world.instagram_request(3)
    publish = await world.seed(request, children=saved)
    if not saved:
        world.store.publishes.rows[publish.id].child_container_ids = []  # a record from before item slots
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.count("create_image_container") == created
    assert len([c for c in final.child_container_ids if c]) == 3


async def test_a_resumed_run_with_its_carousel_saved_only_waits_and_publishes(world: World) -> None:
    world.instagram.add_container("carousel-9", "IN_PROGRESS", "FINISHED")
    world.instagram.captions["carousel-9"] = "saved"
    publish = await world.seed(await world.instagram_request(2), children=["a", "b"], container_id="carousel-9")
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.methods() == ["container_statuses", "container_statuses", "publish", "media"]
    assert await world.new_events(publish.id) == ["PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"]


async def test_a_run_resumed_with_media_publish_in_flight_finds_the_live_post(world: World) -> None:
    world.instagram.add_container("carousel-9", "PUBLISHED")
    request = await world.instagram_request(2, caption="crashed")
    world.clock.advance(5)
    post = world.instagram.add_post(IG_USER, "crashed")
    world.clock.advance(-5)
    publish = await world.seed(request, children=["a", "b"], container_id="carousel-9", call_in_flight="media_publish")
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert (final.state, final.ig_media_id, final.call_in_flight) == (PublishState.PUBLISHED, post.id, None)
    assert world.instagram.count("publish") == 0
    assert await world.new_events(publish.id) == ["PUBLISHED", "PERMALINK_READ"]


async def test_a_run_resumed_with_media_publish_in_flight_and_an_unpublished_container_sends_it(world: World) -> None:
    world.instagram.add_container("carousel-9", "FINISHED")
    publish = await world.seed(await world.instagram_request(2), children=["a", "b"], container_id="carousel-9",
                               call_in_flight="media_publish")
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 1


async def test_a_run_resumed_with_media_publish_in_flight_and_no_readable_status_is_unconfirmed(world: World) -> None:
    world.instagram.script("container_statuses", IgFailure.token_rejected("container_statuses"))
    publish = await world.seed(await world.instagram_request(2), children=["a", "b"], container_id="carousel-9",
                               call_in_flight="media_publish")
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.UNCONFIRMED
    assert world.instagram.count("publish") == 0
    assert await world.new_events(publish.id) == ["UNCONFIRMED"]


async def test_media_hosted_anywhere_is_fetched_by_instagram_from_its_https_form(world: World) -> None:
    account = await world.instagram_account()
    s3 = await world.images(1, url="s3://bucket/a-{n}.jpg")
    # (JPEG: Instagram takes no other format, and the publisher refuses a .png up front.)
    https = await world.images(1, url="https://cdn.example.com/b-{n}.jpeg")
    await world.publish(InstagramCarousel([*s3, *https], account.id))
    assert [c.args["image_url"] for c in world.instagram.calls_to("create_image_container")] == [
        "https://bucket.s3.amazonaws.com/a-1.jpg", "https://cdn.example.com/b-2.jpeg"
    ]


async def test_a_resumed_record_with_its_media_id_but_not_published_ends_published(world: World) -> None:
    publish = await world.seed(await world.instagram_request(2), container_id="c-1", ig_media_id="1790000000000009")
    await world.services.runner.resume_unfinished()
    # Not runner.wait(): it would wait for the record to be done, which it never is.
    await until(lambda: world.services.runner.in_flight == 0)
    final = await world.store.publishes.get(publish.id)
    assert final is not None
    assert final.state == PublishState.PUBLISHED


# --- the recovery window and what a recovered publish records ----------------------------------


async def test_recovery_takes_a_post_from_a_minute_before_the_publish_but_not_earlier(world: World) -> None:
    request = await world.instagram_request(2, caption="edge")
    earlier = IgMedia("1701", "https://www.instagram.com/p/E/", "E", graph_timestamp(world.at(-61)), caption="edge")
    edge = IgMedia("1702", "https://www.instagram.com/p/F/", "F", graph_timestamp(world.at(-60)), caption="edge")
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    world.instagram.script("recent_media", [edge, earlier])
    publish = await world.publish(request)
    assert publish.ig_media_id == "1702"  # the window opens a minute before the publish, to the second


async def test_a_publish_recovered_without_its_media_id_ends_the_run_saying_so(world: World) -> None:
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    request = await world.instagram_request(2, caption="twins")
    world.instagram.add_post(IG_USER, "twins")
    world.clock.advance(5)
    publish = await world.publish(request)
    assert publish.published_at == world.clock.now()
    assert (publish.owner, publish.done) == (None, True)
    last = (await world.events(publish.id))[-1]
    assert last.message == ("The carousel container is PUBLISHED; its IG media id could not be told apart among "
                            "the account's recent posts")


async def test_media_publish_in_flight_is_saved_before_the_call(world: World) -> None:
    # Should the service die while media_publish is out, the record must say so: a resumed
    # run then checks the container before anything else instead of publishing again.
    held = world.instagram.hold("publish")
    task = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    during = await world.only_publish()
    assert (during.call_in_flight, (await world.timeline(during.id))[-1]) == ("media_publish", "PUBLISH_SENT")
    held.release()
    publish = await task
    assert (publish.state, publish.call_in_flight) == (PublishState.PUBLISHED, None)


async def test_the_timeline_tells_each_step_in_words_and_details(world: World) -> None:
    # What GetPublish shows a user, word for word: a not-ready answer, a lost answer, the
    # post found live, and a permalink not given yet.
    world.instagram.script("publish", IgFailure.not_ready(), Applied(IgFailure.timed_out("publish")))
    world.instagram.permalinks_ready = False
    publish = await world.publish(await world.instagram_request(2))
    events = await world.events(publish.id)
    assert [(e.type, e.message) for e in events[2:]] == [
        ("CHILD_CONTAINER_CREATED", "Container child-1 created for media_ids[0]"),
        ("CHILD_CONTAINER_CREATED", "Container child-2 created for media_ids[1]"),
        ("CHILDREN_FINISHED", "All 2 item containers are FINISHED"),
        ("CAROUSEL_CONTAINER_CREATED", "Carousel container carousel-1 created"),
        ("PUBLISH_SENT", "Publishing carousel container carousel-1"),
        ("PUBLISH_NOT_READY", "Instagram says the carousel is not ready yet; waiting"),
        ("PUBLISH_SENT", "Publishing carousel container carousel-1"),
        ("PUBLISH_OUTCOME_UNKNOWN", "media_publish may have gone through (Instagram could not be reached for "
         "media_publish: no answer in time); checking the container before anything else"),
        ("PUBLISHED", "The carousel container is PUBLISHED; found IG media 1790000000000001"),
        ("PERMALINK_PENDING", "The post is live; Instagram has not given its permalink yet"),
    ]
    assert events[5].details == {"container_id": "carousel-1"}
    assert events[7].details["code"] == "9007"
    assert events[9].details["message"] == "Instagram could not be reached for media_publish: no answer in time"
    assert publish.published_at == world.clock.now()
    assert (publish.pending_facts, publish.reconcile_at) == (["permalink"], world.at(30))
    assert world.instagram.calls_to("create_carousel_container")[0].args["ig_user_id"] == IG_USER
    assert world.instagram.calls_to("recent_media")[0].args["token"] == "ig-token"


async def test_a_permalink_read_that_failed_says_it_will_be_read_again(world: World) -> None:
    world.instagram.script("media", IgFailure.server_error("media"))
    publish = await world.publish(await world.instagram_request(2))
    last = (await world.events(publish.id))[-1]
    assert (last.type, last.message) == (
        "PERMALINK_PENDING",
        "The post is live but its permalink could not be read yet (Instagram refused media_read: Service "
        "temporarily unavailable (code 2)); it will be read again later",
    )
