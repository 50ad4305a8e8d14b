"""Readiness follows the database (server/health.py): the gRPC health status of the service
and of each named one turns NOT_SERVING while the store cannot be reached or does not answer
in time, and SERVING again once it answers. The check runs often here (CHECK_EVERY patched)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from grpc_health.v1 import health, health_pb2

from server import health as health_module
from server.health import StoreHealth
from tests.fakes.store import FakeStore
from tests.support.waiting import eventually

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
NAMES = ("", "distribution.v1.PublishingService")


class HangingStore(FakeStore):
    """A store whose ping never answers while `hang` is set (a database that accepts the
    connection but does not reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False

    async def ping(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        await super().ping()


@contextlib.asynccontextmanager
async def watched(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[HangingStore, health.aio.HealthServicer]]:
    monkeypatch.setattr(health_module, "CHECK_EVERY", 0.01)
    monkeypatch.setattr(health_module, "CHECK_TIMEOUT", 0.05)
    store, servicer = HangingStore(), health.aio.HealthServicer()
    watcher = StoreHealth(store, servicer, NAMES[1:])
    await watcher.set_serving(True)
    watcher.start()
    try:
        yield store, servicer
    finally:
        await watcher.stop()
        await watcher.stop()  # stopping twice is harmless


async def statuses(servicer: health.aio.HealthServicer) -> set[int]:
    return {(await servicer.Check(health_pb2.HealthCheckRequest(service=name), None)).status for name in NAMES}


async def test_readiness_turns_not_serving_while_the_store_is_away_and_back_when_it_returns(monkeypatch) -> None:
    async with watched(monkeypatch) as (store, servicer):
        assert await statuses(servicer) == {SERVING}
        store.unavailable = True
        await eventually(lambda: _is(servicer, NOT_SERVING), "every name NOT_SERVING while the store is away")
        store.unavailable = False
        await eventually(lambda: _is(servicer, SERVING), "every name SERVING once the store answers")


async def test_a_store_that_does_not_answer_in_time_is_away(monkeypatch) -> None:
    async with watched(monkeypatch) as (store, servicer):
        store.hang = True
        await eventually(lambda: _is(servicer, NOT_SERVING), "NOT_SERVING while the store does not answer")
        store.hang = False
        await eventually(lambda: _is(servicer, SERVING), "SERVING once it answers again")


async def _is(servicer: health.aio.HealthServicer, status: int) -> bool:
    return await statuses(servicer) == {status}
