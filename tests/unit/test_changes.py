"""The typed change every write of a publish is made of (server/domain/changes.py): what it
writes, what it leaves, the states it may be made from, two rules never deciding one field,
and the record after it. Pure: no store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.changes import (
    CLEAR,
    KEEP,
    NO_CHANGE,
    ChildContainer,
    Lease,
    PublishChange,
    SetTo,
    applied,
    edit_of,
)
from server.domain.models import Platform, Publish, PublishError, PublishKind, PublishState, states_before
from server.domain.options import InstagramOptions

T0 = datetime(2026, 5, 1, tzinfo=UTC)
ERROR = PublishError(code="FAILED_PRECONDITION", reason="WHY", message="it failed")


def publish(**fields: object) -> Publish:
    base = Publish(
        id="p", workspace_id="w", platform=Platform.INSTAGRAM, kind=PublishKind.CAROUSEL, account_id="a",
        media_ids=["m1", "m2"], caption="c", options=InstagramOptions(), state=PublishState.PROCESSING,
        request_id=None, created_at=T0, updated_at=T0, child_container_ids=[None, None],
        container_id="kept", call_in_flight="media_publish", reconcile_at=T0, owner="me", lease_until=T0,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_an_empty_change_writes_nothing_but_its_revision() -> None:
    assert NO_CHANGE.empty and list(NO_CHANGE.values()) == []
    after = applied(publish(), NO_CHANGE, 8, T0 + timedelta(seconds=1))
    assert after == publish(revision=8, updated_at=T0 + timedelta(seconds=1))


def test_keep_set_and_clear_each_do_what_they_say() -> None:
    change = PublishChange(container_id=KEEP, ig_media_id=SetTo("17900"), call_in_flight=CLEAR, reconcile_at=CLEAR)
    assert dict(change.values()) == {"ig_media_id": "17900", "call_in_flight": None, "reconcile_at": None}
    after = applied(publish(), change, 1, T0)
    assert (after.container_id, after.ig_media_id, after.call_in_flight, after.reconcile_at) == (
        "kept", "17900", None, None
    )
    assert (edit_of(None), edit_of("x")) == (CLEAR, SetTo("x"))


def test_a_lease_is_written_as_its_owner_and_end_and_cleared_as_both() -> None:
    until = T0 + timedelta(seconds=15)
    assert dict(PublishChange(lease=SetTo(Lease("r2", until))).values()) == {"owner": "r2", "lease_until": until}
    released = applied(publish(), PublishChange(lease=CLEAR), 1, T0)
    assert (released.owner, released.lease_until) == (None, None)


def test_a_child_container_is_one_item_of_the_list_padded_up_to_it() -> None:
    change = PublishChange(child=ChildContainer(1, "child-1"))
    assert not change.empty and list(change.values()) == []
    assert applied(publish(), change, 1, T0).child_container_ids == [None, "child-1"]
    assert applied(publish(child_container_ids=[]), PublishChange(child=ChildContainer(2, "c")), 1, T0)\
        .child_container_ids == [None, None, "c"]


def test_a_change_is_made_only_from_the_states_its_new_state_may_come_from_and_those_it_names() -> None:
    assert NO_CHANGE.allowed_from() is None
    assert PublishChange(state=PublishState.PUBLISHED).allowed_from() == states_before(PublishState.PUBLISHED)
    scheduled = frozenset({PublishState.SCHEDULED})
    assert PublishChange(schedule_time=SetTo(T0), only_from=scheduled).allowed_from() == scheduled
    assert PublishChange(state=PublishState.PROCESSING, only_from=scheduled).allowed_from() == scheduled
    assert PublishChange(state=PublishState.FAILED, only_from=frozenset({PublishState.PENDING})).allowed_from() \
        == frozenset({PublishState.PENDING})


def test_two_changes_combine_and_two_rules_never_decide_one_field() -> None:
    end = PublishChange(state=PublishState.FAILED, error=SetTo(ERROR))
    combined = end.then(PublishChange(call_in_flight=CLEAR, pending_facts=()))
    assert combined == PublishChange(state=PublishState.FAILED, error=SetTo(ERROR), call_in_flight=CLEAR,
                                     pending_facts=())
    assert end.then(PublishChange(state=PublishState.FAILED)) == end  # the same decision twice is one
    with pytest.raises(ValueError, match="two changes decide state"):
        end.then(PublishChange(state=PublishState.PUBLISHED))
    with pytest.raises(ValueError, match="two changes decide reconcile_at"):
        PublishChange(reconcile_at=SetTo(T0)).then(PublishChange(reconcile_at=CLEAR))


def test_values_are_written_in_one_fixed_order_with_lists_as_lists() -> None:
    change = PublishChange(
        started_at=SetTo(T0), state=PublishState.PROCESSING, pending_facts=("permalink",), reconcile_attempts=2,
        error=SetTo(ERROR),
    )
    assert list(change.values()) == [
        ("state", PublishState.PROCESSING), ("pending_facts", ["permalink"]), ("reconcile_attempts", 2),
        ("error", ERROR), ("started_at", T0),
    ]
