"""The TikTok photo carousel workflow on fakes: init is sent at most once, its publish_id is
saved before polling, and an init whose answer was lost ends UNCONFIRMED
(server/services/workflow/tiktok.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.config import Settings
from server.domain.commands import TikTokCarousel
from server.domain.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument
from server.domain.models import AccountState, Platform, PublishState
from server.domain.options import TikTokOptions
from server.domain.platforms import PhotoPost, PublishStatus
from tests.fakes import NORMAL, Applied, TikTokFailure
from tests.fakes.tiktok import status
from tests.unit.conftest import World, world_with
from tests.unit.helpers import error_of, publish_fails

DIRECT = ["CREATED", "PROCESSING_STARTED", "TIKTOK_INIT_SENT", "TIKTOK_INIT_ACCEPTED", "TIKTOK_STATUS", "PUBLISHED"]


async def test_a_direct_post_is_sent_once_and_published(world: World) -> None:
    request = await world.tiktok_request(3, caption="Autumn", description="Leaves", cover_index=2,
                                         privacy_level="MUTUAL_FOLLOW_FRIENDS", disable_comment=True,
                                         auto_add_music=True)
    publish = await world.publish(request)
    assert publish.state == PublishState.PUBLISHED
    assert (publish.tiktok_publish_id, publish.tiktok_post_id) == ("v_pub_1", None)
    assert (publish.pending_facts, publish.reconcile_at, publish.call_in_flight) == ([], None, None)
    assert publish.published_at == world.clock.now()
    assert await world.timeline(publish.id) == DIRECT
    assert world.tiktok.methods() == ["creator_info", "init_photo_post", "fetch_status"]
    assert world.tiktok.calls_to("init_photo_post")[0].args["post"] == PhotoPost(
        post_mode="DIRECT_POST",
        photo_urls=[f"https://storage.googleapis.com/bucket/photo-{n}.jpg" for n in (1, 2, 3)],
        cover_index=2, title="Autumn", description="Leaves", privacy_level="MUTUAL_FOLLOW_FRIENDS",
        disable_comment=True, auto_add_music=True,
    )
    assert {c.args["token"] for c in world.tiktok.calls} == {"tt-token"}
    assert world.metrics.finished == [(Platform.TIKTOK, PublishState.PUBLISHED)]
    events = await world.events(publish.id)
    assert events[3].details == {"publish_id": "v_pub_1", "post_mode": "DIRECT_POST", "photo_count": 3}
    assert events[4].details == {"status": "PUBLISH_COMPLETE", "fail_reason": "", "log_id": "log-1"}


async def test_a_public_post_whose_id_comes_later_is_left_to_the_reconciler(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE"))
    assert publish.state == PublishState.PUBLISHED
    assert publish.tiktok_post_id is None
    assert publish.pending_facts == ["tiktok_post_id"]
    assert publish.reconcile_at == world.clock.now() + timedelta(seconds=30)
    assert "has not reported a public post id yet" in (await world.events(publish.id))[-1].message


async def test_a_public_post_id_given_at_once_is_recorded(world: World) -> None:
    world.tiktok.statuses["v_pub_1"] = [status("PUBLISH_COMPLETE", post_ids=("7300000000000000001",))]
    publish = await world.publish(await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE"))
    assert publish.tiktok_post_id == "7300000000000000001"
    assert publish.pending_facts == []
    assert (await world.events(publish.id))[-1].details == {"post_ids": ["7300000000000000001"]}


async def test_an_inbox_upload_is_delivered_without_privacy_or_creator_info(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, post_mode="INBOX", privacy_level="PUBLIC_TO_EVERYONE"))
    assert publish.state == PublishState.DELIVERED_TO_INBOX
    assert publish.options == TikTokOptions(post_mode="INBOX")
    assert publish.options.to_record() == {"post_mode": "INBOX", "cover_index": 0, "description": ""}
    assert world.tiktok.methods() == ["init_photo_post", "fetch_status"]
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert (post.post_mode, post.privacy_level) == ("MEDIA_UPLOAD", None)
    assert await world.timeline(publish.id) == [*DIRECT[:-1], "DELIVERED_TO_INBOX"]
    assert world.metrics.finished == [(Platform.TIKTOK, PublishState.DELIVERED_TO_INBOX)]


async def test_each_status_change_is_recorded_once(world: World) -> None:
    world.tiktok.statuses["v_pub_1"] = ["PROCESSING_DOWNLOAD", "PROCESSING_DOWNLOAD", "PROCESSING_UPLOAD",
                                        "PUBLISH_COMPLETE"]
    publish = await world.publish(await world.tiktok_request(2))
    assert world.tiktok.count("fetch_status") == 4
    assert await world.timeline(publish.id) == [*DIRECT[:4], "TIKTOK_STATUS", "TIKTOK_STATUS", "TIKTOK_STATUS",
                                                "PUBLISHED"]
    assert [e.details.get("status") for e in await world.events(publish.id)][4:7] == [
        "PROCESSING_DOWNLOAD", "PROCESSING_UPLOAD", "PUBLISH_COMPLETE"
    ]


@pytest.mark.parametrize(
    ("fail_reason", "expected"),
    [
        ("picture_size_check_failed", {"code": "INVALID_ARGUMENT", "reason": "TIKTOK_PICTURE_SIZE_CHECK_FAILED"}),
        ("photo_pull_failed", {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_PHOTO_PULL_FAILED"}),
        ("spam_risk_text", {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_SPAM_RISK_TEXT"}),
        ("something_new", {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_PUBLISH_FAILED"}),
    ],
)
async def test_a_post_tiktok_failed_records_the_mapped_reason(
    world: World, fail_reason: str, expected: dict[str, object]
) -> None:
    world.tiktok.statuses["v_pub_1"] = ["PROCESSING_DOWNLOAD", status("FAILED", fail_reason=fail_reason,
                                                                      log_id="log-77")]
    error, publish = await publish_fails(world, await world.tiktok_request(2))
    assert error_of(publish) == expected
    assert error.metadata["platform_code"] == fail_reason
    assert error.metadata["platform_trace_id"] == "log-77"
    assert await world.timeline(publish.id) == [*DIRECT[:4], "TIKTOK_STATUS", "TIKTOK_STATUS", "FAILED"]


async def test_a_failed_status_without_a_mapped_failure_still_fails_with_tiktoks_words(world: World) -> None:
    world.tiktok.statuses["v_pub_1"] = [PublishStatus(status="FAILED", fail_reason="", log_id="log-9")]
    _, publish = await publish_fails(world, await world.tiktok_request(2), FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_PUBLISH_FAILED"}
    assert publish.error is not None
    assert publish.error.message == "TikTok failed the post: no reason given"


async def test_auth_removed_while_processing_marks_the_account(world: World) -> None:
    account = await world.tiktok_account()
    world.tiktok.statuses["v_pub_1"] = [status("FAILED", fail_reason="auth_removed")]
    await publish_fails(world, await world.tiktok_request(2, account), FailedPrecondition)
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


# --- init -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "inits", "state", "reason"),
    [
        pytest.param([TikTokFailure.rate_limited("init_photo_post", retry_after=1)], 2, PublishState.PUBLISHED,
                     None, id="rate-limited-then-accepted"),
        pytest.param([TikTokFailure.refused("init_photo_post")] * 2, 3, PublishState.PUBLISHED, None,
                     id="never-sent-then-accepted"),
        pytest.param([TikTokFailure.rate_limited("init_photo_post")] * 6, 6, PublishState.FAILED,
                     "TIKTOK_RATE_LIMITED", id="rate-limited-6-times"),
        pytest.param([TikTokFailure.refused("init_photo_post")] * 6, 6, PublishState.FAILED,
                     "TIKTOK_UNREACHABLE", id="never-sent-6-times"),
        pytest.param([TikTokFailure.answered("init_photo_post", code="invalid_params")], 1, PublishState.FAILED,
                     "TIKTOK_INVALID_PARAMS", id="invalid-params"),
        pytest.param([TikTokFailure.answered("init_photo_post", status=403, code="url_ownership_unverified")], 1,
                     PublishState.FAILED, "TIKTOK_URL_OWNERSHIP_UNVERIFIED", id="url-unverified"),
        pytest.param([TikTokFailure.timed_out("init_photo_post")], 1, PublishState.UNCONFIRMED,
                     "PUBLISH_UNCONFIRMED", id="sent-answer-lost"),
        pytest.param([Applied(TikTokFailure.server_error("init_photo_post"))], 1, PublishState.UNCONFIRMED,
                     "PUBLISH_UNCONFIRMED", id="answered-500-after-accepting"),
        pytest.param([TikTokFailure.server_error("init_photo_post", status=503)], 1, PublishState.UNCONFIRMED,
                     "PUBLISH_UNCONFIRMED", id="answered-503"),
        pytest.param([TikTokFailure.bad_answer("init_photo_post")], 1, PublishState.UNCONFIRMED,
                     "PUBLISH_UNCONFIRMED", id="ok-without-publish-id"),
    ],
)
async def test_init_is_resent_only_when_it_surely_created_nothing(
    world: World, failures: list[object], inits: int, state: PublishState, reason: str | None
) -> None:
    world.tiktok.script("init_photo_post", *failures)
    if state == PublishState.PUBLISHED:
        publish = await world.publish(await world.tiktok_request(2))
    else:
        _, publish = await publish_fails(world, await world.tiktok_request(2))
        assert publish.error is not None
        assert publish.error.reason == reason
    assert publish.state == state
    assert world.tiktok.count("init_photo_post") == inits
    assert world.tiktok.count("fetch_status") == (1 if state == PublishState.PUBLISHED else 0)
    timeline = await world.timeline(publish.id)
    assert timeline.count("TIKTOK_INIT_SENT") == 1
    if state != PublishState.PUBLISHED:
        assert timeline[-2:] == ["TIKTOK_INIT_SENT", state.value]
        assert publish.tiktok_publish_id is None


async def test_an_unconfirmed_init_says_why_in_the_platforms_words(world: World) -> None:
    world.tiktok.script("init_photo_post", TikTokFailure.server_error("init_photo_post"))
    error, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert "TikTok answered init with internal_error, which may come after the post was accepted" in error.message
    assert "do not publish it again without checking" in error.message
    assert publish.call_in_flight == "tiktok_init"  # the record still says init may have gone through


async def test_an_init_whose_answer_was_lost_says_so(world: World) -> None:
    world.tiktok.script("init_photo_post", TikTokFailure.timed_out("init_photo_post"))
    error, _ = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert "TikTok's answer to the init call was lost (TikTok could not be reached for init: no answer in time)" in (
        error.message
    )


async def test_a_token_rejected_by_init_without_a_refresh_token_fails_and_marks_the_account(world: World) -> None:
    account = await world.tiktok_account(refresh_token=None)
    world.tiktok.script("init_photo_post", TikTokFailure.token_rejected("init_photo_post"))
    _, publish = await publish_fails(world, await world.tiktok_request(2, account), FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_TOKEN_INVALID"}
    assert world.tiktok.count("init_photo_post") == 1
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_a_token_rejected_by_init_is_refreshed_once_and_init_sent_once_more(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=None)  # no expiry known: no early refresh
    world.tiktok.script("init_photo_post", TikTokFailure.token_rejected("init_photo_post"))
    publish = await world.publish(await world.tiktok_request(2, account))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.methods() == ["creator_info", "init_photo_post", "refresh", "init_photo_post", "fetch_status"]
    assert [c.args["token"] for c in world.tiktok.calls_to("init_photo_post")] == ["tt-token", "tt-access-1"]
    assert [c.args["token"] for c in world.tiktok.calls_to("fetch_status")] == ["tt-access-1"]
    assert await world.timeline(publish.id) == [*DIRECT[:3], "TOKEN_REFRESHED", *DIRECT[3:]]
    refreshed = (await world.events(publish.id))[3]
    assert refreshed.message == "The platform rejected the access token at init; sending init once more with a new one"
    assert refreshed.details["code"] == "access_token_invalid"
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.ACTIVE


async def test_a_token_rejected_again_after_its_refresh_fails_init_and_marks_the_account(world: World) -> None:
    account = await world.tiktok_account()
    world.tiktok.script("init_photo_post", *[TikTokFailure.token_rejected("init_photo_post")] * 2)
    _, publish = await publish_fails(world, await world.tiktok_request(2, account), FailedPrecondition)
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_TOKEN_INVALID"}
    assert (world.tiktok.count("refresh"), world.tiktok.count("init_photo_post")) == (1, 2)
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_an_init_resent_after_a_refresh_whose_answer_is_lost_is_never_sent_a_third_time(world: World) -> None:
    world.tiktok.script("init_photo_post", TikTokFailure.token_rejected("init_photo_post"),
                        TikTokFailure.timed_out("init_photo_post"))
    _, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert world.tiktok.count("init_photo_post") == 2
    assert world.tiktok.count("refresh") == 1


async def test_an_init_rejected_whose_refresh_is_refused_fails_as_nothing_was_posted(world: World) -> None:
    account = await world.tiktok_account()
    world.tiktok.script("init_photo_post", TikTokFailure.token_rejected("init_photo_post"))
    world.tiktok.script("refresh", TikTokFailure.refresh_refused())
    _, publish = await publish_fails(world, await world.tiktok_request(2, account), FailedPrecondition)
    assert publish.state == PublishState.FAILED  # not UNCONFIRMED: a rejected init posts nothing
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "ACCOUNT_REFRESH_FAILED"}
    assert world.tiktok.count("init_photo_post") == 1
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_a_token_rejected_by_creator_info_is_refreshed_before_the_publish_is_recorded(world: World) -> None:
    account = await world.tiktok_account(access_token_expires_at=None)
    world.tiktok.script("creator_info", TikTokFailure.token_rejected("creator_info"))
    publish = await world.publish(await world.tiktok_request(2, account))
    assert publish.state == PublishState.PUBLISHED
    # init finds the stored token already replaced: no second refresh.
    assert world.tiktok.methods() == ["creator_info", "refresh", "creator_info", "init_photo_post", "fetch_status"]
    assert [c.args["token"] for c in world.tiktok.calls_to("init_photo_post")] == ["tt-access-1"]


# --- polling ----------------------------------------------------------------------------------


async def test_transient_status_failures_are_polled_through_honouring_retry_after(world: World) -> None:
    world.tiktok.script("fetch_status", TikTokFailure.timed_out("fetch_status"),
                        TikTokFailure.rate_limited("fetch_status", retry_after=7))
    publish = await world.publish(await world.tiktok_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.count("fetch_status") == 3
    assert 7 in world.clock.sleeps
    assert await world.timeline(publish.id) == DIRECT


async def test_a_token_rejected_while_polling_is_refreshed_and_polling_goes_on(world: World) -> None:
    account = await world.tiktok_account()
    world.tiktok.statuses["v_pub_1"] = ["PROCESSING_DOWNLOAD", "PUBLISH_COMPLETE"]
    world.tiktok.script("fetch_status", NORMAL, TikTokFailure.token_rejected("fetch_status"))
    publish = await world.publish(await world.tiktok_request(2, account))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.count("init_photo_post") == 1  # never restarted
    assert world.tiktok.methods() == ["creator_info", "init_photo_post", "fetch_status", "fetch_status", "refresh",
                                      "fetch_status"]
    assert world.tiktok.calls_to("refresh")[0].args == {"refresh_token": "tt-refresh"}
    assert [c.args["token"] for c in world.tiktok.calls_to("fetch_status")] == ["tt-token", "tt-token", "tt-access-1"]
    assert await world.timeline(publish.id) == [*DIRECT[:5], "TOKEN_REFRESHED", "TIKTOK_STATUS", "PUBLISHED"]
    assert (await world.events(publish.id))[5].message == "Access token refreshed while polling"
    credentials = await world.store.accounts.credentials(account.id)
    assert credentials is not None
    assert (credentials.access_token, credentials.refresh_token) == ("tt-access-1", "tt-refresh-1")


async def test_a_token_refresh_refused_while_polling_ends_unconfirmed(world: World) -> None:
    account = await world.tiktok_account()
    world.tiktok.script("fetch_status", TikTokFailure.token_rejected("fetch_status"))
    world.tiktok.script("refresh", TikTokFailure.refresh_refused())
    error, publish = await publish_fails(world, await world.tiktok_request(2, account), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert "refused to refresh the token" in error.message
    assert await world.timeline(publish.id) == [*DIRECT[:4], "UNCONFIRMED"]
    stored = await world.store.accounts.get(world.workspace, account.id)
    assert stored is not None
    assert stored.state == AccountState.NEEDS_RECONNECT


async def test_a_token_rejected_again_after_its_refresh_ends_unconfirmed(world: World) -> None:
    world.tiktok.script("fetch_status", *[TikTokFailure.token_rejected("fetch_status")] * 2)
    error, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert "access_token_invalid" in error.message
    assert world.tiktok.count("refresh") == 1
    assert await world.timeline(publish.id) == [*DIRECT[:4], "TOKEN_REFRESHED", "UNCONFIRMED"]


async def test_a_rejected_token_that_could_not_be_refreshed_is_not_reported_refreshed(world: World) -> None:
    account = await world.tiktok_account(refresh_token=None)
    world.tiktok.script("fetch_status", *[TikTokFailure.token_rejected("fetch_status")] * 2)
    _, publish = await publish_fails(world, await world.tiktok_request(2, account), DeadlineExceeded)
    assert world.tiktok.count("refresh") == 0
    assert "TOKEN_REFRESHED" not in await world.timeline(publish.id)


async def test_a_status_read_refused_for_good_ends_unconfirmed(world: World) -> None:
    world.tiktok.script("fetch_status", TikTokFailure.answered("fetch_status", code="scope_not_authorized"))
    error, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert "scope_not_authorized" in error.message
    assert world.tiktok.count("fetch_status") == 1


@pytest.mark.parametrize(
    ("scripted", "seen"),
    [
        pytest.param(["PROCESSING_DOWNLOAD"], "TikTok still reported PROCESSING_DOWNLOAD after 600s", id="processing"),
        pytest.param([TikTokFailure.timed_out("fetch_status")] * 10_000, "unknown (tiktok status:", id="unreadable"),
    ],
)
async def test_polling_until_the_timeout_ends_unconfirmed(world: World, scripted: list[object], seen: str) -> None:
    if isinstance(scripted[0], str):
        world.tiktok.statuses["v_pub_1"] = list(scripted)  # type: ignore[arg-type]
    else:
        world.tiktok.script("fetch_status", *scripted)
    error, publish = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert publish.state == PublishState.UNCONFIRMED
    assert seen in error.message
    assert world.clock.slept >= 600
    assert world.tiktok.count("init_photo_post") == 1


# --- resumed after a restart ------------------------------------------------------------------


async def test_a_run_resumed_with_its_publish_id_saved_polls_it_and_never_inits_again(world: World) -> None:
    world.tiktok.statuses["v_pub_42"] = ["PUBLISH_COMPLETE"]
    publish = await world.seed(await world.tiktok_request(2), tiktok_publish_id="v_pub_42")
    assert await world.services.runner.resume_unfinished() == 1
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.tiktok.methods() == ["fetch_status"]
    assert await world.new_events(publish.id) == ["TIKTOK_STATUS", "PUBLISHED"]


async def test_a_run_resumed_with_init_in_flight_ends_unconfirmed_without_sending_it(world: World) -> None:
    publish = await world.seed(await world.tiktok_request(2), call_in_flight="tiktok_init")
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.UNCONFIRMED
    assert final.error is not None
    assert final.error.message == (
        "The outcome of the TikTok publish could not be established: the service stopped while TikTok's init "
        "call was in flight, and TikTok offers no lookup to tell whether it was accepted. It may still go live; "
        "do not publish it again without checking."
    )
    assert world.tiktok.calls == []
    assert await world.new_events(publish.id) == ["UNCONFIRMED"]


async def test_a_publish_recorded_but_never_started_starts_from_the_beginning(world: World) -> None:
    publish = await world.seed(await world.tiktok_request(2), state=PublishState.PENDING)
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert await world.new_events(publish.id) == DIRECT[1:]
    assert world.tiktok.methods() == ["init_photo_post", "fetch_status"]



async def test_35_webp_and_jpeg_photos_are_one_post(world: World) -> None:
    account = await world.tiktok_account()
    media = await world.images(17, url="gs://bucket/p-{n}.webp") + await world.images(18)
    publish = await world.publish(TikTokCarousel(media, account.id, creator_consent_obtained=True))
    assert publish.state == PublishState.PUBLISHED
    assert len(world.tiktok.calls_to("init_photo_post")[0].args["post"].photo_urls) == 35


async def test_a_video_is_no_photo(world: World) -> None:
    account = await world.tiktok_account()
    media = await world.images(1) + await world.images(1, url="gs://bucket/clip-{n}.mp4")
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(TikTokCarousel(media, account.id, creator_consent_obtained=True))
    assert caught.value.reason == "MEDIA_NOT_ALLOWED"
    assert "video/mp4" in caught.value.field_violations[0].description


# --- what the timeline and the platform are told, word for word ---------------------------------


async def test_a_direct_posts_timeline_reads_as_a_story(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2))
    events = await world.events(publish.id)
    assert [(e.type, e.message) for e in events[2:]] == [
        ("TIKTOK_INIT_SENT", "Sending the post to TikTok (2 photos)"),
        ("TIKTOK_INIT_ACCEPTED", "TikTok accepted the post as v_pub_1"),
        ("TIKTOK_STATUS", "TikTok status PUBLISH_COMPLETE"),
        ("PUBLISHED", "Published; TikTok gives no public post id for posts that are not public"),
    ]
    assert (publish.owner, publish.done) == (None, True)  # the run's last write handed its lease back


async def test_an_inbox_upload_sends_the_defaults_and_ends_the_run_at_delivery(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, post_mode="INBOX", caption="Fog"))
    assert world.tiktok.calls_to("init_photo_post")[0].args["post"] == PhotoPost(
        post_mode="MEDIA_UPLOAD",
        photo_urls=[f"https://storage.googleapis.com/bucket/photo-{n}.jpg" for n in (1, 2)],
        cover_index=0, title="Fog", description="", privacy_level=None, disable_comment=False, auto_add_music=False,
    )
    assert publish.published_at == world.clock.now()
    assert (publish.owner, publish.lease_until, publish.done) == (None, None, True)
    last = (await world.events(publish.id))[-1]
    assert (last.type, last.message) == (
        "DELIVERED_TO_INBOX", "Delivered to the creator's TikTok inbox to finish and post")


async def test_a_failed_status_keeps_tiktoks_reason_and_trace_id(world: World) -> None:
    world.tiktok.statuses["v_pub_1"] = [PublishStatus(status="FAILED", fail_reason="", log_id="log-9")]
    _, publish = await publish_fails(world, await world.tiktok_request(2), FailedPrecondition)
    assert publish.error is not None
    assert (publish.error.platform_code, publish.error.platform_trace_id) == ("", "log-9")


async def test_an_unconfirmed_init_message_is_the_whole_warning(world: World) -> None:
    world.tiktok.script("init_photo_post", TikTokFailure.server_error("init_photo_post"))
    error, _ = await publish_fails(world, await world.tiktok_request(2), DeadlineExceeded)
    assert error.message == (
        "The outcome of the TikTok publish could not be established: TikTok answered init with internal_error, "
        "which may come after the post was accepted; TikTok offers no lookup, so it was not sent again. "
        "It may still go live; do not publish it again without checking."
    )


async def test_a_public_post_waiting_for_its_id_says_so(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, privacy_level="PUBLIC_TO_EVERYONE"))
    assert (await world.events(publish.id))[-1].message == (
        "Published; TikTok has not reported a public post id yet (it does after moderation); "
        "it will be asked again later"
    )


# --- a caption the spec takes but TikTok's title cannot hold ---------------------------------

LEAVES = "🍂" * 90  # 90 characters (the spec's limit), 180 UTF-16 units (TikTok's title takes 90)


async def test_90_emoji_are_posted_whole_as_the_description_under_a_title_cut_to_fit(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, caption=LEAVES))
    assert publish.state == PublishState.PUBLISHED
    assert publish.caption == LEAVES  # the record keeps the caption as sent by the caller
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert (post.title, post.description) == ("🍂" * 44 + "…", LEAVES)
    assert (publish.options.platform_title, publish.options.platform_description) == (post.title, LEAVES)
    assert publish.options.text_fitted == "CAPTION_OVER_TITLE_LIMIT"
    sent = (await world.events(publish.id))[2]
    assert sent.type == "TIKTOK_INIT_SENT"
    assert sent.message == (
        "Sending the post to TikTok (2 photos); the caption is 180 UTF-16 units and TikTok's title takes 90, "
        "so the title is its first 89 units and the whole caption is the description"
    )
    assert sent.details == {"title": post.title, "title_utf16_units": 89, "description_utf16_units": 180,
                            "changed": [sent.message.split("; ", 1)[1]]}


async def test_a_title_cut_from_joined_emoji_keeps_each_one_whole(world: World) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 code points, 11 units
    caption = "aaa" + family * 9  # 66 characters, 102 units
    publish = await world.publish(await world.tiktok_request(2, caption=caption))
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    # Cut by code points, 9 more units of an eighth family would have fitted.
    assert (post.title, post.description) == ("aaa" + family * 7 + "…", caption)
    assert publish.options.platform_title == post.title
    assert (await world.events(publish.id))[2].details["title_utf16_units"] == 81


async def test_the_callers_description_follows_a_caption_too_long_for_the_title(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, caption=LEAVES, description="Black Forest",
                                                             post_mode="INBOX"))
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert post.description == LEAVES + "\n\nBlack Forest"
    assert publish.options.description == "Black Forest"  # what the request said, beside what was sent


async def test_a_caption_the_title_holds_is_sent_as_it_is_and_the_record_says_nothing_changed(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, caption="🍂" * 45, description="d"))
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert (post.title, post.description) == ("🍂" * 45, "d")
    assert not {"platform_title", "platform_description", "text_fitted"} & set(publish.options.to_record())
    assert (publish.options.platform_title, publish.options.text_fitted) == ("", "")
    assert "changed" not in (await world.events(publish.id))[2].details


async def test_a_scheduled_caption_too_long_for_the_title_is_fitted_at_its_time(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, caption=LEAVES, publish_time=world.at(60)))
    assert publish.state == PublishState.SCHEDULED
    assert publish.options.platform_description == LEAVES
    world.clock.advance(60)
    [claimed] = await world.services.scheduler.run_due()
    stored = await world.store.publishes.get(claimed.id)
    assert stored is not None
    assert (await world.services.runner.wait(stored)).state == PublishState.PUBLISHED
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert (post.title, post.description) == ("🍂" * 44 + "…", LEAVES)


async def test_an_operator_who_requires_the_caption_to_fit_the_title_gets_it_refused_before_any_call() -> None:
    async with world_with(Settings(tiktok_require_caption_fits_title=True)) as world:
        with pytest.raises(InvalidArgument) as caught:
            await world.publish(await world.tiktok_request(2, caption="🍂" * 46))
        assert [v.field for v in caught.value.field_violations] == ["caption"]
        assert "DISTRIBUTION_TIKTOK_REQUIRE_CAPTION_FITS_TITLE" in caught.value.message
        with pytest.raises(InvalidArgument):
            await world.services.publisher.validate(world.workspace, await world.tiktok_request(2, caption=LEAVES))
        assert world.tiktok.calls == []
        fits = await world.publish(await world.tiktok_request(2, caption="🍂" * 45))
        assert fits.state == PublishState.PUBLISHED
