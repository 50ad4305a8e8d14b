"""The PublishStore contract for scheduled publishes (server/domain/ports.py): a SCHEDULED
publish waits unowned; the due claim takes each once (started, or MISSED past the limit),
and never together with a cancel or a reschedule."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.domain.ending import FIRST_COMMENT_NOT_POSTED
from server.domain.errors import IllegalTransition
from server.domain.models import Account, FirstComment, FirstCommentState, Publish, PublishFilter, PublishState
from server.domain.ports import Store
from server.domain.schedule import MISSED_ERROR_REASON
from tests.contracts.records import WORKSPACE, account_in, at, change, event, new_publish, reschedule


async def scheduled(store: Store, account: Account, created_at_s: float, due_s: float, **fields: Any) -> Publish:
    publish = new_publish(account, at(created_at_s), state=PublishState.SCHEDULED, schedule_time=at(due_s), **fields)
    assert await store.publishes.create(
        publish, [event("CREATED", PublishState.PENDING), event("SCHEDULED", PublishState.SCHEDULED)],
    ) is None
    stored = await store.publishes.get(publish.id)
    assert stored is not None
    return stored


async def cancel(store: Store, publish: Publish) -> Publish:
    return await store.publishes.apply(
        publish.id, change(state=PublishState.CANCELLED), [event("CANCELLED", PublishState.CANCELLED)],
    )


async def test_a_scheduled_publish_is_stored_unowned_with_its_time(store: Store) -> None:
    account = await account_in(store)
    assert await store.publishes.next_schedule_time() is None
    later = await scheduled(store, account, 0, 500)
    sooner = await scheduled(store, account, 1, 300)
    assert (later.state, later.schedule_time, later.owner, later.started_at, later.start_lateness) == (
        PublishState.SCHEDULED, at(500), None, None, None
    )
    assert await store.publishes.next_schedule_time() == at(300)
    # Neither unfinished work to resume nor an orphan to take over: it waits for its time.
    assert await store.publishes.claim_orphans("me", at(1000), at(1000), 10) == []
    await store.publishes.apply(
        sooner.id, change(state=PublishState.CANCELLED), [event("CANCELLED", PublishState.CANCELLED)],
    )
    assert await store.publishes.next_schedule_time() == at(500)


async def test_due_schedules_are_claimed_soonest_first_once_each(store: Store) -> None:
    account = await account_in(store)
    first = await scheduled(store, account, 0, 300)
    second = await scheduled(store, account, 1, 200)
    not_due = await scheduled(store, account, 2, 900)
    assert await store.publishes.claim_due_schedules("me", at(400), at(100), at(0), 10) == []
    claimed = await store.publishes.claim_due_schedules("me", at(420), at(310), at(0), 1)
    assert [p.id for p in claimed] == [second.id]  # soonest first, within the limit
    started = claimed[0]
    assert (started.state, started.owner, started.lease_until, started.started_at) == (
        PublishState.PROCESSING, "me", at(420), at(310)
    )
    assert started.start_lateness is not None
    assert started.start_lateness.total_seconds() == pytest.approx(110)
    assert started.revision == second.revision + 1
    assert await store.publishes.get(second.id) == started
    assert [e.type for e in await store.publishes.events(second.id)] == ["CREATED", "SCHEDULED", "SCHEDULE_DUE"]
    due_event = (await store.publishes.events(second.id))[-1]
    assert (due_event.state, due_event.details["lateness_seconds"]) == (PublishState.PROCESSING, 110)
    assert [p.id for p in await store.publishes.claim_due_schedules("me", at(420), at(310), at(0), 10)] == [first.id]
    assert await store.publishes.claim_due_schedules("other", at(420), at(310), at(0), 10) == []  # once each
    assert (await store.publishes.get(not_due.id)).state == PublishState.SCHEDULED  # type: ignore[union-attr]


async def test_a_schedule_found_past_the_lateness_limit_ends_missed_unowned(store: Store) -> None:
    account = await account_in(store)
    stale = await scheduled(store, account, 0, 100)
    fresh = await scheduled(store, account, 1, 3000)
    claimed = await store.publishes.claim_due_schedules("me", at(9999), at(3700), at(3600 - 1000), 10)
    by_id = {p.id: p for p in claimed}
    missed = by_id[stale.id]
    assert (missed.state, missed.owner, missed.lease_until, missed.started_at) == (
        PublishState.MISSED, None, None, at(3700)
    )
    assert missed.error is not None
    assert (missed.error.reason, missed.error.code) == (MISSED_ERROR_REASON, "FAILED_PRECONDITION")
    assert missed.done
    events = await store.publishes.events(stale.id)
    assert [(e.type, e.state) for e in events][-1] == ("MISSED", PublishState.MISSED)
    assert by_id[fresh.id].state == PublishState.PROCESSING
    # A MISSED publish posted nothing: the duplicate guard does not count it.
    assert await store.publishes.recent_same_content(WORKSPACE, account.id, stale.content_fingerprint, at(-1)) == (
        await store.publishes.get(fresh.id)
    )


async def test_the_events_of_a_due_claim_name_the_claims_trace(store: Store) -> None:
    """SCHEDULE_DUE and MISSED are written by the store in the claim: they name the trace the
    claim was made in, as every event names the trace that wrote it."""
    account = await account_in(store)
    stale = await scheduled(store, account, 0, 100)
    fresh = await scheduled(store, account, 1, 3000)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await store.publishes.claim_due_schedules("me", at(9999), at(3700), at(2600), 10, trace_id)
    for publish_id, due_type in ((stale.id, "MISSED"), (fresh.id, "SCHEDULE_DUE")):
        events = await store.publishes.events(publish_id)
        assert [(e.type, e.trace_id) for e in events] == [("CREATED", ""), ("SCHEDULED", ""), (due_type, trace_id)]


async def test_a_missed_schedule_ends_its_first_comment_as_every_end_does(store: Store) -> None:
    """The MISSED end writes what `ending` says, like every other end: a first comment that
    waited for the post is FAILED (it was left PENDING forever), a started one is untouched."""
    account = await account_in(store)
    stale = await scheduled(store, account, 0, 100, first_comment=FirstComment(FirstCommentState.PENDING),
                            options={"first_comment": "First!"})
    started = await scheduled(store, account, 1, 3000, first_comment=FirstComment(FirstCommentState.PENDING),
                              options={"first_comment": "Later"})
    claimed = {p.id: p for p in await store.publishes.claim_due_schedules("me", at(9999), at(3700), at(2600), 10)}
    missed = claimed[stale.id]
    assert missed.state == PublishState.MISSED
    assert missed.first_comment is not None and missed.first_comment.error is not None
    assert (missed.first_comment.state, missed.first_comment.error.reason) == (
        FirstCommentState.FAILED, FIRST_COMMENT_NOT_POSTED)
    assert "ended MISSED" in missed.first_comment.error.message
    assert await store.publishes.get(stale.id) == missed  # as written, not only as returned
    assert claimed[started.id].first_comment == FirstComment(FirstCommentState.PENDING)  # posted after it is live


async def test_concurrent_claims_take_each_due_schedule_once(store: Store) -> None:
    account = await account_in(store)
    for i in range(7):
        await scheduled(store, account, i, 10 + i)
    batches = await asyncio.gather(
        *(store.publishes.claim_due_schedules(f"r{i}", at(500), at(100), at(0), 2) for i in range(4))
    )
    ids = [p.id for batch in batches for p in batch]
    assert len(ids) == len(set(ids)) == 7


async def test_cancel_and_claim_have_exactly_one_outcome(store: Store) -> None:
    account = await account_in(store)
    cancelled = await scheduled(store, account, 0, 100)
    claimed = await scheduled(store, account, 1, 100)
    await store.publishes.apply(
        cancelled.id, change(state=PublishState.CANCELLED), [event("CANCELLED", PublishState.CANCELLED)],
    )
    assert [p.id for p in await store.publishes.claim_due_schedules("me", at(500), at(200), at(0), 10)] == [claimed.id]
    with pytest.raises(IllegalTransition):  # once claimed, a cancel writes nothing
        await cancel(store, claimed)
    assert (await store.publishes.get(claimed.id)).state == PublishState.PROCESSING  # type: ignore[union-attr]
    assert (await store.publishes.get(cancelled.id)).state == PublishState.CANCELLED  # type: ignore[union-attr]


async def test_reschedule_moves_only_a_scheduled_publish(store: Store) -> None:
    account = await account_in(store)
    publish = await scheduled(store, account, 0, 100)
    moved = await reschedule(store, publish.id, at(700), event("RESCHEDULED", PublishState.SCHEDULED))
    assert moved is not None
    assert (moved.schedule_time, moved.state, moved.revision) == (at(700), PublishState.SCHEDULED, publish.revision + 1)
    assert await store.publishes.get(publish.id) == moved
    assert [e.type for e in await store.publishes.events(publish.id)][-1] == "RESCHEDULED"
    assert await store.publishes.claim_due_schedules("me", at(900), at(200), at(0), 10) == []  # no longer due
    await store.publishes.claim_due_schedules("me", at(900), at(800), at(0), 10)
    before = await store.publishes.events(publish.id)
    assert await reschedule(store, publish.id, at(1000), event("RESCHEDULED")) is None  # started
    assert await store.publishes.events(publish.id) == before  # nothing written
    other = await cancel(store, await scheduled(store, account, 1, 100))
    assert await reschedule(store, other.id, at(1000), event("RESCHEDULED")) is None


async def test_list_filters_by_schedule_time_and_the_new_states(store: Store) -> None:
    account = await account_in(store)
    early = await scheduled(store, account, 0, 100)
    late = await scheduled(store, account, 1, 500)
    await store.publishes.create(new_publish(account, at(2)), [event()])  # not scheduled: never matches a time
    cancelled = await cancel(store, await scheduled(store, account, 3, 300))

    async def ids(where: PublishFilter) -> list[str]:
        return [v.id for v, _ in await store.publishes.list_page(WORKSPACE, 10, None, where)]

    assert await ids(PublishFilter(scheduled_after=at(100), scheduled_before=at(500))) == [cancelled.id, early.id]
    assert await ids(PublishFilter(scheduled_after=at(101))) == [cancelled.id, late.id]
    assert await ids(PublishFilter(state=PublishState.SCHEDULED)) == [late.id, early.id]
    assert await ids(PublishFilter(state=PublishState.CANCELLED)) == [cancelled.id]


async def test_cancels_and_reschedules_racing_the_claim_each_have_exactly_one_outcome(store: Store) -> None:
    account = await account_in(store)
    made = [await scheduled(store, account, i, 100) for i in range(12)]

    async def cancel_or_none(publish: Publish) -> Publish | None:
        try:
            return await cancel(store, publish)
        except IllegalTransition:
            return None

    cancels, moves = made[:6], made[6:]
    results = await asyncio.gather(
        store.publishes.claim_due_schedules("me", at(500), at(200), at(0), 100),
        *(cancel_or_none(p) for p in cancels),
        *(reschedule(store, p.id, at(900), event("RESCHEDULED", PublishState.SCHEDULED)) for p in moves),
    )
    claimed = {p.id for p in results[0]}  # type: ignore[union-attr]
    outcomes = dict(zip([p.id for p in made], results[1:], strict=True))
    for publish in made:
        stored = await store.publishes.get(publish.id)
        assert stored is not None
        won = outcomes[publish.id] is not None
        assert won != (publish.id in claimed), publish.id  # the claim or the other write, never both
        if publish.id in claimed:
            assert (stored.state, stored.schedule_time) == (PublishState.PROCESSING, at(100))
        elif publish in cancels:
            assert stored.state == PublishState.CANCELLED
        else:
            assert (stored.state, stored.schedule_time) == (PublishState.SCHEDULED, at(900))
