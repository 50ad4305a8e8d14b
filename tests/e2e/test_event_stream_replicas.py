"""WatchPublishes across replicas on one PostgreSQL database: publishes made through every
replica, a steady consumer on one replica, and a consumer that disconnects at random points
and resumes from its last event id on another replica each time; both see exactly the same
events, in the same order."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import grpc
from distribution.v1 import publishing_service_pb2

from tests.e2e.test_replicas import (
    INSTAGRAM,
    TIKTOK,
    Cluster,
    _prepare,
    _publish,
    _publish_id,
    _request,
    _until,
    cluster,
    database,
)

__all__ = ["cluster", "database"]


async def _collect(stream: Any, into: list[Any]) -> None:
    try:
        async for message in stream:
            into.append(message)
    except (grpc.aio.AioRpcError, asyncio.CancelledError):
        pass


async def test_a_consumer_resuming_on_other_replicas_sees_what_a_steady_one_sees(cluster: Cluster) -> None:
    ig_account, ig_media = await _prepare(cluster, INSTAGRAM, images=2)
    tt_account, tt_media = await _prepare(cluster, TIKTOK, images=2)
    stubs = [cluster.stubs(i)[2] for i in range(len(cluster.replicas))]

    # The anchor: the first event of a first publish, seen by a stream opened before it.
    probe = stubs[0].WatchPublishes(publishing_service_pb2.WatchPublishesRequest())
    await probe.initial_metadata()  # the headers: the stream has taken its start position
    probe_messages: list[Any] = []
    probe_task = asyncio.ensure_future(_collect(probe, probe_messages))
    first = await _publish(stubs[1], INSTAGRAM, _request(INSTAGRAM, ig_account, ig_media, str(uuid.uuid4()), "0"))
    await _until(lambda: _some(probe_messages))
    anchor = probe_messages[0].event_id
    probe.cancel()
    probe_task.cancel()

    reference: list[Any] = []
    steady = stubs[0].WatchPublishes(publishing_service_pb2.WatchPublishesRequest(after_event_id=anchor))
    steady_task = asyncio.ensure_future(_collect(steady, reference))

    async def publish(n: int) -> str:
        platform, account, media = (INSTAGRAM, ig_account, ig_media) if n % 2 else (TIKTOK, tt_account, tt_media)
        response = await _publish(
            stubs[n % len(stubs)], platform, _request(platform, account, media, str(uuid.uuid4()), f"n{n}")
        )
        return _publish_id(platform, response)

    ids = [_publish_id(INSTAGRAM, first), *await asyncio.gather(*(publish(n) for n in range(6)))]
    for publish_id in ids:
        async for _ in stubs[0].WatchPublish(publishing_service_pb2.WatchPublishRequest(id=publish_id)):
            pass
    timelines = [
        await stubs[0].GetPublish(publishing_service_pb2.GetPublishRequest(id=publish_id)) for publish_id in ids
    ]
    total = sum(len(t.events) for t in timelines) - 1

    async def steady_has_all() -> bool:
        return len(reference) >= total

    await _until(steady_has_all, within=60)

    rng = random.Random(29)
    seen: list[Any] = []
    last = anchor
    while len(seen) < total:
        replica = stubs[rng.randrange(len(stubs))]
        call = replica.WatchPublishes(publishing_service_pb2.WatchPublishesRequest(after_event_id=last))
        want, taken = min(rng.randint(1, 8), total - len(seen)), 0
        async for message in call:
            seen.append(message)
            taken += 1
            if taken == want:
                break
        call.cancel()
        last = seen[-1].event_id
    steady.cancel()
    steady_task.cancel()
    assert len(reference) == total
    assert [m.event_id for m in seen] == [m.event_id for m in reference]
    assert [m.event for m in seen] == [m.event for m in reference]
    assert {m.publish.id for m in reference} == set(ids)


async def _some(messages: list[Any]) -> bool:
    return bool(messages)
