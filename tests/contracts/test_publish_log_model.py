"""The publish log against a model: random sequences of what replicas do to publishes, run
on the fake, SQLite and PostgreSQL, each checked step by step against a plain in-memory
model of the records and their events.

Hypothesis drives the sequences (a RuleBasedStateMachine): record a publish (at once or for
later), write a step as some replica (its owner or not), save an item's container, end it,
claim orphans with leases at random times, renew, release, claim due schedules, cancel,
reschedule, read history pages and the workspace event stream, and move time on. After
every step each record and its timeline equal the model's, and the stream holds the
model's events in the model's order. Throughout: no claim takes a live lease, so no two
replicas ever own a publish at once.

`make test` runs a bounded number of sequences with a fixed seed (derandomized); `make
test-model` runs many more (DISTRIBUTION_TEST_MODEL_EXAMPLES, random seeds).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from server.adapters.postgres import PostgresStore
from server.domain.changes import CLEAR, ChildContainer, PublishChange, SetTo
from server.domain.ending import ending
from server.domain.errors import IllegalTransition, LeaseLost
from server.domain.events import START
from server.domain.models import Account, PublishError, PublishEvent, PublishFilter, PublishState
from server.domain.ports import Store
from tests.contracts.conftest import open_fake, open_postgres, open_sqlite
from tests.contracts.records import T0, WORKSPACE, account_in, new_publish

T = TypeVar("T")

REPLICAS = ("replica-a", "replica-b", "replica-c")
TTL = timedelta(seconds=15)
LATENESS = timedelta(seconds=60)
UNFINISHED = (PublishState.PENDING, PublishState.PROCESSING)
LONG_RUN = os.environ.get("DISTRIBUTION_TEST_MODEL_EXAMPLES")
ERROR = PublishError(code="FAILED_PRECONDITION", reason="MODEL", message="ended by the model")


@dataclass
class Record:
    """What the model knows of one publish."""

    id: str
    created_at: datetime
    state: PublishState
    owner: str | None = None
    lease_until: datetime | None = None
    schedule_time: datetime | None = None
    started_at: datetime | None = None
    revision: int = 0
    container_id: str | None = None
    children: list[str | None] = field(default_factory=lambda: [None, None])
    events: list[str] = field(default_factory=list)


class PublishLogModel(RuleBasedStateMachine):
    """One store, driven like several replicas would, against the model."""

    opener: Callable[[Path], AbstractAsyncContextManager[Store]]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="publish-log-model-"))
        self.context = self.opener(self.tmp)
        self.store: Store = self.run(self.context.__aenter__())
        self.account: Account = self.run(account_in(self.store))
        self.records: dict[str, Record] = {}
        self.stream: list[tuple[str, str]] = []  # (publish id, event type), in write order
        self.now = T0 + timedelta(hours=1)
        self.created = 0

    def teardown(self) -> None:
        try:
            self.run(self.context.__aexit__(None, None, None))
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    def pick(self, data: st.DataObject, *states: PublishState) -> Record | None:
        ids = sorted(r.id for r in self.records.values() if not states or r.state in states)
        return self.records[data.draw(st.sampled_from(ids))] if ids else None

    def written(self, record: Record, *types: str) -> None:
        record.revision += 1
        record.events.extend(types)
        self.stream.extend((record.id, t) for t in types)

    # --- recording --------------------------------------------------------------------------

    @initialize()
    def first(self) -> None:
        self.record_now(REPLICAS[0])

    @rule(owner=st.sampled_from(REPLICAS))
    def record_now(self, owner: str) -> None:
        """A publish recorded running, leased to the replica that took the request."""
        self.created += 1
        created_at = T0 + timedelta(seconds=self.created)
        publish = new_publish(
            self.account, created_at, state=PublishState.PROCESSING, owner=owner, lease_until=self.now + TTL
        )
        events = [PublishEvent("CREATED", "", PublishState.PENDING), PublishEvent("PROCESSING_STARTED", "")]
        assert self.run(self.store.publishes.create(publish, events)) is None
        record = Record(publish.id, created_at, PublishState.PROCESSING, owner, self.now + TTL)
        self.records[publish.id] = record
        record.events.extend(["CREATED", "PROCESSING_STARTED"])
        self.stream.extend((publish.id, t) for t in record.events)

    @rule(seconds=st.integers(-120, 120))
    def record_for_later(self, seconds: int) -> None:
        """A scheduled publish: unowned until its time (already past due when negative)."""
        self.created += 1
        created_at = T0 + timedelta(seconds=self.created)
        at = self.now + timedelta(seconds=seconds)
        publish = new_publish(self.account, created_at, state=PublishState.SCHEDULED, schedule_time=at)
        events = [PublishEvent("CREATED", "", PublishState.PENDING), PublishEvent("SCHEDULED", "")]
        assert self.run(self.store.publishes.create(publish, events)) is None
        record = Record(publish.id, created_at, PublishState.SCHEDULED, schedule_time=at)
        self.records[publish.id] = record
        record.events.extend(["CREATED", "SCHEDULED"])
        self.stream.extend((publish.id, t) for t in record.events)

    # --- a run's writes ---------------------------------------------------------------------

    def apply(self, record: Record, change: PublishChange, event: str, owner: str | None) -> type[Exception] | None:
        """Applies through the store; returns the refusal raised, if any."""
        try:
            self.run(self.store.publishes.apply(record.id, change, [PublishEvent(event, "")], owner=owner))
        except (LeaseLost, IllegalTransition) as refused:
            return type(refused)
        return None

    @rule(data=st.data(), writer=st.sampled_from((None, *REPLICAS)))
    def step(self, data: st.DataObject, writer: str | None) -> None:
        """A platform id saved, by a replica's run (fenced by its lease) or unfenced."""
        record = self.pick(data)
        assert record is not None
        container = f"c-{uuid.uuid4().hex[:6]}"
        refused = self.apply(record, PublishChange(container_id=SetTo(container)), "STEP", writer)
        if writer is not None and record.owner != writer:
            assert refused is LeaseLost
            return
        assert refused is None
        record.container_id = container
        self.written(record, "STEP")

    @rule(data=st.data(), index=st.integers(0, 1), writer=st.sampled_from(REPLICAS))
    def child(self, data: st.DataObject, index: int, writer: str) -> None:
        record = self.pick(data)
        assert record is not None
        container = f"child-{index}-{uuid.uuid4().hex[:6]}"
        refused = self.apply(record, PublishChange(child=ChildContainer(index, container)), "CHILD", writer)
        if record.owner != writer:
            assert refused is LeaseLost
            return
        assert refused is None
        record.children[index] = container
        self.written(record, "CHILD")

    @rule(
        data=st.data(), writer=st.sampled_from(REPLICAS),
        state=st.sampled_from([PublishState.PUBLISHED, PublishState.FAILED, PublishState.UNCONFIRMED]),
    )
    def end(self, data: st.DataObject, writer: str, state: PublishState) -> None:
        """A run's last write: the end, with the lease released in the same write."""
        record = self.pick(data)
        assert record is not None
        stored = self.run(self.store.publishes.get(record.id))
        assert stored is not None
        change = ending(stored, state, ERROR if state != PublishState.PUBLISHED else None)
        refused = self.apply(record, change.then(PublishChange(lease=CLEAR)), state.value, writer)
        if record.owner != writer:
            assert refused is LeaseLost
        elif not record.state.may_become(state):
            assert refused is IllegalTransition
        else:
            assert refused is None
            record.state, record.owner, record.lease_until = state, None, None
            self.written(record, state.value)

    @rule(data=st.data(), owner=st.sampled_from(REPLICAS))
    def release(self, data: st.DataObject, owner: str) -> None:
        """A run handed back (shutdown) or over: the lease ends, the record stays."""
        record = self.pick(data)
        assert record is not None
        refused = self.apply(record, PublishChange(lease=CLEAR), "RUN_HANDED_BACK", owner)
        if record.owner != owner:
            assert refused is LeaseLost
            return
        assert refused is None
        record.owner = record.lease_until = None
        self.written(record, "RUN_HANDED_BACK")

    # --- leases -----------------------------------------------------------------------------

    @rule(owner=st.sampled_from(REPLICAS), ttl_seconds=st.integers(1, 60), limit=st.integers(1, 4))
    def claim_orphans(self, owner: str, ttl_seconds: int, limit: int) -> None:
        """A replica's sweep: takes unfinished publishes whose lease has ended."""
        until = self.now + timedelta(seconds=ttl_seconds)
        claimed = self.run(self.store.publishes.claim_orphans(owner, until, self.now, limit))
        for record in self.records.values():  # finished, its run dead after its last write: done
            if record.state.terminal and record.owner is not None and record.lease_until is not None \
                    and record.lease_until < self.now:
                record.owner = record.lease_until = None
                record.revision += 1
        free = sorted(
            (r for r in self.records.values() if r.state in UNFINISHED
             and (r.owner is None or (r.lease_until is not None and r.lease_until < self.now))),
            key=lambda r: r.created_at,
        )[:limit]
        for publish in claimed:  # never a live lease: no two replicas own a publish at once
            before = self.records[publish.id]
            assert before.owner is None or (before.lease_until is not None and before.lease_until < self.now), (
                f"claimed {publish.id}, whose lease by {before.owner} lives until {before.lease_until}"
            )
        assert [p.id for p in claimed] == [r.id for r in free]
        for record in free:
            record.owner, record.lease_until = owner, until

    @rule(owner=st.sampled_from(REPLICAS), ttl_seconds=st.integers(1, 60))
    def renew(self, owner: str, ttl_seconds: int) -> None:
        until = self.now + timedelta(seconds=ttl_seconds)
        held = self.run(self.store.publishes.renew_leases(owner, sorted(self.records), until))
        mine = {r.id for r in self.records.values() if r.owner == owner}
        assert held == mine
        for publish_id in mine:
            self.records[publish_id].lease_until = until

    # --- schedules ----------------------------------------------------------------------------

    @rule(owner=st.sampled_from(REPLICAS), limit=st.integers(1, 4))
    def claim_due(self, owner: str, limit: int) -> None:
        until, missed_before = self.now + TTL, self.now - LATENESS
        claimed = self.run(self.store.publishes.claim_due_schedules(owner, until, self.now, missed_before, limit))
        due = sorted(
            (r for r in self.records.values() if r.state == PublishState.SCHEDULED
             and r.schedule_time is not None and r.schedule_time <= self.now),
            key=lambda r: (r.schedule_time, r.id),
        )[:limit]
        assert [p.id for p in claimed] == [r.id for r in due]
        for record in due:
            assert record.schedule_time is not None
            record.started_at = self.now
            if record.schedule_time < missed_before:
                record.state = PublishState.MISSED
                self.written(record, "MISSED")
            else:
                record.state, record.owner, record.lease_until = PublishState.PROCESSING, owner, until
                self.written(record, "SCHEDULE_DUE")

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        record = self.pick(data)
        assert record is not None
        stored = self.run(self.store.publishes.get(record.id))
        assert stored is not None
        refused = self.apply(record, ending(stored, PublishState.CANCELLED), "CANCELLED", None)
        if record.state != PublishState.SCHEDULED:
            assert refused is IllegalTransition
            return
        assert refused is None
        record.state = PublishState.CANCELLED
        self.written(record, "CANCELLED")

    @rule(data=st.data(), seconds=st.integers(1, 600))
    def reschedule(self, data: st.DataObject, seconds: int) -> None:
        record = self.pick(data)
        assert record is not None
        at = self.now + timedelta(seconds=seconds)
        change = PublishChange(schedule_time=SetTo(at), only_from=frozenset({PublishState.SCHEDULED}))
        refused = self.apply(record, change, "RESCHEDULED", None)
        if record.state != PublishState.SCHEDULED:
            assert refused is IllegalTransition
            return
        assert refused is None
        record.schedule_time = at
        self.written(record, "RESCHEDULED")

    @rule(seconds=st.sampled_from([0.000001, 1, 5, 14.999999, 15, 15.000001, 30, 61]))
    def time_passes(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    # --- reads --------------------------------------------------------------------------------

    @rule(limit=st.integers(1, 5), state=st.sampled_from([None, *PublishState]))
    def history_pages(self, limit: int, state: PublishState | None) -> None:
        """Every page of a filtered history, newest first, following each page's cursor."""
        wanted = [r.id for r in sorted(self.records.values(), key=lambda r: (r.created_at, r.id), reverse=True)
                  if state is None or r.state == state]
        seen: list[str] = []
        cursor = None
        while True:
            page = self.run(self.store.publishes.list_page(WORKSPACE, limit, cursor, PublishFilter(state=state)))
            seen.extend(v.id for v, _ in page)
            assert all(v.revision == self.records[v.id].revision for v, _ in page)
            if len(page) < limit:
                break
            cursor = page[-1][1]
        assert seen == wanted

    @invariant()
    def records_and_timelines_are_the_models(self) -> None:
        for record in self.records.values():
            stored = self.run(self.store.publishes.get(record.id))
            assert stored is not None
            assert (
                stored.state, stored.owner, stored.lease_until, stored.schedule_time, stored.started_at,
                stored.revision, stored.container_id, stored.child_container_ids,
            ) == (
                record.state, record.owner, record.lease_until, record.schedule_time, record.started_at,
                record.revision, record.container_id, record.children,
            ), record.id
            assert [e.type for e in self.run(self.store.publishes.events(record.id))] == record.events

    @invariant()
    def the_stream_holds_the_events_in_write_order(self) -> None:
        """The workspace stream, read from its start: the model's events in the model's order.
        (On PostgreSQL an event shows once every older transaction of the cluster has ended:
        another database's open transaction may hold the newest back, never reorder them.)"""
        read = self.run(self.store.publishes.workspace_events(WORKSPACE, START, 10_000))
        got = [(e.publish_id, e.event.type) for e in read]
        assert got == self.stream[: len(got)]
        if not isinstance(self.store, PostgresStore):
            assert got == self.stream


def _machine(name: str, opener: Callable[[Path], AbstractAsyncContextManager[Store]]) -> type[PublishLogModel]:
    return type(f"PublishLogModel_{name}", (PublishLogModel,), {"opener": staticmethod(opener)})


# Bounded in `make test` (fixed seed, a few seconds per store); `make test-model` runs more.
def _settings(examples: int, steps: int) -> Any:
    if LONG_RUN:
        return settings(
            max_examples=int(LONG_RUN), stateful_step_count=50, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )
    return settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def _tests() -> dict[str, Any]:
    found = {}
    for name, opener, examples, steps in (
        ("fake", open_fake, 40, 30), ("sqlite", open_sqlite, 12, 25), ("postgres", open_postgres, 10, 25),
    ):
        machine = _machine(name, opener)
        case = machine.TestCase
        case.settings = _settings(examples, steps)
        found[name] = case
    return found


_CASES = _tests()


@pytest.mark.parametrize("store", sorted(_CASES))
def test_the_publish_log_behaves_as_its_model(store: str) -> None:
    _CASES[store]("runTest").runTest()
