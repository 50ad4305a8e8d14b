"""A change to a publish record: typed, frozen, and the one thing every write of a publish
is made of (PublishWrites.apply).

Each field says what the write does to one field of the record. A field that the record may
hold empty (None) takes an `Edit`: `KEEP` (leave it), `SetTo(value)`, or `CLEAR` (empty it);
a field the record never holds empty (state, pending facts, the attempt count) takes its new
value, or None to leave it. A change is built by the rule that decides it (`ending`,
`due_change`, a workflow step) and written as it is, so no store, use case or SQL statement
re-encodes a rule: stores map its fields to columns (server/adapters/publish_rows.py) and
`applied` gives the record after it, for the fake and for a store that need not read a row
back.

A new kind of publish adds its fields here, and every store writes them through the same
mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeAlias, TypeVar

from server.domain.models import FirstComment, Publish, PublishError, PublishState, states_before
from server.domain.options import PostOptions
from server.domain.tiktok_video import TikTokUpload

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Keep:
    """Leaves the field as the record has it."""


@dataclass(frozen=True, slots=True)
class Clear:
    """Empties the field (None in the record)."""


@dataclass(frozen=True, slots=True)
class SetTo(Generic[T]):
    """Gives the field this value."""

    value: T


KEEP = Keep()
CLEAR = Clear()

# What a write does to a field the record may hold empty.
Edit: TypeAlias = Keep | Clear | SetTo[T]


def edit_of(value: T | None) -> Clear | SetTo[T]:
    """SetTo(value), or CLEAR for None: for a step whose outcome decides either."""
    return CLEAR if value is None else SetTo(value)


@dataclass(frozen=True, slots=True)
class Lease:
    """A run's hold on a publish: the replica driving it, until when (renewed while it runs)."""

    owner: str
    until: datetime


@dataclass(frozen=True, slots=True)
class ChildContainer:
    """Carousel item `index`'s container id, written alone so concurrent item saves never
    overwrite each other (an index at most one past the list's end)."""

    index: int
    container_id: str


# The record fields an Edit applies to, in the record's own names. A lease is two fields
# (owner, lease_until), a child one item of child_container_ids.
EDITED_FIELDS = (
    "error", "published_at", "reconcile_at", "container_id", "ig_media_id", "permalink", "tiktok_publish_id",
    "tiktok_post_id", "call_in_flight", "first_comment", "schedule_time", "started_at", "tiktok_upload",
)
VALUE_FIELDS = ("state", "pending_facts", "reconcile_attempts", "options")


@dataclass(frozen=True, slots=True)
class PublishChange:
    """What one write changes. Empty (every field left) is valid: a write that only appends
    events still bumps the revision."""

    state: PublishState | None = None
    error: Edit[PublishError] = KEEP
    published_at: Edit[datetime] = KEEP
    # Facts still awaited from the platform, and when the reconciler next asks for them.
    pending_facts: tuple[str, ...] | None = None
    reconcile_at: Edit[datetime] = KEEP
    reconcile_attempts: int | None = None
    # The post options the record keeps (what is sent at the platform call), replaced whole.
    options: PostOptions | None = None
    # Platform ids, and the platform-changing call in flight.
    container_id: Edit[str] = KEEP
    ig_media_id: Edit[str] = KEEP
    permalink: Edit[str] = KEEP
    tiktok_publish_id: Edit[str] = KEEP
    tiktok_post_id: Edit[str] = KEEP
    call_in_flight: Edit[str] = KEEP
    child: ChildContainer | None = None
    first_comment: Edit[FirstComment] = KEEP
    # A TikTok video upload's progress (the plan and URL with init's answer, then each
    # acknowledged chunk), replaced whole.
    tiktok_upload: Edit[TikTokUpload] = KEEP
    # The run's lease: set by a claim, cleared when the run is over.
    lease: Edit[Lease] = KEEP
    schedule_time: Edit[datetime] = KEEP
    started_at: Edit[datetime] = KEEP
    # The states the record must be in for the write to be made (besides those a new
    # `state` may come from); None: any.
    only_from: frozenset[PublishState] | None = None

    def then(self, other: PublishChange) -> PublishChange:
        """This change and `other` in one write. Each field is decided by one of them: two
        rules deciding the same field is a bug (ValueError), never a silent override."""
        merged: dict[str, object] = {}
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if _untouched(theirs):
                continue
            if not _untouched(mine) and mine != theirs:
                raise ValueError(f"two changes decide {f.name}: {mine!r} and {theirs!r}")
            merged[f.name] = theirs
        return dataclasses.replace(self, **merged)  # type: ignore[arg-type]

    def allowed_from(self) -> frozenset[PublishState] | None:
        """The states the record may be in for this write (None: any)."""
        allowed = states_before(self.state) if self.state is not None else None
        if self.only_from is not None:
            allowed = self.only_from if allowed is None else allowed & self.only_from
        return allowed

    def values(self) -> Iterator[tuple[str, object]]:
        """The record fields this change writes, each with its new value (None: cleared),
        in a fixed order; the lease as owner and lease_until. The child item is not among
        them (stores write it as one item of the list)."""
        for name in VALUE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                yield name, list(value) if name == "pending_facts" else value
        for name in EDITED_FIELDS:
            edit = getattr(self, name)
            if isinstance(edit, SetTo):
                yield name, edit.value
            elif isinstance(edit, Clear):
                yield name, None
        if isinstance(self.lease, SetTo):
            yield "owner", self.lease.value.owner
            yield "lease_until", self.lease.value.until
        elif isinstance(self.lease, Clear):
            yield "owner", None
            yield "lease_until", None

    @property
    def empty(self) -> bool:
        return self.child is None and next(self.values(), None) is None


def _untouched(value: object) -> bool:
    return value is None or isinstance(value, Keep)


NO_CHANGE = PublishChange()


def applied(publish: Publish, change: PublishChange, revision: int, updated_at: datetime) -> Publish:
    """`publish` after a write of `change` that gave it this revision and update time."""
    fields: dict[str, object] = dict(change.values())
    if change.child is not None:
        children = list(publish.child_container_ids)
        index = change.child.index
        children.extend([None] * (index + 1 - len(children)))
        children[index] = change.child.container_id
        fields["child_container_ids"] = children
    return dataclasses.replace(publish, revision=revision, updated_at=updated_at, **fields)  # type: ignore[arg-type]
