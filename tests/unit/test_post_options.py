"""Post options on fakes: Instagram alt text, user tags, collaborators, location and the first
comment (its own checkpointed step), TikTok disclosure, consent and the creator's settings.
Every refusal comes before any platform call and names every offending item at once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import pytest

from server.config import Settings
from server.domain.commands import InstagramCarousel, TikTokCarousel
from server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from server.domain.models import FirstComment, FirstCommentState, Platform, Publish, PublishEvent, PublishState
from server.domain.options import ImageOptions, InstagramOptions, UserTag
from server.services.publishing import content_fingerprint, fingerprint
from tests.fakes import Applied, IgFailure
from tests.unit.conftest import IG_USER, World, setting, world_with
from tests.unit.helpers import instagram_timeline

# --- Instagram: options reach the right containers ---------------------------------------


async def test_item_options_go_on_items_and_carousel_options_on_the_carousel(world: World) -> None:
    tag = UserTag("@friend.one", 0.25, 1.0)
    request = await world.instagram_request(
        2,
        images=(ImageOptions(alt_text="A red leaf", user_tags=(tag,)), ImageOptions()),
        collaborators=("@alice", "bob_2"),
        location_id="110843418940484",
    )
    publish = await world.publish(request)
    assert publish.state == PublishState.PUBLISHED
    items = world.instagram.calls_to("create_image_container")
    assert items[0].args["alt_text"] == "A red leaf"
    # The leading "@" is stripped, as Graph refuses it (postiz #1547).
    assert items[0].args["user_tags"] == [UserTag("friend.one", 0.25, 1.0)]
    assert "alt_text" not in items[1].args and "user_tags" not in items[1].args
    assert all("collaborators" not in c.args and "location_id" not in c.args for c in items)
    carousel = world.instagram.calls_to("create_carousel_container")[0].args
    assert (carousel["collaborators"], carousel["location_id"]) == (["alice", "bob_2"], "110843418940484")
    assert publish.options.to_record() == {
        "images": [
            {"alt_text": "A red leaf", "user_tags": [{"username": "friend.one", "x": 0.25, "y": 1.0}]},
            {"alt_text": "", "user_tags": []},
        ],
        "collaborators": ["alice", "bob_2"],
        "location_id": "110843418940484",
    }
    assert publish.first_comment is None


async def test_every_bad_option_is_named_at_once_before_any_platform_call(world: World) -> None:
    request = await world.instagram_request(
        3,
        images=(
            ImageOptions(alt_text="x" * 1001),
            ImageOptions(user_tags=(UserTag("ok", 1.5, 0.5), UserTag("bad name!", 0.1, -0.1))),
            ImageOptions(user_tags=tuple(UserTag(f"u{i}", 0.5, 0.5) for i in range(21))),
        ),
        collaborators=("a", "b", "c", "d"),
        location_id="Paris",
        first_comment="y" * 2201,
    )
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(request)
    fields = {v.field for v in caught.value.field_violations}
    assert fields == {
        "images[0].alt_text", "images[1].user_tags[0].x", "images[1].user_tags[1].username",
        "images[1].user_tags[1].y", "images[2].user_tags", "collaborators", "location_id", "first_comment",
    }
    assert world.instagram.calls == []
    assert world.store.publishes.rows == {}


async def test_images_must_match_the_media_ids_one_to_one(world: World) -> None:
    request = await world.instagram_request(3, images=(ImageOptions(alt_text="only one"),))
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(request)
    assert [v.field for v in caught.value.field_violations] == ["images"]
    assert world.instagram.calls == []


# --- Instagram: the first comment ---------------------------------------------------------


async def test_a_first_comment_is_posted_once_right_after_the_post_went_live(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="First! #autumn"))
    assert publish.state == PublishState.PUBLISHED
    assert publish.first_comment == FirstComment(FirstCommentState.POSTED, comment_id="comment-1", sends=1)
    assert publish.pending_facts == []
    calls = world.instagram.calls_to("comment")
    assert [c.args for c in calls] == [{"token": "ig-token", "media_id": publish.ig_media_id,
                                        "message": "First! #autumn"}]
    timeline = instagram_timeline(2)
    assert await world.timeline(publish.id) == [
        *timeline[:-1], "FIRST_COMMENT_SENT", "FIRST_COMMENT_POSTED", timeline[-1],
    ]


async def test_a_failed_first_comment_leaves_the_publish_published_with_its_own_error(world: World) -> None:
    world.instagram.script("comment", IgFailure.answered("comment", code="10", message="Permission denied"))
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.state == PublishState.PUBLISHED
    assert publish.error is None
    comment = publish.first_comment
    assert comment is not None and comment.state == FirstCommentState.FAILED
    assert comment.error is not None and comment.error.reason == "INSTAGRAM_PERMISSION_MISSING"
    assert world.instagram.count("comment") == 1
    assert "FIRST_COMMENT_FAILED" in await world.timeline(publish.id)


async def test_a_publish_that_never_went_live_does_not_leave_its_comment_pending(world: World) -> None:
    world.instagram.script("create_carousel_container", IgFailure.answered("create_carousel_container",
                                                                           code="10", message="No permission"))
    with pytest.raises(FailedPrecondition):
        await world.publish(await world.instagram_request(2, first_comment="Hello"))
    publish = await world.only_publish()
    assert publish.state == PublishState.FAILED
    assert publish.first_comment is not None and publish.first_comment.state == FirstCommentState.FAILED
    assert publish.first_comment.error is not None
    assert publish.first_comment.error.reason == "INSTAGRAM_FIRST_COMMENT_NOT_POSTED"
    assert world.instagram.count("comment") == 0


async def test_a_comment_whose_answer_was_lost_is_found_not_sent_again(world: World) -> None:
    world.instagram.comment_author = IG_USER
    world.instagram.script("comment", Applied(IgFailure.timed_out("comment")))
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.first_comment == FirstComment(FirstCommentState.POSTED, comment_id="comment-1", sends=1)
    assert world.instagram.count("comment") == 1
    assert world.instagram.count("comments") == 1
    timeline = await world.timeline(publish.id)
    assert "FIRST_COMMENT_OUTCOME_UNKNOWN" in timeline


async def test_a_lost_comment_that_never_arrived_is_sent_once_more(world: World) -> None:
    world.instagram.script("comment", IgFailure.timed_out("comment"))  # not applied
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.first_comment == FirstComment(FirstCommentState.POSTED, comment_id="comment-1", sends=2)
    assert world.instagram.count("comment") == 2
    assert len(world.instagram.comments_on[publish.ig_media_id or ""]) == 1


async def test_a_lost_comment_that_cannot_be_checked_is_unconfirmed_and_never_resent(world: World) -> None:
    world.instagram.script("comment", Applied(IgFailure.timed_out("comment")))
    world.instagram.script("comments", IgFailure.answered("comments", code="10", message="Permission denied"))
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.state == PublishState.PUBLISHED
    comment = publish.first_comment
    assert comment is not None and comment.state == FirstCommentState.UNCONFIRMED
    assert comment.error is not None and comment.error.reason == "INSTAGRAM_FIRST_COMMENT_UNCONFIRMED"
    assert world.instagram.count("comment") == 1


async def test_a_check_that_fails_for_now_is_left_sending_for_the_reconciler(world: World) -> None:
    world.instagram.comment_author = IG_USER
    world.instagram.script("comment", Applied(IgFailure.timed_out("comment")))
    world.instagram.script("comments", *[IgFailure.server_error("comments")] * 20)
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.state == PublishState.PUBLISHED
    assert publish.first_comment == FirstComment(FirstCommentState.SENDING, sends=1)
    assert publish.pending_facts == ["first_comment"] and publish.reconcile_at is not None
    assert publish.permalink  # the rest of the run went on
    world.instagram.unscript("comments")  # Instagram answers again
    world.clock.advance(30)
    await world.services.reconciler.run_once()
    final = await world.store.publishes.get(publish.id)
    assert final is not None
    assert final.first_comment == FirstComment(FirstCommentState.POSTED, comment_id="comment-1", sends=1)
    assert final.pending_facts == [] and final.reconcile_at is None
    assert world.instagram.count("comment") == 1


async def test_a_comment_never_checked_before_the_horizon_ends_unconfirmed(world: World) -> None:
    world.instagram.script("comment", Applied(IgFailure.timed_out("comment")))
    world.instagram.script("comments", *[IgFailure.server_error("comments")] * 50)
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.first_comment is not None and publish.first_comment.state == FirstCommentState.SENDING
    world.clock.advance(2 * 86400)
    await world.services.reconciler.run_once()
    final = await world.store.publishes.get(publish.id)
    assert final is not None and final.state == PublishState.PUBLISHED
    assert final.first_comment is not None and final.first_comment.state == FirstCommentState.UNCONFIRMED
    assert final.pending_facts == [] and final.reconcile_at is None
    assert world.instagram.count("comment") == 1


@pytest.mark.parametrize("arrived", [True, False], ids=["crash-after-the-call", "crash-before-the-call"])
async def test_the_reconciler_finishes_a_comment_a_crash_left_sending(world: World, arrived: bool) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    media_id = publish.ig_media_id or ""
    if not arrived:
        world.instagram.comments_on.clear()
    # As a run killed after saving SENDING leaves it (the call's outcome unknown).
    await world.store.publishes.apply(
        publish.id,
        setting(
            first_comment=FirstComment(FirstCommentState.SENDING, sends=1), pending_facts=["first_comment"],
            reconcile_at=world.clock.now(),
        ),
        [PublishEvent(type="FIRST_COMMENT_SENT", message="sending")],
    )
    await world.services.reconciler.run_once()
    final = await world.store.publishes.get(publish.id)
    assert final is not None and final.state == PublishState.PUBLISHED
    assert final.first_comment is not None and final.first_comment.state == FirstCommentState.POSTED
    assert final.pending_facts == [] and final.reconcile_at is None
    assert len(world.instagram.comments_on[media_id]) == 1
    assert world.instagram.count("comment") == (1 if arrived else 2)


async def test_a_comment_lost_twice_that_never_arrived_fails_and_is_not_sent_a_third_time(world: World) -> None:
    world.instagram.script("comment", IgFailure.timed_out("comment"), IgFailure.timed_out("comment"))  # not applied
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert publish.state == PublishState.PUBLISHED and publish.error is None
    comment = publish.first_comment
    assert comment is not None and (comment.state, comment.sends) == (FirstCommentState.FAILED, 2)
    assert comment.error is not None and comment.error.reason == "INSTAGRAM_FIRST_COMMENT_FAILED"
    assert comment.error.message == ("The first comment was sent 2 times without an answer and is not among the "
                                     "post's comments; it was not posted")
    assert world.instagram.count("comment") == 2
    assert world.instagram.count("comments") == 2  # each lost send was looked for before anything else
    assert publish.pending_facts == []
    timeline = await world.timeline(publish.id)
    assert timeline.count("FIRST_COMMENT_SENT") == 2 and "FIRST_COMMENT_FAILED" in timeline


async def test_a_post_whose_media_id_is_unknown_fails_its_first_comment_without_sending_it(world: World) -> None:
    # media_publish took effect but its answer was lost, and the account's recent posts could not be read.
    world.instagram.script("publish", Applied(IgFailure.timed_out("publish")))
    world.instagram.script("recent_media", IgFailure.server_error("recent_media"))
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    assert (publish.state, publish.ig_media_id) == (PublishState.PUBLISHED, None)
    comment = publish.first_comment
    assert comment is not None and comment.state == FirstCommentState.FAILED
    assert comment.error is not None and comment.error.reason == "INSTAGRAM_FIRST_COMMENT_NO_MEDIA_ID"
    assert world.instagram.count("comment") == 0
    assert (publish.pending_facts, publish.owner, publish.done) == ([], None, True)
    assert (await world.timeline(publish.id))[-1] == "FIRST_COMMENT_FAILED"


@pytest.mark.parametrize(
    ("left", "ends", "reason"),
    [
        (FirstCommentState.PENDING, FirstCommentState.FAILED, "INSTAGRAM_FIRST_COMMENT_FAILED"),
        (FirstCommentState.SENDING, FirstCommentState.UNCONFIRMED, "INSTAGRAM_FIRST_COMMENT_UNCONFIRMED"),
    ],
    ids=["never-sent", "sent-unanswered"],
)
async def test_a_comment_of_an_account_without_a_token_is_given_up_with_the_other_facts(
    world: World, left: FirstCommentState, ends: FirstCommentState, reason: str
) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    # As a run killed before the comment was final leaves it, with the permalink also unread.
    await world.store.publishes.apply(
        publish.id,
        setting(
            first_comment=FirstComment(left, sends=1 if left == FirstCommentState.SENDING else 0),
            pending_facts=["first_comment", "permalink"], reconcile_at=world.clock.now(),
        ),
        [PublishEvent(type="FIRST_COMMENT_SENT", message="crashed")],
    )
    await world.store.accounts.disconnect(world.workspace, publish.account_id)
    await world.services.reconciler.run_once()
    final = await world.store.publishes.get(publish.id)
    assert final is not None and final.state == PublishState.PUBLISHED
    comment = final.first_comment
    assert comment is not None and comment.state == ends
    assert comment.error is not None and comment.error.reason == reason
    assert "no usable token" in comment.error.message
    assert (final.pending_facts, final.reconcile_at) == ([], None)
    assert (await world.timeline(publish.id))[-2:] == [f"FIRST_COMMENT_{ends.name}", "LATE_FACTS_ABANDONED"]
    last = (await world.events(publish.id))[-1]
    assert last.message.startswith("Stopped waiting for permalink: no usable token")
    assert world.instagram.count("comment") == 1 and world.instagram.count("comments") == 0  # nothing sent


async def test_the_reconciler_leaves_a_comment_to_the_live_run_that_holds_the_publish(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="Hello"))
    await world.store.publishes.apply(
        publish.id,
        setting(
            first_comment=FirstComment(FirstCommentState.SENDING, sends=1), pending_facts=["first_comment"],
            reconcile_at=world.clock.now(),
        ),
        [PublishEvent(type="FIRST_COMMENT_SENT", message="sending")],
    )
    row = world.store.publishes.rows[publish.id]
    row.owner, row.lease_until = "another-replica", world.at(60)  # its run is still going there
    await world.services.reconciler.run_once()
    final = await world.store.publishes.get(publish.id)
    assert final is not None
    assert final.first_comment == FirstComment(FirstCommentState.SENDING, sends=1)
    assert final.pending_facts == ["first_comment"] and final.reconcile_at is not None
    last = (await world.events(publish.id))[-1]
    assert last.type == "LATE_FACTS_PENDING"
    assert last.message == ("Still waiting for first_comment (first_comment: the run that published it is "
                            "still posting it)")
    assert world.instagram.count("comment") == 1 and world.instagram.count("comments") == 0


# --- TikTok: disclosure, consent and the creator's settings ------------------------------


async def test_disclosure_and_consent_are_sent_and_kept_as_evidence(world: World) -> None:
    world.tiktok.nickname = "Ada's Bakery"
    publish = await world.publish(await world.tiktok_request(
        2, privacy_level="PUBLIC_TO_EVERYONE", brand_content_toggle=True, brand_organic_toggle=True,
        creator_consent_obtained=True,
    ))
    post = world.tiktok.calls_to("init_photo_post")[0].args["post"]
    assert (post.brand_content_toggle, post.brand_organic_toggle) == (True, True)
    assert publish.options.creator_consent_obtained is True
    assert publish.options.creator_nickname == "Ada's Bakery"
    assert (publish.options.brand_content_toggle, publish.options.brand_organic_toggle) == (True, True)


@pytest.mark.parametrize("declared", [None, False])
async def test_a_direct_post_without_a_consent_statement_is_made_and_the_record_says_what_was_declared(
    world: World, declared: bool | None
) -> None:
    """The spec's request (no consent field) is a valid direct post: the rule is an operator's opt-in."""
    world.tiktok.nickname = "Ada's Bakery"
    publish = await world.publish(await world.tiktok_request(2, creator_consent_obtained=declared))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.methods() == ["creator_info", "init_photo_post", "fetch_status"]
    assert publish.options.creator_consent_obtained is declared
    assert publish.options.creator_nickname == "Ada's Bakery"


@pytest.mark.parametrize("declared", [None, False])
async def test_an_operator_who_requires_consent_gets_a_direct_post_without_it_refused_before_any_call(
    declared: bool | None,
) -> None:
    async with world_with(Settings(tiktok_require_creator_consent=True)) as world:
        with pytest.raises(FailedPrecondition) as caught:
            await world.publish(await world.tiktok_request(2, creator_consent_obtained=declared))
        assert caught.value.reason == "TIKTOK_CONSENT_REQUIRED"
        assert caught.value.metadata["field"] == "creator_consent_obtained"
        assert "express consent" in caught.value.message
        assert "DISTRIBUTION_TIKTOK_REQUIRE_CREATOR_CONSENT" in caught.value.message
        assert world.tiktok.calls == []
        # Validated or scheduled, the same refusal; stated, the post is made; inbox needs none.
        with pytest.raises(FailedPrecondition):
            await world.services.publisher.validate(world.workspace, await world.tiktok_request(2))
        with pytest.raises(FailedPrecondition):
            await world.publish(await world.tiktok_request(2, publish_time=world.at(60)))
        made = await world.publish(await world.tiktok_request(2, creator_consent_obtained=True))
        assert (made.state, made.options.creator_consent_obtained) == (PublishState.PUBLISHED, True)
        inbox = await world.publish(await world.tiktok_request(2, post_mode="INBOX"))
        assert inbox.state == PublishState.DELIVERED_TO_INBOX


async def test_an_inbox_delivery_needs_no_consent_and_takes_no_disclosure(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, post_mode="INBOX", creator_consent_obtained=False))
    assert publish.state == PublishState.DELIVERED_TO_INBOX
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(await world.tiktok_request(2, post_mode="INBOX", brand_organic_toggle=True))
    assert [v.field for v in caught.value.field_violations] == ["brand_organic_toggle"]


async def test_branded_content_cannot_be_private_and_both_fields_are_named(world: World) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(await world.tiktok_request(2, privacy_level="SELF_ONLY", brand_content_toggle=True))
    assert {v.field for v in caught.value.field_violations} == {"brand_content_toggle", "privacy_level"}
    assert world.tiktok.calls == []


async def test_comments_the_creator_turned_off_are_turned_off_on_the_post_and_the_record_says_why(
    world: World,
) -> None:
    """The spec's request (no disable_comment) is made: the post cannot allow comments anyway."""
    world.tiktok.comment_disabled = True
    publish = await world.publish(await world.tiktok_request(2))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.calls_to("init_photo_post")[0].args["post"].disable_comment is True
    assert (publish.options.disable_comment, publish.options.comments_disabled_by_creator) == (True, True)
    sent = (await world.events(publish.id))[2]
    assert sent.message.endswith(
        "; comments are off: the creator turned comments off for their account (creator_info comment_disabled)")
    assert sent.details["changed"] == [sent.message.split("; ", 1)[1]]


async def test_comments_the_request_turned_off_itself_are_not_put_down_to_the_creator(world: World) -> None:
    world.tiktok.comment_disabled = True
    publish = await world.publish(await world.tiktok_request(2, disable_comment=True))
    assert publish.options.disable_comment is True
    assert publish.options.comments_disabled_by_creator is False
    assert "comments_disabled_by_creator" not in publish.options.to_record()
    assert "changed" not in (await world.events(publish.id))[2].details


async def test_validate_only_previews_the_comments_a_publish_would_turn_off(world: World) -> None:
    world.tiktok.comment_disabled = True
    preview = await world.services.publisher.validate(world.workspace, await world.tiktok_request(2))
    assert (preview.publish.options.disable_comment, preview.publish.options.comments_disabled_by_creator) == (
        True, True)
    assert world.tiktok.methods() == ["creator_info"]
    assert world.store.publishes.rows == {}


@pytest.mark.parametrize("validate_only", [False, True])
async def test_an_operator_who_requires_disable_comment_gets_the_refusal_naming_the_field(validate_only: bool) -> None:
    async with world_with(Settings(tiktok_require_disable_comment=True)) as world:
        world.tiktok.comment_disabled = True
        request = await world.tiktok_request(2)
        with pytest.raises(FailedPrecondition) as caught:
            if validate_only:
                await world.services.publisher.validate(world.workspace, request)
            else:
                await world.publish(request)
        assert (caught.value.reason, caught.value.metadata["field"]) == (
            "TIKTOK_COMMENTS_DISABLED_BY_CREATOR", "disable_comment")
        assert "DISTRIBUTION_TIKTOK_REQUIRE_DISABLE_COMMENT" in caught.value.message
        assert world.tiktok.methods() == ["creator_info"]
        publish = await world.publish(await world.tiktok_request(2, disable_comment=True))
        assert publish.state == PublishState.PUBLISHED


# --- fingerprints -------------------------------------------------------------------------


def test_a_request_without_options_keeps_its_fingerprints_from_before_options() -> None:
    request = InstagramCarousel(media_ids=["m1", "m2"], account_id="a", caption="c", request_id="r")
    old_body = {k: v for k, v in asdict(request).items()
                if k in ("media_ids", "account_id", "caption")} | {"type": "InstagramCarousel"}
    assert fingerprint(request) == hashlib.sha256(json.dumps(old_body, sort_keys=True).encode()).hexdigest()
    old_content = hashlib.sha256(json.dumps(["INSTAGRAM", "a", ["m1", "m2"], "c"]).encode()).hexdigest()
    assert content_fingerprint(Platform.INSTAGRAM, request) == old_content
    with_comment = InstagramCarousel(media_ids=["m1", "m2"], account_id="a", caption="c", first_comment="hi")
    assert fingerprint(with_comment) != fingerprint(request)
    assert content_fingerprint(Platform.INSTAGRAM, with_comment) != old_content


def test_a_consent_not_stated_or_declared_false_keeps_the_fingerprint_of_a_request_that_never_had_the_field() -> None:
    base = TikTokCarousel(media_ids=["m1", "m2"], account_id="a", post_mode="INBOX", request_id="r")
    declared_false = TikTokCarousel(media_ids=["m1", "m2"], account_id="a", post_mode="INBOX", request_id="r",
                                    creator_consent_obtained=False)
    declared_true = TikTokCarousel(media_ids=["m1", "m2"], account_id="a", post_mode="INBOX", request_id="r",
                                   creator_consent_obtained=True)
    assert fingerprint(base) == fingerprint(declared_false) != fingerprint(declared_true)
    # Consent is no part of what appears on the account.
    assert len({content_fingerprint(Platform.TIKTOK, r) for r in (base, declared_false, declared_true)}) == 1


async def test_the_duplicate_guard_and_request_ids_count_the_options(world: World) -> None:
    request = await world.instagram_request(2, first_comment="Hello")
    await world.publish(request)
    with pytest.raises(AlreadyExists) as caught:
        await world.publish(request)
    assert caught.value.reason == "DUPLICATE_PUBLISH"
    other = InstagramCarousel(media_ids=request.media_ids, account_id=request.account_id, first_comment="Bye")
    assert (await world.publish(other)).state == PublishState.PUBLISHED
    keyed = InstagramCarousel(media_ids=request.media_ids, account_id=request.account_id, request_id=_RID,
                              allow_duplicate=True, first_comment="A")
    await world.publish(keyed)
    with pytest.raises(AlreadyExists) as reused:
        await world.publish(InstagramCarousel(media_ids=request.media_ids, account_id=request.account_id,
                                              request_id=_RID, allow_duplicate=True, first_comment="B"))
    assert reused.value.reason == "REQUEST_ID_REUSED"


_RID = "0b3f6c1e-4a8d-4f0e-9c1a-2d7e5b8a9f10"


async def test_validate_only_checks_the_options_and_writes_nothing(world: World) -> None:
    bad = await world.instagram_request(2, collaborators=("a", "b", "c", "d"))
    with pytest.raises(InvalidArgument):
        await world.services.publisher.validate(world.workspace, bad)
    good = await world.instagram_request(2, first_comment="Hi", collaborators=("@alice",))
    preview = await world.services.publisher.validate(world.workspace, good)
    assert preview.publish.options == InstagramOptions(collaborators=("alice",), first_comment="Hi")
    tiktok = await world.services.publisher.validate(world.workspace, await world.tiktok_request(
        2, creator_consent_obtained=False))
    assert tiktok.publish.options.creator_nickname == "Creator"
    assert tiktok.publish.options.creator_consent_obtained is False
    assert world.store.publishes.rows == {}
    assert set(world.instagram.methods()) == {"publishing_limit"}
    assert set(world.tiktok.methods()) == {"creator_info"}


# --- scheduled publishes --------------------------------------------------------------------


async def test_a_scheduled_direct_post_keeps_the_nickname_seen_when_scheduled(world: World) -> None:
    world.tiktok.nickname = "Seen when scheduled"
    publish = await world.publish(await world.tiktok_request(2, publish_time=world.at(60)))
    assert publish.state == PublishState.SCHEDULED
    assert publish.options.creator_nickname == "Seen when scheduled"


async def _run_due(world: World, publish_id: str) -> Publish:
    world.clock.advance(61)
    await world.services.scheduler.run_due()
    stored = await world.store.publishes.get(publish_id)
    assert stored is not None
    return await world.services.runner.wait(stored)


async def test_comments_the_creator_turned_off_since_scheduling_are_turned_off_at_its_time(world: World) -> None:
    publish = await world.publish(await world.tiktok_request(2, publish_time=world.at(60)))
    assert publish.options.comments_disabled_by_creator is False
    assert "comments_disabled_by_creator" not in publish.options.to_record()
    world.tiktok.comment_disabled = True
    final = await _run_due(world, publish.id)
    assert final.state == PublishState.PUBLISHED
    assert world.tiktok.calls_to("init_photo_post")[0].args["post"].disable_comment is True
    assert (final.options.disable_comment, final.options.comments_disabled_by_creator) == (True, True)
    changed = next(e for e in await world.events(publish.id) if e.type == "OPTIONS_CHANGED")
    assert changed.message == ("Comments turned off: the creator turned comments off for their account "
                               "(creator_info comment_disabled) since this publish was scheduled")
    assert changed.details == {"disable_comment": True, "comments_disabled_by_creator": True}


async def test_comments_the_creator_turned_back_on_since_scheduling_are_left_on_as_requested(world: World) -> None:
    world.tiktok.comment_disabled = True
    publish = await world.publish(await world.tiktok_request(2, publish_time=world.at(60)))
    assert publish.options.comments_disabled_by_creator is True
    world.tiktok.comment_disabled = False
    final = await _run_due(world, publish.id)
    assert world.tiktok.calls_to("init_photo_post")[0].args["post"].disable_comment is False
    assert (final.options.disable_comment, final.options.comments_disabled_by_creator) == (False, False)
    assert "OPTIONS_CHANGED" in await world.timeline(publish.id)


async def test_a_scheduled_post_whose_comments_stay_as_they_were_changes_nothing_at_its_time(world: World) -> None:
    world.tiktok.comment_disabled = True
    off = await world.publish(await world.tiktok_request(2, publish_time=world.at(60)))
    asked = await world.publish(await world.tiktok_request(2, publish_time=world.at(60), disable_comment=True,
                                                           allow_duplicate=True))
    for publish in (off, asked):
        final = await _run_due(world, publish.id)
        assert final.state == PublishState.PUBLISHED
        assert "OPTIONS_CHANGED" not in await world.timeline(publish.id)
    assert [c.args["post"].disable_comment for c in world.tiktok.calls_to("init_photo_post")] == [True, True]


async def test_a_scheduled_instagram_publish_posts_its_first_comment_at_its_time(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="Later", publish_time=world.at(60)))
    assert publish.first_comment == FirstComment(FirstCommentState.PENDING)
    world.clock.advance(61)
    await world.services.scheduler.run_due()
    stored = await world.store.publishes.get(publish.id)
    assert stored is not None
    final = await world.services.runner.wait(stored)
    assert final.state == PublishState.PUBLISHED
    assert final.first_comment is not None and final.first_comment.state == FirstCommentState.POSTED
    assert world.instagram.count("comment") == 1


async def test_a_cancelled_schedule_marks_its_first_comment_not_posted(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2, first_comment="Later", publish_time=world.at(60)))
    cancelled = await world.services.publisher.cancel(world.workspace, publish.id)
    assert cancelled.state == PublishState.CANCELLED
    assert cancelled.first_comment is not None and cancelled.first_comment.state == FirstCommentState.FAILED
    assert world.instagram.count("comment") == 0
