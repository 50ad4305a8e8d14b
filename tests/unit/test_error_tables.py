"""The platform error tables at their boundaries (server/adapters/*/errors.py), and what a
publish ends as when a platform answers exactly at one: a bare HTTP 5xx (a proxy's page, no
error envelope) is transient; a bare 4xx is a final refusal. On the calls that post
(Instagram's media_publish, TikTok's init) a 5xx may come after the post went live.
"""

from __future__ import annotations

import pytest

from server.adapters.instagram.errors import graph_failure
from server.adapters.tiktok.errors import api_failure
from server.domain.errors import DeadlineExceeded, FailedPrecondition
from server.domain.models import PublishState
from server.domain.platforms import PlatformFailure
from tests.fakes import Applied
from tests.fakes.instagram import ENDPOINTS as IG_ENDPOINTS
from tests.fakes.tiktok import ENDPOINTS as TT_ENDPOINTS
from tests.unit.conftest import World
from tests.unit.helpers import error_of, publish_fails


def bare_ig(method: str, status: int) -> PlatformFailure:
    """Instagram (or a proxy before it) answered `status` with no Graph error envelope."""
    return graph_failure(IG_ENDPOINTS[method], status, {}, {})


def bare_tt(method: str, status: int) -> PlatformFailure:
    return api_failure(TT_ENDPOINTS[method], status, f"http_{status}", "", "", {})


# The calls that make something public (a post, a comment) are apart: a 5xx may come after they took effect.
VISIBLE = {"media_publish", "comment_create"}


@pytest.mark.parametrize("status", [500, 502, 503, 599])
@pytest.mark.parametrize("endpoint", sorted(set(IG_ENDPOINTS.values()) - VISIBLE))
def test_a_bare_http_5xx_is_transient_on_every_instagram_read_and_create(endpoint: str, status: int) -> None:
    failure = graph_failure(endpoint, status, {}, {})
    assert (failure.retryable, failure.maybe_applied) == (True, False)
    assert (failure.error.code, failure.error.reason, failure.error.retryable) == (
        "UNAVAILABLE", "INSTAGRAM_UNAVAILABLE", True)


@pytest.mark.parametrize("status", [400, 404, 499])
def test_a_bare_http_4xx_is_a_final_instagram_refusal(status: int) -> None:
    failure = graph_failure("create_container", status, {}, {})
    assert (failure.retryable, failure.maybe_applied) == (False, False)
    assert (failure.error.code, failure.error.reason) == ("FAILED_PRECONDITION", "INSTAGRAM_REQUEST_REJECTED")


@pytest.mark.parametrize("endpoint", sorted(VISIBLE))
@pytest.mark.parametrize(("status", "maybe_applied"), [(499, False), (500, True), (503, True)])
def test_a_visible_call_answered_5xx_may_have_taken_effect_and_is_never_resent(
    endpoint: str, status: int, maybe_applied: bool
) -> None:
    failure = graph_failure(endpoint, status, {}, {})
    assert (failure.retryable, failure.maybe_applied) == (False, maybe_applied)


@pytest.mark.parametrize(("status", "retryable", "maybe_applied"), [
    (429, True, False), (499, False, False), (500, False, True), (504, False, True),
])
def test_tiktok_init_is_resent_only_after_a_rate_limit(status: int, retryable: bool, maybe_applied: bool) -> None:
    failure = api_failure("init", status, f"http_{status}", "", "", {})
    assert (failure.retryable, failure.maybe_applied) == (retryable, maybe_applied)


@pytest.mark.parametrize(("status", "retryable"), [(499, False), (500, True)])
def test_tiktok_status_reads_are_retried_after_a_5xx_only(status: int, retryable: bool) -> None:
    failure = api_failure("status", status, f"http_{status}", "", "", {})
    assert (failure.retryable, failure.maybe_applied) == (retryable, False)


# --- what the user sees -------------------------------------------------------------------------


async def test_a_bare_http_500_is_transient_on_every_endpoint(world: World) -> None:
    """An item container answered with a proxy's 500 is created again; the carousel posts once."""
    world.instagram.script("create_image_container", bare_ig("create_image_container", 500))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("create_image_container") == 3
    assert world.instagram.count("publish") == 1


async def test_a_bare_http_499_on_an_item_fails_the_publish_naming_it(world: World) -> None:
    world.instagram.script("create_image_container", bare_ig("create_image_container", 499))
    _, publish = await publish_fails(world, await world.instagram_request(2), FailedPrecondition)
    assert publish.state == PublishState.FAILED
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "INSTAGRAM_REQUEST_REJECTED", "item": 0}
    assert world.instagram.count("create_image_container") == 2  # the other item was created, not retried
    assert world.instagram.count("publish") == 0
    assert (await world.timeline(publish.id))[-1] == "FAILED"


async def test_media_publish_answered_a_bare_500_after_posting_is_found_not_resent(world: World) -> None:
    world.instagram.script("publish", Applied(bare_ig("publish", 500)))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert publish.ig_media_id == "1790000000000001"
    assert world.instagram.count("publish") == 1
    timeline = await world.timeline(publish.id)
    assert timeline[-4:] == ["PUBLISH_SENT", "PUBLISH_OUTCOME_UNKNOWN", "PUBLISHED", "PERMALINK_READ"]


async def test_media_publish_answered_a_bare_500_before_posting_is_sent_again_once_seen_unpublished(
    world: World,
) -> None:
    world.instagram.script("publish", bare_ig("publish", 500))
    publish = await world.publish(await world.instagram_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.instagram.count("publish") == 2
    timeline = await world.timeline(publish.id)
    assert timeline.count("PUBLISH_SENT") == 2
    assert "PUBLISH_OUTCOME_UNKNOWN" in timeline


async def test_tiktok_init_answered_a_bare_500_is_unconfirmed_and_never_resent(world: World) -> None:
    world.tiktok.script("init_photo_post", bare_tt("init_photo_post", 500))
    error, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert error_of(publish) == {"code": "DEADLINE_EXCEEDED", "reason": "PUBLISH_UNCONFIRMED"}
    assert "TikTok answered init with http_500" in error.message
    assert world.tiktok.count("init_photo_post") == 1
    assert world.tiktok.count("fetch_status") == 0
    assert (await world.timeline(publish.id))[-2:] == ["TIKTOK_INIT_SENT", "UNCONFIRMED"]


async def test_tiktok_init_answered_a_bare_499_fails_without_a_second_init(world: World) -> None:
    world.tiktok.script("init_photo_post", bare_tt("init_photo_post", 499))
    _, publish = await publish_fails(world, await world.tiktok_request(2), FailedPrecondition)
    assert publish.state == PublishState.FAILED
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_REQUEST_REJECTED"}
    assert world.tiktok.count("init_photo_post") == 1
