"""Publishing: every check before a record is written, the duplicate guard, and request_id
replays, reuses and attaches (server/services/publishing.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from server.domain.commands import InstagramCarousel, MediaDraft, TikTokCarousel
from server.domain.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from server.domain.models import AccountState, PublishState, Storage
from server.services.publishing import DUPLICATE_WINDOW
from tests.fakes import IgFailure, TikTokFailure
from tests.fakes.tiktok import PRIVATE_CREATOR_LEVELS
from tests.unit.conftest import World
from tests.unit.helpers import instagram_calls, publish_fails


def some_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


async def refused_before_recording(world: World, request: object, error: type[DomainError]) -> DomainError:
    """The request is refused, with no record written and no call that could post."""
    with pytest.raises(error) as caught:
        await world.services.publisher.publish(world.workspace, request)  # type: ignore[arg-type]
    assert world.store.publishes.rows == {}
    assert world.instagram.count("create_image_container") == 0
    assert world.tiktok.count("init_photo_post") == 0
    return caught.value


# --- request shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        pytest.param({"media_ids": some_ids(1)}, ["media_ids"], id="one-item"),
        pytest.param({"media_ids": some_ids(11)}, ["media_ids"], id="eleven-items"),
        pytest.param({"caption": "x" * 2201}, ["caption"], id="caption-too-long"),
        pytest.param({"caption": " ".join(f"#t{i}" for i in range(31))}, ["caption"], id="31-hashtags"),
        pytest.param({"caption": " ".join(f"@u{i}" for i in range(21))}, ["caption"], id="21-mentions"),
        pytest.param({"account_id": "not-a-uuid"}, ["instagram_account_id"], id="account-id"),
        pytest.param({"account_id": "x" * 36}, ["instagram_account_id"], id="account-id-of-uuid-length"),
        pytest.param({"account_id": ""}, ["instagram_account_id"], id="no-account-id"),
        pytest.param({"request_id": "abc"}, ["request_id"], id="request-id"),
        pytest.param({"media_ids": ["nope", *some_ids(1)], "request_id": "x", "account_id": "y"},
                     ["media_ids[0]", "instagram_account_id", "request_id"], id="every-violation-at-once"),
    ],
)
async def test_a_malformed_instagram_request_is_invalid_naming_each_field(
    world: World, fields: dict[str, object], violations: list[str]
) -> None:
    values: dict[str, object] = {"media_ids": some_ids(2), "account_id": str(uuid.uuid4())}
    values.update(fields)
    error = await refused_before_recording(world, InstagramCarousel(**values), InvalidArgument)  # type: ignore[arg-type]
    assert [v.field for v in error.field_violations] == violations
    assert world.instagram.calls == []


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        pytest.param({"media_ids": some_ids(36)}, ["media_ids"], id="36-items"),
        pytest.param({"caption": "🍂" * 91}, ["caption"], id="caption-over-90-characters"),
        pytest.param({"description": "d" * 4001}, ["description"], id="description-too-long"),
        pytest.param({"cover_index": 2}, ["cover_index"], id="cover-past-the-end"),
        pytest.param({"cover_index": -1}, ["cover_index"], id="negative-cover"),
        pytest.param({"account_id": "x"}, ["tiktok_account_id"], id="account-id"),
    ],
)
async def test_a_malformed_tiktok_request_is_invalid_naming_each_field(
    world: World, fields: dict[str, object], violations: list[str]
) -> None:
    values: dict[str, object] = {"media_ids": some_ids(2), "account_id": str(uuid.uuid4())}
    values.update(fields)
    error = await refused_before_recording(world, TikTokCarousel(**values), InvalidArgument)  # type: ignore[arg-type]
    assert [v.field for v in error.field_violations] == violations
    assert world.tiktok.calls == []


async def test_ids_in_any_letter_case_are_the_same_ids(world: World) -> None:
    account = await world.instagram_account()
    media = await world.images(2)
    request_id = str(uuid.uuid4())
    publish = await world.publish(
        InstagramCarousel(media_ids=[m.upper() for m in media], account_id=account.id.upper(),
                          request_id=request_id.upper())
    )
    assert (publish.account_id, publish.media_ids, publish.request_id) == (account.id, media, request_id)


# --- the account and the media ----------------------------------------------------------------


async def test_an_unknown_account_is_not_found_before_the_media_are_looked_at(world: World) -> None:
    missing = str(uuid.uuid4())
    error = await refused_before_recording(
        world, InstagramCarousel(media_ids=some_ids(2), account_id=missing), NotFound
    )
    assert error.reason == "ACCOUNT_NOT_FOUND"
    assert error.metadata == {"account_id": missing, "field": "instagram_account_id"}


async def test_an_account_of_the_other_platform_is_invalid(world: World) -> None:
    tiktok = await world.tiktok_account()
    error = await refused_before_recording(world, await world.instagram_request(2, tiktok), InvalidArgument)
    assert error.reason == "ACCOUNT_PLATFORM_MISMATCH"
    assert error.field_violations[0].field == "instagram_account_id"
    assert "names a TikTok account" in error.field_violations[0].description
    instagram = await world.instagram_account()
    error = await refused_before_recording(world, await world.tiktok_request(2, instagram), InvalidArgument)
    assert "give a TikTok account" in error.field_violations[0].description


@pytest.mark.parametrize(
    ("state", "text"),
    [(AccountState.NEEDS_RECONNECT, "needs a reconnect"), (AccountState.DISCONNECTED, "is disconnected")],
)
async def test_an_account_that_is_not_connected_fails_precondition(
    world: World, state: AccountState, text: str
) -> None:
    account = await world.instagram_account()
    if state == AccountState.DISCONNECTED:
        await world.store.accounts.disconnect(world.workspace, account.id)
    else:
        await world.store.accounts.mark_needs_reconnect(account.id)
    error = await refused_before_recording(world, await world.instagram_request(2, account), FailedPrecondition)
    assert error.reason == "ACCOUNT_NOT_CONNECTED"
    assert text in error.message
    assert error.metadata["account_state"] == state.value
    assert world.instagram.calls == []


async def test_unknown_media_are_not_found_naming_every_missing_item(world: World) -> None:
    account = await world.instagram_account()
    known = await world.images(1)
    missing = some_ids(2)
    error = await refused_before_recording(
        world, InstagramCarousel(media_ids=[missing[0], *known, missing[1]], account_id=account.id), NotFound
    )
    assert error.reason == "MEDIA_NOT_FOUND"
    assert error.metadata == {"field": "media_ids[0],media_ids[2]"}
    assert f"media_ids[0] ({missing[0]})" in error.message


async def test_media_of_another_workspace_are_not_found(world: World) -> None:
    account = await world.instagram_account()
    theirs = await world.services.media.register("other-ws", MediaDraft(url="gs://b/x.jpg"))
    mine = await world.images(1)
    error = await refused_before_recording(
        world, InstagramCarousel(media_ids=[*mine, theirs.id], account_id=account.id), NotFound
    )
    assert error.metadata == {"field": "media_ids[1]"}


async def test_a_video_in_an_instagram_carousel_is_invalid_naming_it(world: World) -> None:
    account = await world.instagram_account()
    images = await world.images(1)
    video = await world.images(1, url="gs://bucket/clip-{n}.mp4")
    error = await refused_before_recording(
        world, InstagramCarousel(media_ids=[*images, *video], account_id=account.id), InvalidArgument
    )
    assert error.reason == "MEDIA_NOT_ALLOWED"
    assert [v.field for v in error.field_violations] == ["media_ids[1]"]
    assert "is a video" in error.field_violations[0].description


async def test_a_png_in_a_tiktok_carousel_is_invalid_naming_it(world: World) -> None:
    account = await world.tiktok_account()
    png = await world.images(1, url="gs://bucket/p-{n}.png")
    jpeg = await world.images(1)
    error = await refused_before_recording(
        world, TikTokCarousel(
            creator_consent_obtained=True, media_ids=[*jpeg, *png], account_id=account.id), InvalidArgument
    )
    assert error.reason == "MEDIA_NOT_ALLOWED"
    assert [v.field for v in error.field_violations] == ["media_ids[1]"]
    assert world.tiktok.calls == []


@pytest.mark.parametrize(("s3_items", "verb"), [(1, "is"), (2, "are")])
async def test_s3_hosted_media_for_tiktok_fail_precondition_naming_them(world: World, s3_items: int, verb: str) -> None:
    account = await world.tiktok_account()
    gcs = await world.images(1)
    s3 = await world.images(s3_items, url="s3://bucket/p-{n}.jpg")
    error = await refused_before_recording(
        world, TikTokCarousel(
            creator_consent_obtained=True, media_ids=[*gcs, *s3], account_id=account.id), FailedPrecondition
    )
    assert error.reason == "MEDIA_HOSTING_NOT_SUPPORTED"
    assert f" {verb} S3-backed" in error.message
    assert error.metadata["storage"] == Storage.S3.value
    assert [v.field for v in error.field_violations] == [f"media_ids[{i + 1}]" for i in range(s3_items)]


# --- the platforms' own preconditions ---------------------------------------------------------


async def test_a_privacy_level_the_creator_may_not_use_is_refused_before_init(world: World) -> None:
    world.tiktok.privacy_level_options = PRIVATE_CREATOR_LEVELS
    request = await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE")
    error = await refused_before_recording(world, request, FailedPrecondition)
    assert error.reason == "TIKTOK_PRIVACY_LEVEL_NOT_ALLOWED"
    assert error.metadata == {"field": "privacy_level", "allowed": ",".join(PRIVATE_CREATOR_LEVELS)}
    assert world.tiktok.methods() == ["creator_info"]


async def test_creator_info_that_fails_transiently_is_retried(world: World) -> None:
    world.tiktok.script("creator_info", TikTokFailure.server_error("creator_info"))
    publish = await world.publish(await world.tiktok_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.count("creator_info") == 2


async def test_creator_info_refused_for_good_is_the_callers_error(world: World) -> None:
    world.tiktok.script("creator_info", TikTokFailure.answered("creator_info", code="scope_not_authorized"))
    error = await refused_before_recording(world, await world.tiktok_request(2), FailedPrecondition)
    assert error.reason == "TIKTOK_SCOPE_MISSING"
    assert "publish_id" not in error.metadata


@pytest.mark.parametrize(("refresh_token", "creator_infos"), [(None, 1), ("tt-refresh", 2)])
async def test_creator_info_rejecting_the_token_marks_the_account(
    world: World, refresh_token: str | None, creator_infos: int
) -> None:
    account = await world.tiktok_account(refresh_token=refresh_token)
    # With a refresh token: rejected, refreshed once, rejected again.
    world.tiktok.script("creator_info", *[TikTokFailure.token_rejected("creator_info")] * creator_infos)
    error = await refused_before_recording(world, await world.tiktok_request(2, account), FailedPrecondition)
    assert error.reason == "TIKTOK_TOKEN_INVALID"
    assert world.tiktok.count("creator_info") == creator_infos
    assert world.tiktok.count("refresh") == creator_infos - 1
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_a_used_up_instagram_quota_is_refused_before_any_container(world: World) -> None:
    world.instagram.quota_usage = 50
    error = await refused_before_recording(world, await world.instagram_request(2), ResourceExhausted)
    assert error.reason == "INSTAGRAM_PUBLISH_LIMIT_REACHED"
    assert error.retry_after == 3600
    assert world.instagram.methods() == ["publishing_limit"]


async def test_a_token_refresh_refused_before_recording_refuses_the_publish(world: World) -> None:
    account = await world.instagram_account(access_token_expires_at=world.at(3600))
    world.instagram.script("refresh_long_lived_token", IgFailure.token_rejected("refresh_long_lived_token"))
    error = await refused_before_recording(world, await world.instagram_request(2, account), FailedPrecondition)
    assert error.reason == "ACCOUNT_REFRESH_FAILED"
    assert world.instagram.methods() == ["refresh_long_lived_token"]


# --- the duplicate guard ----------------------------------------------------------------------


async def test_the_same_content_again_without_request_id_is_a_duplicate(world: World) -> None:
    request = await world.instagram_request(2, caption="same")
    first = await world.publish(request)
    calls = len(world.instagram.calls)
    world.clock.advance(3600)
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(request)
    assert caught.value.reason == "DUPLICATE_PUBLISH"
    assert caught.value.metadata == {"publish_id": first.id, "earlier_state": "PUBLISHED"}
    assert "set allow_duplicate" in caught.value.message
    assert len(world.instagram.calls) == calls  # not even the quota was read
    assert len(world.store.publishes.rows) == 1


async def test_concurrent_publishes_of_the_same_content_let_one_in(world: World) -> None:
    request = await world.instagram_request(2, caption="same")
    results = await asyncio.gather(*(world.publish(request) for _ in range(3)), return_exceptions=True)
    published = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyExists)]
    assert len(published) == 1
    assert len(refused) == 2
    assert {r.reason for r in refused} == {"DUPLICATE_PUBLISH"}
    assert {r.metadata["publish_id"] for r in refused} == {published[0].id}
    assert len(world.store.publishes.rows) == 1
    assert world.instagram.count("publish") == 1


@pytest.mark.parametrize(
    "how", ["allow_duplicate", "other_caption", "other_order", "after_the_window", "with_request_id", "earlier_failed"]
)
async def test_what_is_not_a_duplicate(world: World, how: str) -> None:
    account = await world.instagram_account()
    request = await world.instagram_request(2, account, caption="same")
    if how == "earlier_failed":
        world.instagram.script("create_carousel_container", IgFailure.answered("create_carousel_container"))
        with pytest.raises(FailedPrecondition):
            await world.publish(request)
    else:
        await world.publish(request)
    again = {
        "allow_duplicate": InstagramCarousel(request.media_ids, account.id, "same", allow_duplicate=True),
        "other_caption": InstagramCarousel(request.media_ids, account.id, "different"),
        "other_order": InstagramCarousel(request.media_ids[::-1], account.id, "same"),
        "after_the_window": request,
        "with_request_id": InstagramCarousel(request.media_ids, account.id, "same", request_id=str(uuid.uuid4())),
        "earlier_failed": request,
    }[how]
    if how == "after_the_window":
        world.clock.advance((DUPLICATE_WINDOW + timedelta(seconds=1)).total_seconds())
    assert (await world.publish(again)).state == PublishState.PUBLISHED
    assert len(world.store.publishes.rows) == 2


# --- request_id (AIP-155) ---------------------------------------------------------------------


async def test_the_same_request_id_returns_the_original_outcome_and_posts_once(world: World) -> None:
    request = await world.instagram_request(2, request_id=str(uuid.uuid4()))
    first = await world.publish(request)
    calls = list(world.instagram.calls)
    again = await world.publish(request)
    assert again == first
    assert world.instagram.calls == calls
    assert await world.timeline(first.id) == (await world.timeline(again.id))


async def test_a_replayed_failed_publish_raises_its_recorded_error_again(world: World) -> None:
    world.instagram.script("create_image_container", IgFailure.fetch_failed())
    request = await world.instagram_request(2, request_id=str(uuid.uuid4()))
    first, publish = await publish_fails(world, request, FailedPrecondition)
    calls = len(world.instagram.calls)
    second, _ = await publish_fails(world, request, FailedPrecondition)
    assert (second.reason, second.metadata) == (first.reason, first.metadata)
    assert second.metadata["publish_id"] == publish.id
    assert len(world.instagram.calls) == calls


async def test_a_request_id_reused_for_another_request_is_refused(world: World) -> None:
    request_id = str(uuid.uuid4())
    first = await world.publish(await world.instagram_request(2, request_id=request_id))
    other = await world.instagram_request(2, request_id=request_id)
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(other)
    assert caught.value.reason == "REQUEST_ID_REUSED"
    assert caught.value.metadata == {"publish_id": first.id, "request_id": request_id}


async def test_a_retry_while_the_publish_runs_attaches_to_it(world: World) -> None:
    request = await world.instagram_request(2, request_id=str(uuid.uuid4()))
    held = world.instagram.hold("publish")
    first = asyncio.create_task(world.publish(request))
    await held.reached.wait()
    second = asyncio.create_task(world.publish(request))
    await asyncio.sleep(0)
    assert not second.done()
    held.release()
    assert await first == await second
    assert world.instagram.count("publish") == 1
    assert (await first).state == PublishState.PUBLISHED


async def test_concurrent_calls_with_one_request_id_record_and_post_once(world: World) -> None:
    request = await world.instagram_request(2, request_id=str(uuid.uuid4()))
    results = await asyncio.gather(*(world.publish(request) for _ in range(4)))
    assert len({r.id for r in results}) == 1
    assert all(r.state == PublishState.PUBLISHED for r in results)
    assert len(world.store.publishes.rows) == 1
    assert world.instagram.methods() == ["publishing_limit"] * 4 + instagram_calls(2)[1:]
    assert (await world.timeline(results[0].id)).count("CREATED") == 1


async def test_concurrent_calls_reusing_a_request_id_for_other_requests_let_one_in(world: World) -> None:
    account = await world.instagram_account()
    request_id = str(uuid.uuid4())
    media = await world.images(2)
    requests = [InstagramCarousel(media, account.id, caption, request_id=request_id) for caption in ("a", "b")]
    results = await asyncio.gather(*(world.publish(r) for r in requests), return_exceptions=True)
    reused = [r for r in results if isinstance(r, AlreadyExists)]
    assert len(reused) == 1
    assert reused[0].reason == "REQUEST_ID_REUSED"
    assert len(world.store.publishes.rows) == 1


async def test_a_caller_that_gives_up_does_not_cancel_the_publish(world: World) -> None:
    held = world.instagram.hold("publish")
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    publish = await world.only_publish()
    assert world.services.runner.in_flight == 1
    assert publish.owner == world.services.runner.owner
    held.release()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert final.done
    assert world.services.runner.in_flight == 0



# --- validate_only --------------------------------------------------------------------------


async def test_validating_a_request_already_published_without_request_id_is_a_duplicate(world: World) -> None:
    request = await world.instagram_request(2, caption="same")
    first = await world.publish(request)
    calls = len(world.instagram.calls)
    with pytest.raises(AlreadyExists) as caught:
        await world.services.publisher.validate(world.workspace, request)
    assert caught.value.reason == "DUPLICATE_PUBLISH"
    assert caught.value.metadata == {"publish_id": first.id, "earlier_state": "PUBLISHED"}
    assert len(world.instagram.calls) == calls and len(world.store.publishes.rows) == 1


async def test_validating_with_a_new_request_id_or_a_later_time_writes_nothing(world: World) -> None:
    request_id = str(uuid.uuid4())
    now = await world.services.publisher.validate(world.workspace, await world.instagram_request(
        2, caption="later", request_id=request_id))
    assert (now.publish.state, now.publish.request_id) == (PublishState.PENDING, request_id)
    later = await world.services.publisher.validate(world.workspace, await world.instagram_request(
        2, caption="later", publish_time=world.at(3600)))
    assert [m.id for m in later.media] == later.publish.media_ids
    assert world.store.publishes.rows == {}  # nothing recorded, nothing posted
    assert world.instagram.count("publish") == 0
