"""The PublishStore contract: what every publish log does (server/domain/ports.py).

A record and its timeline change together; every change bumps the revision; a state may
only move forward (PublishState.may_become) and a refused change writes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from server.domain.changes import KEEP, ChildContainer, PublishChange
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.models import (
    FirstComment,
    FirstCommentState,
    LapsedLease,
    Platform,
    PublishError,
    PublishEvent,
    PublishFilter,
    PublishKind,
    PublishState,
    PublishVersion,
)
from server.domain.options import InstagramOptions, TikTokOptions
from server.domain.ports import Store
from tests.contracts.records import (
    OTHER_WORKSPACE,
    T0,
    WORKSPACE,
    account_in,
    at,
    change,
    created,
    event,
    in_state,
    new_publish,
    release,
    without,
)

ERROR = PublishError(
    code="FAILED_PRECONDITION", reason="INSTAGRAM_MEDIA_FETCH_FAILED", message="media_ids[1]: cannot fetch",
    platform_code="9004", platform_subcode="2207052", platform_trace_id="trace", retryable=False, item_index=1,
    token_rejected=False,
)

# --- create -----------------------------------------------------------------------------------


async def test_create_stores_a_pending_record_with_its_first_event(store: Store) -> None:
    account = await account_in(store)
    publish = new_publish(account, options={"post_mode": "DIRECT", "cover_index": 1}, request_id=str(uuid.uuid4()))
    assert await store.publishes.create(publish, [event("CREATED", PublishState.PENDING, details={"n": 2})]) is None
    stored = await store.publishes.get(publish.id)
    assert stored == publish  # every field as given, revision 0, updated_at = created_at
    events = await store.publishes.events(publish.id)
    assert len(events) == 1
    first = events[0]
    assert (first.type, first.state, first.details, first.time) == ("CREATED", PublishState.PENDING, {"n": 2}, T0)
    assert first.id is not None
    assert first.id > 0


async def test_create_writes_a_running_publish_with_its_lease_and_first_events_in_order(store: Store) -> None:
    account = await account_in(store)
    publish = new_publish(account, state=PublishState.PROCESSING, owner="replica-a", lease_until=at(15))
    assert await store.publishes.create(
        publish, [event("CREATED", PublishState.PENDING), event("PROCESSING_STARTED", PublishState.PROCESSING)],
    ) is None
    stored = await store.publishes.get(publish.id)
    assert stored == publish
    assert (stored.owner, stored.lease_until, stored.done) == ("replica-a", at(15), False)
    events = await store.publishes.events(publish.id)
    assert [(e.type, e.state) for e in events] == [
        ("CREATED", PublishState.PENDING), ("PROCESSING_STARTED", PublishState.PROCESSING)
    ]
    assert (events[0].id or 0) < (events[1].id or 0)


async def test_create_writes_a_new_record_whatever_the_object_carries(store: Store) -> None:
    account = await account_in(store)
    publish = new_publish(
        account, container_id="c", ig_media_id="m", permalink="p", error=ERROR, revision=7, call_in_flight="x",
        pending_facts=["permalink"], reconcile_at=at(5), reconcile_attempts=3, published_at=at(1),
        updated_at=at(50),
    )
    assert await store.publishes.create(publish, [event()]) is None
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert (stored.container_id, stored.ig_media_id, stored.permalink, stored.error, stored.call_in_flight) == (
        None, None, None, None, None
    )
    assert (stored.revision, stored.pending_facts, stored.reconcile_at, stored.reconcile_attempts) == (0, [], None, 0)
    assert (stored.published_at, stored.updated_at) == (None, T0)


async def test_a_request_id_is_taken_once_per_workspace(store: Store) -> None:
    account = await account_in(store)
    foreign = await account_in(store, workspace_id=OTHER_WORKSPACE)
    request_id = str(uuid.uuid4())
    first = new_publish(account, request_id=request_id)
    assert await store.publishes.create(first, [event()]) is None
    second = new_publish(account, at(1), request_id=request_id, caption="other")
    conflict = await store.publishes.create(second, [event()], duplicate_since=at(-100))
    assert conflict is not None
    assert (conflict.reason, conflict.existing) == ("request_id", await store.publishes.get(first.id))
    assert await store.publishes.get(second.id) is None
    assert await store.publishes.events(second.id) == []
    assert await store.publishes.create(new_publish(foreign, request_id=request_id), [event()]) is None
    found = await store.publishes.find_by_request_id(WORKSPACE, request_id)
    assert found is not None
    assert found.id == first.id
    assert await store.publishes.find_by_request_id(WORKSPACE, str(uuid.uuid4())) is None


async def test_publishes_without_request_id_never_collide(store: Store) -> None:
    account = await account_in(store)
    for i in range(3):
        assert await store.publishes.create(new_publish(account, at(i)), [event()]) is None
    assert len(await store.publishes.list_page(WORKSPACE, 10, None, PublishFilter())) == 3


async def test_concurrent_creates_with_one_request_id_let_exactly_one_in(store: Store) -> None:
    account = await account_in(store)
    request_id = str(uuid.uuid4())
    publishes = [new_publish(account, at(i), request_id=request_id) for i in range(5)]
    results = await asyncio.gather(*(store.publishes.create(p, [event()]) for p in publishes))
    assert results.count(None) == 1
    winner = publishes[results.index(None)]
    assert {c.existing.id for c in results if c is not None} == {winner.id}
    found = await store.publishes.find_by_request_id(WORKSPACE, request_id)
    assert found is not None
    assert found.id == winner.id
    assert len(await store.publishes.list_page(WORKSPACE, 10, None, PublishFilter())) == 1


async def test_create_refuses_the_same_content_since_a_time_when_asked(store: Store) -> None:
    account = await account_in(store)
    earlier = await created(store, account, at(0))
    again = new_publish(account, at(10))
    conflict = await store.publishes.create(again, [event()], duplicate_since=at(0))
    assert conflict is not None
    assert (conflict.reason, conflict.existing.id) == ("duplicate", earlier.id)
    assert await store.publishes.get(again.id) is None
    # Not asked, outside the window, another content, or a request_id: written.
    assert await store.publishes.create(new_publish(account, at(11)), [event()]) is None
    assert await store.publishes.create(new_publish(account, at(12)), [event()], duplicate_since=at(12)) is None
    other_content = new_publish(account, at(13), content_fingerprint="other")
    assert await store.publishes.create(other_content, [event()], duplicate_since=at(-100)) is None
    with_request_id = new_publish(account, at(14), request_id=str(uuid.uuid4()))
    assert await store.publishes.create(with_request_id, [event()], duplicate_since=at(-100)) is None


async def test_a_failed_publish_is_no_duplicate(store: Store) -> None:
    account = await account_in(store)
    await in_state(store, await created(store, account, at(0)), PublishState.FAILED)
    assert await store.publishes.create(new_publish(account, at(1)), [event()], duplicate_since=at(-100)) is None


async def test_concurrent_creates_of_the_same_content_let_exactly_one_in(store: Store) -> None:
    account = await account_in(store)
    publishes = [new_publish(account, at(i)) for i in range(4)]
    results = await asyncio.gather(
        *(store.publishes.create(p, [event()], duplicate_since=at(-100)) for p in publishes)
    )
    assert results.count(None) == 1
    assert all(c.reason == "duplicate" for c in results if c is not None)


# --- reads ------------------------------------------------------------------------------------


async def test_reads_see_only_their_workspace(store: Store) -> None:
    account = await account_in(store)
    foreign_account = await account_in(store, workspace_id=OTHER_WORKSPACE)
    mine = await created(store, account)
    foreign = await created(store, foreign_account)
    assert await store.publishes.get_in_workspace(WORKSPACE, mine.id) == mine
    assert await store.publishes.get_in_workspace(WORKSPACE, foreign.id) is None
    assert await store.publishes.get(foreign.id) == foreign  # the workflow's own read has no workspace
    assert await store.publishes.get(str(uuid.uuid4())) is None
    many = await store.publishes.get_many(WORKSPACE, [mine.id, foreign.id, str(uuid.uuid4()), mine.id])
    assert many == [mine]
    assert await store.publishes.get_many(WORKSPACE, []) == []


async def test_returned_records_are_copies(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, child_container_ids=[None, None])
    publish.child_container_ids[0] = "changed"
    publish.state = PublishState.FAILED
    updated = await store.publishes.apply(publish.id, change(container_id="c1"), [event("X")])
    updated.media_ids.append("more")
    events = await store.publishes.events(publish.id)
    events[0].details["changed"] = True
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert stored.child_container_ids == [None, None]
    assert stored.options == InstagramOptions()
    assert stored.state == PublishState.PENDING
    assert len(stored.media_ids) == 2
    assert (await store.publishes.events(publish.id))[0].details == {}


# --- update -----------------------------------------------------------------------------------


async def test_update_changes_the_record_and_appends_its_event_in_one_write(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    updated = await store.publishes.apply(
        publish.id, change(state=PublishState.PROCESSING),
        [event("PROCESSING_STARTED", PublishState.PROCESSING, details={"a": [1, 2]})],
    )
    assert updated.state == PublishState.PROCESSING
    assert updated.revision == publish.revision + 1
    assert updated.updated_at > publish.updated_at
    assert without(updated, "state", "revision", "updated_at") == without(publish, "state", "revision", "updated_at")
    assert await store.publishes.get(publish.id) == updated
    events = await store.publishes.events(publish.id)
    assert [e.type for e in events] == ["CREATED", "PROCESSING_STARTED"]
    assert events[1].state == PublishState.PROCESSING
    assert events[1].details == {"a": [1, 2]}
    assert events[1].time == updated.updated_at


async def test_every_id_column_and_field_can_be_written(store: Store) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), PublishState.PROCESSING)
    ids = {
        "container_id": "17890000000000001", "ig_media_id": "17900000000000001", "permalink": "https://p/1/",
        "tiktok_publish_id": "v_pub_1", "tiktok_post_id": "7300000000000000001", "call_in_flight": "media_publish",
    }
    updated = await store.publishes.apply(
        publish.id,
        change(
            state=PublishState.PUBLISHED, error=ERROR, published_at=at(60),
            pending_facts=["permalink", "tiktok_post_id"], reconcile_at=at(90), reconcile_attempts=2, **ids,
        ),
        [event("PUBLISHED", PublishState.PUBLISHED)],
    )
    for column, value in ids.items():
        assert getattr(updated, column) == value
    assert updated.error == ERROR
    assert (updated.published_at, updated.reconcile_at, updated.reconcile_attempts) == (at(60), at(90), 2)
    assert updated.pending_facts == ["permalink", "tiktok_post_id"]
    assert await store.publishes.get(publish.id) == updated


async def test_options_are_replaced_by_a_write_that_gives_them_and_kept_by_one_that_does_not(store: Store) -> None:
    account = await account_in(store, external_account_id="open-id", platform=Platform.TIKTOK)
    publish = await created(store, account)
    options = TikTokOptions(disable_comment=True, comments_disabled_by_creator=True, description="Autumn 🍂")
    changed = await store.publishes.apply(
        publish.id, PublishChange(options=options), [event("OPTIONS_CHANGED")], expected=publish
    )
    assert changed.options == options
    assert (await store.publishes.get(publish.id)).options == options
    kept = await store.publishes.apply(publish.id, change(call_in_flight=None), [event("LATER")])
    assert kept.options == options


async def test_an_id_written_as_none_is_cleared_and_one_left_out_is_kept(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    await store.publishes.apply(publish.id, change(call_in_flight="media_publish", container_id="c1"), [event("SENT")])
    cleared = await store.publishes.apply(publish.id, change(call_in_flight=None), [event("DONE")])
    assert (cleared.call_in_flight, cleared.container_id) == (None, "c1")


async def test_reconcile_schedule_is_kept_set_or_cleared(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    scheduled = await store.publishes.apply(
        publish.id, change(reconcile_at=at(30), pending_facts=["permalink"]), [event("A")],
    )
    assert scheduled.reconcile_at == at(30)
    kept = await store.publishes.apply(publish.id, change(reconcile_at=KEEP), [event("B")])
    assert (kept.reconcile_at, kept.pending_facts) == (at(30), ["permalink"])
    kept_by_default = await store.publishes.apply(publish.id, change(), [event("C")])
    assert kept_by_default.reconcile_at == at(30)
    cleared = await store.publishes.apply(publish.id, change(reconcile_at=None, pending_facts=[]), [event("D")])
    assert (cleared.reconcile_at, cleared.pending_facts) == (None, [])


async def test_an_error_once_recorded_stays_when_a_change_gives_none(store: Store) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), PublishState.PROCESSING)
    failed = await store.publishes.apply(publish.id, change(state=PublishState.FAILED, error=ERROR), [event("FAILED")])
    later = await store.publishes.apply(publish.id, change(), [event("NOTE")])
    assert later.error == failed.error == ERROR


async def test_earlier_events_are_written_first_with_their_own_times(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    updated = await store.publishes.apply(
        publish.id, change(container_id="c"),
        [*[event("CHILDREN_FINISHED", time=at(10)), event("NOTE_WITHOUT_TIME")], event("CAROUSEL_CONTAINER_CREATED")],
    )
    events = await store.publishes.events(publish.id)
    assert [e.type for e in events] == [
        "CREATED", "CHILDREN_FINISHED", "NOTE_WITHOUT_TIME", "CAROUSEL_CONTAINER_CREATED"
    ]
    assert events[1].time == at(10)
    assert events[2].time == events[3].time == updated.updated_at
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


async def test_update_of_an_unknown_publish_is_a_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.publishes.apply(str(uuid.uuid4()), change(container_id="c"), [event("X")])
    with pytest.raises(KeyError):
        await store.publishes.apply(str(uuid.uuid4()), change(state=PublishState.PROCESSING), [event("X")])


def _illegal() -> list[tuple[PublishState, PublishState]]:
    return [(old, new) for old in PublishState for new in PublishState if not old.may_become(new)]


@pytest.mark.parametrize(("old", "new"), _illegal(), ids=lambda s: s.value)
async def test_a_state_it_may_not_become_is_refused_and_nothing_is_written(
    store: Store, old: PublishState, new: PublishState
) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), old)
    events = await store.publishes.events(publish.id)
    with pytest.raises(IllegalTransition, match=f"is {old.value} and cannot become {new.value}") as refused:
        await store.publishes.apply(publish.id, change(state=new, container_id="never"), [event(new.value, new)])
    assert refused.value.reason == "ILLEGAL_STATE_CHANGE"
    assert await store.publishes.get(publish.id) == publish
    assert await store.publishes.events(publish.id) == events


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old in PublishState for new in PublishState if old.may_become(new)],
    ids=lambda s: s.value,
)
async def test_every_allowed_transition_is_taken(store: Store, old: PublishState, new: PublishState) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), old)
    assert (await store.publishes.apply(publish.id, change(state=new), [event(new.value, new)])).state == new


async def test_a_finished_record_still_takes_changes_without_a_state(store: Store) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), PublishState.PUBLISHED)
    late = await store.publishes.apply(publish.id, change(permalink="https://p/"), [event("PERMALINK_READ")])
    assert (late.state, late.permalink, late.revision) == (PublishState.PUBLISHED, "https://p/", publish.revision + 1)


async def test_concurrent_competing_transitions_let_exactly_one_in(store: Store) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account), PublishState.PROCESSING)
    results = await asyncio.gather(
        store.publishes.apply(publish.id, change(state=PublishState.PUBLISHED), [event("PUBLISHED")]),
        store.publishes.apply(publish.id, change(state=PublishState.FAILED, error=ERROR), [event("FAILED")]),
        return_exceptions=True,
    )
    assert sum(isinstance(r, IllegalTransition) for r in results) == 1
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert stored.revision == publish.revision + 1
    assert [e.type for e in await store.publishes.events(publish.id)][-1] == stored.state.value


async def test_concurrent_changes_are_all_counted(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account)
    await asyncio.gather(*(store.publishes.apply(publish.id, change(), [event(f"E{i}")]) for i in range(10)))
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert stored.revision == 10
    assert len(await store.publishes.events(publish.id)) == 11


# --- save_child -------------------------------------------------------------------------------


async def test_save_child_records_one_item_and_its_events(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, child_container_ids=[None, None, None])
    saved = await store.publishes.apply(
        publish.id, PublishChange(child=ChildContainer(1, "child-b")),
        [*[event("NOTE", time=at(3))], event("CHILD_CONTAINER_CREATED", details={"index": 1})],
    )
    assert saved.child_container_ids == [None, "child-b", None]
    assert saved.revision == publish.revision + 1
    assert saved.updated_at > publish.updated_at
    assert await store.publishes.get(publish.id) == saved
    events = await store.publishes.events(publish.id)
    assert [(e.type, e.details) for e in events[1:]] == [("NOTE", {}), ("CHILD_CONTAINER_CREATED", {"index": 1})]


async def test_concurrent_save_child_of_different_items_keeps_every_id(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, child_container_ids=[None] * 5)
    await asyncio.gather(
        *(store.publishes.apply(
            publish.id, PublishChange(child=ChildContainer(i, f"child-{i}")), [event("CHILD_CONTAINER_CREATED")],
        ) for i in range(5))
    )
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert stored.child_container_ids == [f"child-{i}" for i in range(5)]
    assert stored.revision == 5


async def test_save_child_just_past_the_end_appends(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, child_container_ids=[])
    first = await store.publishes.apply(publish.id, PublishChange(child=ChildContainer(0, "child-0")), [event()])
    second = await store.publishes.apply(publish.id, PublishChange(child=ChildContainer(1, "child-1")), [event()])
    assert (first.child_container_ids, second.child_container_ids) == (["child-0"], ["child-0", "child-1"])


async def test_save_child_of_an_unknown_publish_is_a_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.publishes.apply(str(uuid.uuid4()), PublishChange(child=ChildContainer(0, "c")), [event()])


# --- timeline ---------------------------------------------------------------------------------


async def test_events_are_per_publish_with_ids_increasing_across_publishes(store: Store) -> None:
    account = await account_in(store)
    one = await created(store, account)
    two = await created(store, account, at(1))
    await store.publishes.apply(one.id, change(), [event("ONE")])
    await store.publishes.apply(two.id, change(), [event("TWO")])
    first, second = await store.publishes.events(one.id), await store.publishes.events(two.id)
    assert [e.type for e in first] == ["CREATED", "ONE"]
    assert [e.type for e in second] == ["CREATED", "TWO"]
    ids = sorted(e.id or 0 for e in [*first, *second])
    assert ids == [first[0].id, second[0].id, first[1].id, second[1].id]
    assert await store.publishes.events(one.id, after=first[0].id or 0) == first[1:]
    assert await store.publishes.events(one.id, after=first[1].id or 0) == []
    assert await store.publishes.events(str(uuid.uuid4())) == []


# --- lists ------------------------------------------------------------------------------------


async def test_list_pages_newest_first_as_ids_and_revisions(store: Store) -> None:
    account = await account_in(store)
    publishes = [await created(store, account, at(i)) for i in range(5)]
    publishes += [await created(store, account, at(2)) for _ in range(2)]
    changed = await store.publishes.apply(publishes[0].id, change(), [event("X")])
    expected = [p.id for p in sorted(publishes, key=lambda p: (p.created_at, p.id), reverse=True)]
    seen: list[PublishVersion] = []
    cursor = None
    while True:
        page = await store.publishes.list_page(WORKSPACE, 3, cursor, PublishFilter())
        seen += [version for version, _ in page]
        if len(page) < 3:
            break
        cursor = page[-1][1]
    assert [v.id for v in seen] == expected
    assert PublishVersion(changed.id, changed.revision) in seen
    assert all(v.revision == 0 for v in seen if v.id != changed.id)


async def test_list_filters(store: Store) -> None:
    instagram = await account_in(store)
    tiktok = await account_in(store, platform=Platform.TIKTOK, external_account_id="oid")
    foreign = await account_in(store, workspace_id=OTHER_WORKSPACE)
    a = await created(store, instagram, at(0))
    b = await in_state(store, await created(store, instagram, at(10)), PublishState.PUBLISHED)
    c = await in_state(store, await created(store, tiktok, at(20)), PublishState.FAILED)
    d = await created(store, tiktok, at(30))
    await created(store, foreign, at(15))

    async def ids(**where: object) -> list[str]:
        page = await store.publishes.list_page(WORKSPACE, 50, None, PublishFilter(**where))  # type: ignore[arg-type]
        return [v.id for v, _ in page]

    assert await ids() == [d.id, c.id, b.id, a.id]
    assert await ids(account_id=instagram.id) == [b.id, a.id]
    assert await ids(platform=Platform.TIKTOK) == [d.id, c.id]
    assert await ids(state=PublishState.PENDING) == [d.id, a.id]
    assert await ids(state=PublishState.FAILED, platform=Platform.TIKTOK) == [c.id]
    assert await ids(account_id=instagram.id, state=PublishState.PUBLISHED) == [b.id]
    # create time bounds: [after, before)
    assert await ids(created_after=at(10)) == [d.id, c.id, b.id]
    assert await ids(created_before=at(20)) == [b.id, a.id]
    assert await ids(created_after=at(10), created_before=at(30)) == [c.id, b.id]
    assert await ids(created_after=at(10) + timedelta(microseconds=1)) == [d.id, c.id]


async def test_list_filters_by_kind(store: Store) -> None:
    instagram = await account_in(store)
    carousel = await created(store, instagram, at(0))
    image = await created(store, instagram, at(10), kind=PublishKind.IMAGE, child_container_ids=[])
    reel = await created(store, instagram, at(20), kind=PublishKind.REEL, child_container_ids=[])

    async def ids(**where: object) -> list[str]:
        page = await store.publishes.list_page(WORKSPACE, 50, None, PublishFilter(**where))  # type: ignore[arg-type]
        return [v.id for v, _ in page]

    assert await ids(kind=PublishKind.REEL) == [reel.id]
    assert await ids(kind=PublishKind.IMAGE) == [image.id]
    assert await ids(kind=PublishKind.CAROUSEL) == [carousel.id]
    assert await ids(kind=PublishKind.REEL, state=PublishState.PENDING) == [reel.id]
    assert (await store.publishes.get(reel.id)).kind == PublishKind.REEL  # type: ignore[union-attr]


async def test_a_reels_options_round_trip(store: Store) -> None:
    instagram = await account_in(store)
    options = InstagramOptions(
        collaborators=("bo",), location_id="123", cover_url="https://cdn.example/cover.jpg", thumb_offset_ms=0,
        share_to_feed=False,
    )
    reel = await created(store, instagram, kind=PublishKind.REEL, child_container_ids=[], options=options)
    assert reel.options == options  # 0 and False are kept, not taken for unset
    unset = await created(store, instagram, at(1), kind=PublishKind.REEL, child_container_ids=[],
                          options=InstagramOptions(cover_url="https://cdn.example/c.jpg"))
    assert isinstance(unset.options, InstagramOptions)
    assert (unset.options.thumb_offset_ms, unset.options.share_to_feed) == (None, None)


# --- the use cases' queries -------------------------------------------------------------------


async def test_recent_same_content_is_the_newest_that_did_not_fail(store: Store) -> None:
    account = await account_in(store)
    other_account = await account_in(store, external_account_id="2")
    old = await created(store, account, at(0))
    newer = await in_state(store, await created(store, account, at(10)), PublishState.UNCONFIRMED)
    await in_state(store, await created(store, account, at(20)), PublishState.FAILED)
    await created(store, account, at(30), content_fingerprint="other")
    await created(store, other_account, at(40))

    async def recent(since: float) -> str | None:
        found = await store.publishes.recent_same_content(WORKSPACE, account.id, "content-fp", at(since))
        return found.id if found else None

    assert await recent(-100) == newer.id
    assert await recent(10) == newer.id  # since is inclusive
    assert await recent(10.5) is None
    assert await store.publishes.recent_same_content(OTHER_WORKSPACE, account.id, "content-fp", at(-100)) is None
    await store.publishes.apply(newer.id, change(), [event("X")])
    assert await recent(0) == newer.id
    assert old.id != newer.id


async def test_claimed_ig_media_ids_are_those_the_account_recorded(store: Store) -> None:
    account = await account_in(store)
    other = await account_in(store, external_account_id="2")
    mine = await created(store, account)
    theirs = await created(store, other)
    await store.publishes.apply(mine.id, change(ig_media_id="m1"), [event("X")])
    await store.publishes.apply(theirs.id, change(ig_media_id="m2"), [event("X")])
    assert await store.publishes.claimed_ig_media_ids(account.id, ["m1", "m2", "m3"]) == {"m1"}
    assert await store.publishes.claimed_ig_media_ids(account.id, []) == set()


async def test_due_checks_are_claimed_soonest_first_within_the_limit(store: Store) -> None:
    account = await account_in(store)
    assert await store.publishes.next_reconcile_at() is None
    publishes = [await created(store, account, at(i)) for i in range(4)]
    for publish, due in zip(publishes, [300, 100, 200, 900], strict=True):
        await store.publishes.apply(publish.id, change(reconcile_at=at(due), pending_facts=["permalink"]), [event("X")])
    assert await store.publishes.next_reconcile_at() == at(100)
    assert await store.publishes.claim_due_for_reconcile(at(99), at(1000), 10) == []
    claimed = await store.publishes.claim_due_for_reconcile(at(300), at(420), 2)
    assert {p.id for p in claimed} == {publishes[1].id, publishes[2].id}  # the two soonest
    assert all(p.reconcile_at == at(420) and p.pending_facts == ["permalink"] for p in claimed)
    for publish in claimed:  # the claim moves the check, and is no change of the record
        stored = await store.publishes.get(publish.id)
        assert stored is not None
        assert (stored.reconcile_at, stored.revision) == (at(420), 1)
    assert [p.id for p in await store.publishes.claim_due_for_reconcile(at(300), at(420), 10)] == [publishes[0].id]
    assert await store.publishes.claim_due_for_reconcile(at(300), at(420), 10) == []  # claimed once
    assert await store.publishes.next_reconcile_at() == at(420)
    for publish in publishes:
        await store.publishes.apply(publish.id, change(reconcile_at=None), [event("Z")])
    assert await store.publishes.next_reconcile_at() is None


async def test_concurrent_claims_of_due_checks_take_each_once(store: Store) -> None:
    account = await account_in(store)
    for i in range(6):
        publish = await created(store, account, at(i))
        await store.publishes.apply(publish.id, change(reconcile_at=at(i)), [event("X")])
    batches = await asyncio.gather(*(store.publishes.claim_due_for_reconcile(at(100), at(500), 2) for _ in range(4)))
    ids = [p.id for batch in batches for p in batch]
    assert len(ids) == len(set(ids)) == 6


# --- leases -----------------------------------------------------------------------------------


async def test_orphans_are_claimed_oldest_first_and_held_ones_are_not(store: Store) -> None:
    account = await account_in(store)
    free = await in_state(store, await created(store, account, at(2)), PublishState.PROCESSING)
    pending = await created(store, account, at(1))
    expired = await created(store, account, at(3), owner="dead", lease_until=at(50))
    await created(store, account, at(0), owner="alive", lease_until=at(500))
    await in_state(store, await created(store, account, at(4)), PublishState.PUBLISHED)
    claimed = await store.publishes.claim_orphans("me", at(200), at(100), 10)
    assert [p.id for p in claimed] == [pending.id, free.id, expired.id]
    assert all((p.owner, p.lease_until) == ("me", at(200)) for p in claimed)
    stored = await store.publishes.get(free.id)
    assert stored is not None
    assert (stored.owner, stored.revision) == ("me", free.revision)  # a claim is no change of the record
    assert await store.publishes.claim_orphans("other", at(200), at(100), 10) == []


async def test_a_claimed_orphan_tells_whose_lease_lapsed_and_when(store: Store) -> None:
    """What the takeover's timeline event says: the lease as it stood before the claim (none
    for a publish handed back or never started); the stored record keeps no such thing."""
    account = await account_in(store)
    expired = await created(store, account, at(1), owner="dead-replica", lease_until=at(50))
    handed_back = await created(store, account, at(2))
    claimed = {p.id: p for p in await store.publishes.claim_orphans("me", at(200), at(100), 10)}
    assert claimed[expired.id].lapsed == LapsedLease("dead-replica", at(50))
    assert claimed[handed_back.id].lapsed is None
    stored = await store.publishes.get(expired.id)
    assert stored is not None and stored.lapsed is None and stored.owner == "me"


async def test_the_creating_span_and_each_events_trace_are_kept(store: Store) -> None:
    account = await account_in(store)
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    publish = await created(store, account, at(0), traceparent=traceparent)
    await store.publishes.apply(
        publish.id, PublishChange(state=PublishState.PROCESSING),
        [PublishEvent(type="PROCESSING_STARTED", message="m", trace_id="0af7651916cd43dd8448eb211c80319c"),
         PublishEvent(type="NOTE", message="untraced")],
    )
    stored = await store.publishes.get(publish.id)
    assert stored is not None and stored.traceparent == traceparent
    events = await store.publishes.events(publish.id)
    assert [e.trace_id for e in events][-2:] == ["0af7651916cd43dd8448eb211c80319c", ""]


async def test_a_live_lease_is_never_taken_even_one_that_ends_before_the_claimers_would(store: Store) -> None:
    """The boundaries of a claim: a lease is live until the moment it ends (taken only once
    `now` is past it), whatever lease the claimer would take for itself."""
    account = await account_in(store)
    held = await created(store, account, owner="alive", lease_until=at(50))
    # Live at 10, and ending (50) before the claimer's would-be lease (100): still not taken.
    assert await store.publishes.claim_orphans("me", at(100), at(10), 10) == []
    # Ending exactly now is not over yet.
    assert await store.publishes.claim_orphans("me", at(100), at(50), 10) == []
    stored = await store.publishes.get(held.id)
    assert stored is not None
    assert (stored.owner, stored.lease_until) == ("alive", at(50))
    # Past its end: taken, once.
    [taken] = await store.publishes.claim_orphans("me", at(100), at(50.000001), 10)
    assert (taken.id, taken.owner, taken.lease_until) == (held.id, "me", at(100))
    assert await store.publishes.claim_orphans("other", at(200), at(60), 10) == []


async def test_a_claim_takes_at_most_its_limit(store: Store) -> None:
    account = await account_in(store)
    made = [await created(store, account, at(i)) for i in range(3)]
    assert [p.id for p in await store.publishes.claim_orphans("me", at(200), at(100), 2)] == [made[0].id, made[1].id]
    assert [p.id for p in await store.publishes.claim_orphans("me", at(200), at(100), 2)] == [made[2].id]


async def test_concurrent_claims_take_each_orphan_once(store: Store) -> None:
    account = await account_in(store)
    for i in range(5):
        await created(store, account, at(i))
    batches = await asyncio.gather(*(store.publishes.claim_orphans(f"r{i}", at(200), at(100), 2) for i in range(4)))
    ids = [p.id for batch in batches for p in batch]
    assert len(ids) == len(set(ids)) == 5


async def test_leases_are_renewed_only_by_their_owner(store: Store) -> None:
    account = await account_in(store)
    mine = await created(store, account, at(0), owner="me", lease_until=at(10))
    theirs = await created(store, account, at(1), owner="them", lease_until=at(10))
    unknown = str(uuid.uuid4())
    assert await store.publishes.renew_leases("me", [mine.id, theirs.id, unknown], at(60)) == {mine.id}
    assert await store.publishes.renew_leases("me", [], at(60)) == set()
    renewed, untouched = await store.publishes.get(mine.id), await store.publishes.get(theirs.id)
    assert renewed is not None
    assert untouched is not None
    assert (renewed.lease_until, renewed.revision) == (at(60), 0)
    assert untouched.lease_until == at(10)


async def test_a_released_lease_leaves_the_publish_done_or_free(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, at(0), owner="me", lease_until=at(10))
    assert await release(store, "them", publish.id) is None
    assert await release(store, "me", str(uuid.uuid4())) is None
    released = await release(store, "me", publish.id, event("RUN_HANDED_BACK"))
    assert released is not None
    assert (released.owner, released.lease_until, released.revision) == (None, None, publish.revision + 1)
    assert released.updated_at > publish.updated_at
    assert await store.publishes.get(publish.id) == released
    assert [e.type for e in await store.publishes.events(publish.id)] == ["CREATED", "RUN_HANDED_BACK"]
    assert await release(store, "me", publish.id) is None  # released once
    quiet = await created(store, account, at(1), owner="me", lease_until=at(10))
    assert await release(store, "me", quiet.id) is not None
    assert len(await store.publishes.events(quiet.id)) == 1  # no event asked for, none written
    finished = await in_state(store, quiet, PublishState.PUBLISHED)
    assert finished.done


async def test_a_write_by_an_owner_that_lost_the_lease_is_refused_and_writes_nothing(store: Store) -> None:
    account = await account_in(store)
    publish = await created(store, account, at(0), owner="me", lease_until=at(10), child_container_ids=[None])
    taken = await store.publishes.claim_orphans("them", at(200), at(100), 10)
    assert [p.id for p in taken] == [publish.id]
    with pytest.raises(LeaseLost) as lost:
        await store.publishes.apply(publish.id, change(container_id="c"), [event("X")], owner="me")
    assert lost.value.reason == "LEASE_LOST"
    with pytest.raises(LeaseLost):  # the lease is checked before the state
        await store.publishes.apply(publish.id, change(state=PublishState.PENDING), [event("X")], owner="me")
    with pytest.raises(LeaseLost):
        await store.publishes.apply(publish.id, PublishChange(child=ChildContainer(0, "c")), [event()], owner="me")
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert (stored.container_id, stored.child_container_ids, stored.revision) == (None, [None], 0)
    assert len(await store.publishes.events(publish.id)) == 1
    written = await store.publishes.apply(publish.id, change(container_id="c"), [event("Y")], owner="them")
    assert written.container_id == "c"
    child = await store.publishes.apply(
        publish.id, PublishChange(child=ChildContainer(0, "child")), [event()], owner="them",
    )
    assert child.child_container_ids == ["child"]
    with pytest.raises(KeyError):
        await store.publishes.apply(
            str(uuid.uuid4()), PublishChange(child=ChildContainer(0, "c")), [event()], owner="them",
        )
    with pytest.raises(KeyError):
        await store.publishes.apply(str(uuid.uuid4()), change(container_id="c"), [event()], owner="them")


async def test_an_update_from_a_known_copy_gives_the_record_as_stored(store: Store) -> None:
    account = await account_in(store)
    publish = await in_state(store, await created(store, account, child_container_ids=[None, None]),
                             PublishState.PROCESSING)
    changed = await store.publishes.apply(
        publish.id, change(container_id="c", pending_facts=["permalink"], reconcile_at=at(5), reconcile_attempts=1),
        [event("A")], expected=publish,
    )
    assert changed == await store.publishes.get(publish.id)
    # A copy that is stale (another write came between) still gives the record as stored.
    await store.publishes.apply(publish.id, PublishChange(child=ChildContainer(1, "child-1")), [event()])
    after = await store.publishes.apply(
        publish.id, change(state=PublishState.PUBLISHED, ig_media_id="m", error=ERROR, published_at=at(9)),
        [event("PUBLISHED")], expected=changed,
    )
    assert after == await store.publishes.get(publish.id)
    assert after.child_container_ids == [None, "child-1"]


# --- the first comment (Instagram post option) ----------------------------------------------


async def test_a_first_comment_is_stored_with_the_record_and_changed_with_its_event(store: Store) -> None:
    account = await account_in(store)
    pending = FirstComment(FirstCommentState.PENDING)
    publish = new_publish(account, options={"first_comment": "Hello 👋"}, first_comment=pending)
    assert await store.publishes.create(publish, [event()]) is None
    assert (await store.publishes.get(publish.id)) == publish
    failed = FirstComment(FirstCommentState.FAILED, sends=2, error=ERROR)
    updated = await store.publishes.apply(
        publish.id, change(first_comment=failed, pending_facts=["permalink"]), [event("FIRST_COMMENT_FAILED")],
        expected=publish,
    )
    assert updated.first_comment == failed
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    assert (stored.first_comment, stored.pending_facts, stored.revision) == (failed, ["permalink"], 1)
    assert [e.type for e in await store.publishes.events(publish.id)] == ["CREATED", "FIRST_COMMENT_FAILED"]
    # A write that does not name it leaves it as it is.
    await store.publishes.apply(publish.id, change(), [event("NOTE")])
    again = await store.publishes.get(publish.id)
    assert again is not None and again.first_comment == failed
