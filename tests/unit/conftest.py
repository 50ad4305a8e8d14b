"""The unit layer: the use cases wired by `build_services` on in-memory fakes.

No socket, no thread, no file: an autouse guard makes opening a network socket, starting
a thread or opening a file fail the test (and records it, so a use case that swallows the
error still fails the test). Time is virtual (FakeClock): every wait runs at once.
"""

from __future__ import annotations

import builtins
import io
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.adapters.text import GraphemeSegmenter
from server.bootstrap import Adapters, Services, build_services
from server.config import Settings
from server.domain.changes import ChildContainer, PublishChange, SetTo
from server.domain.commands import CarouselRequest, InstagramCarousel, MediaDraft, TikTokCarousel
from server.domain.models import Account, NewAccount, Platform, Publish, PublishEvent, PublishState
from server.domain.ports import NO_TRACER, TextSegmenter, Tracer
from tests.fakes import FakeClock, FakeInstagram, FakeStore, FakeTikTok, RecordingMetrics
from tests.fakes.media_bytes import FakeMediaBytes

WORKSPACE = "ws-unit"
IG_USER = "17841400000000001"


class Forbidden(AssertionError):
    """The unit layer touched the outside world."""


@dataclass
class Guard:
    touched: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def no_socket_thread_or_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    guard = Guard()

    def refuse(what: str) -> Forbidden:
        guard.touched.append(what)
        return Forbidden(f"the unit layer must not {what}")

    real_socket = socket.socket

    class GuardedSocket(real_socket):
        def __init__(self, family: Any = -1, type: Any = -1, proto: int = -1, fileno: Any = None) -> None:
            # Wrapping a descriptor that already exists is allowed: that is how the event
            # loop's own self-pipe (socket.socketpair) is made. A new socket is not.
            if fileno is None:
                raise refuse("open a socket")
            super().__init__(family, type, proto, fileno)

    def no_thread(self: threading.Thread) -> None:
        raise refuse(f"start a thread ({self.name})")

    def no_file(*args: object, **kwargs: object) -> Any:
        raise refuse(f"open a file ({args[0] if args else ''})")

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(refuse("connect")))
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    monkeypatch.setattr(builtins, "open", no_file)
    monkeypatch.setattr(io, "open", no_file)
    monkeypatch.setattr(os, "open", no_file)
    yield guard
    monkeypatch.undo()
    if guard.touched:
        pytest.fail(f"the unit layer touched the outside world: {guard.touched}")


@dataclass
class World:
    """The service's use cases on fakes, plus what a test needs to drive and inspect them."""

    clock: FakeClock
    store: FakeStore
    instagram: FakeInstagram
    tiktok: FakeTikTok
    metrics: RecordingMetrics
    # The real segmenter: pure computation (no socket, thread or file), so titles are cut
    # as the service cuts them.
    segmenter: TextSegmenter
    settings: Settings
    services: Services
    workspace: str = WORKSPACE
    _media_count: int = field(default=0)
    _seeded: dict[str, int] = field(default_factory=dict)
    # Video bytes for TikTok uploads, by URL (the MediaBytes port).
    media_bytes: FakeMediaBytes = field(default_factory=FakeMediaBytes)

    async def instagram_account(self, external_account_id: str = IG_USER, **fields: Any) -> Account:
        values: dict[str, Any] = {"access_token": "ig-token", "refresh_token": None, "username": "demo",
                                  "access_token_expires_at": None, "refresh_token_expires_at": None}
        values.update(fields)
        return await self.store.accounts.upsert(
            NewAccount(workspace_id=self.workspace, platform=Platform.INSTAGRAM,
                       external_account_id=external_account_id, **values)
        )

    async def tiktok_account(self, external_account_id: str = "open-id", **fields: Any) -> Account:
        values: dict[str, Any] = {"access_token": "tt-token", "refresh_token": "tt-refresh", "username": "demo",
                                  "access_token_expires_at": self.clock.now() + timedelta(hours=12),
                                  "refresh_token_expires_at": None}
        values.update(fields)
        return await self.store.accounts.upsert(
            NewAccount(workspace_id=self.workspace, platform=Platform.TIKTOK,
                       external_account_id=external_account_id, **values)
        )

    async def images(self, count: int, url: str = "gs://bucket/photo-{n}.jpg", **draft: Any) -> list[str]:
        ids = []
        for _ in range(count):
            self._media_count += 1
            media = await self.services.media.register(
                self.workspace, MediaDraft(url=url.format(n=self._media_count), **draft)
            )
            ids.append(media.id)
        return ids

    async def instagram_request(self, count: int = 3, account: Account | None = None, **fields: Any) -> Any:
        account = account or await self.instagram_account()
        return InstagramCarousel(media_ids=await self.images(count), account_id=account.id, **fields)

    async def tiktok_request(self, count: int = 2, account: Account | None = None, **fields: Any) -> Any:
        account = account or await self.tiktok_account()
        return TikTokCarousel(media_ids=await self.images(count), account_id=account.id, **fields)

    async def publish(self, request: CarouselRequest) -> Publish:
        return await self.services.publisher.publish(self.workspace, request)

    async def only_publish(self) -> Publish:
        """The one publish the store holds (a test that expected the RPC to fail reads it here)."""
        rows = list(self.store.publishes.rows.values())
        assert len(rows) == 1, f"expected one publish, found {len(rows)}"
        found = await self.store.publishes.get(rows[0].id)
        assert found is not None
        return found

    async def events(self, publish_id: str) -> list[PublishEvent]:
        return await self.store.publishes.events(publish_id)

    async def timeline(self, publish_id: str) -> list[str]:
        return [e.type for e in await self.store.publishes.events(publish_id)]

    def at(self, seconds: float) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)

    async def seed(
        self,
        request: CarouselRequest,
        *,
        state: PublishState = PublishState.PROCESSING,
        children: list[str | None] | None = None,
        **changes: Any,
    ) -> Publish:
        """A record as a run that stopped (a crash, a restart) left it: recorded as the
        publisher records it, moved to `state`, with the item containers and the other
        platform ids a crashed run had saved, and no lease (an orphan: the next
        `runner.resume_unfinished()` takes it over). Its events so far are left out of
        `new_events`."""
        publisher = self.services.publisher
        policy = publisher._policies[type(request)]  # the record exactly as the publisher shapes it
        media = list((await self.store.media.get_many(self.workspace, request.media_ids)).values())
        publish = publisher._new_publish(self.workspace, policy, request, media)
        created = PublishEvent("CREATED", "seeded", PublishState.PENDING)
        assert await self.store.publishes.create(publish, [created]) is None
        if state != PublishState.PENDING:
            await self.store.publishes.apply(
                publish.id, PublishChange(state=state), [PublishEvent("SEEDED", state.value, state)]
            )
        for index, container_id in enumerate(children or []):
            if container_id:
                await self.store.publishes.apply(
                    publish.id, PublishChange(child=ChildContainer(index, container_id)), [PublishEvent("SEEDED", "")]
                )
        if changes:
            await self.store.publishes.apply(publish.id, setting(**changes), [PublishEvent("SEEDED", "changes")])
        self._seeded[publish.id] = len(await self.events(publish.id))
        found = await self.store.publishes.get(publish.id)
        assert found is not None
        return found

    async def new_events(self, publish_id: str) -> list[str]:
        """The timeline after what `seed` wrote."""
        return (await self.timeline(publish_id))[self._seeded.get(publish_id, 0):]


def setting(**fields: Any) -> PublishChange:
    """A change that sets each named field of the record to its value (a test's shorthand:
    an id or a time as it is, a list of pending facts, a state)."""
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("state", "reconcile_attempts"):
            values[name] = value
        elif name == "pending_facts":
            values[name] = tuple(value)
        else:
            values[name] = SetTo(value)
    return PublishChange(**values)


REPLICA = "unit-replica"


def make_world(settings: Settings | None = None, tracer: Tracer = NO_TRACER) -> World:
    clock = FakeClock()
    store = FakeStore(clock.now, clock.monotonic)
    instagram = FakeInstagram(clock)
    tiktok = FakeTikTok()
    metrics = RecordingMetrics()
    segmenter = GraphemeSegmenter()
    media_bytes = FakeMediaBytes()
    settings = settings or Settings()
    services = build_services(
        settings,
        Adapters(
            store=store, instagram=instagram, tiktok=tiktok, clock=clock, segmenter=segmenter, metrics=metrics,
            tracer=tracer, media_bytes=media_bytes,
        ),
        REPLICA,
    )
    return World(clock, store, instagram, tiktok, metrics, segmenter, settings, services, media_bytes=media_bytes)


@asynccontextmanager
async def world_with(settings: Settings | None = None) -> AsyncIterator[World]:
    """A world with these settings, stopped afterwards: nothing a test started may outlive
    it (runs still going are cancelled between steps, as at shutdown, and the reconciler and
    the lease upkeep are stopped)."""
    built = make_world(settings)
    try:
        yield built
    finally:
        await built.services.reconciler.stop()
        await built.services.runner.stop(0)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with world_with() as built:
        yield built
