"""WatchPublishes over gRPC: a consumer that disconnects at random points and resumes from its
last event id sees exactly the events of one that never disconnected; the errors a caller
gets for bad or expired ids and filters."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import (
    GetPublishRequest,
    PublishInstagramCarouselRequest,
    PublishTikTokCarouselRequest,
    WatchPublishesRequest,
    WatchPublishesResponse,
    WatchPublishRequest,
)

from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error


async def first_event(stream: Any) -> WatchPublishesResponse:
    async for message in stream:
        return message  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")


async def test_a_consumer_resuming_at_random_points_sees_exactly_the_steady_consumer_s_events(
    channel: grpc.aio.Channel,
) -> None:
    stubs = Stubs.on(channel)
    instagram = await connect(stubs.accounts)
    tiktok = await connect(
        stubs.accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id", access_token="tt"
    )
    # An anchor every consumer starts after: the first event of a first publish.
    probe = stubs.publishing.WatchPublishes(WatchPublishesRequest())
    await probe.initial_metadata()  # the headers: the stream has taken its start position
    probe_first = asyncio.ensure_future(first_event(probe))
    first = await stubs.publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(
        media_ids=await register(stubs.media, *images(2, prefix="gs://demo-bucket/anchor")),
        instagram_account_id=instagram.id,
    ))
    anchor = (await probe_first).event_id
    probe.cancel()

    steady = stubs.publishing.WatchPublishes(WatchPublishesRequest(after_event_id=anchor))
    reference: list[WatchPublishesResponse] = []
    steady_task = asyncio.ensure_future(_collect(steady, reference))

    async def publish_ig(n: int) -> str:
        r = await stubs.publishing.PublishInstagramCarousel(PublishInstagramCarouselRequest(
            media_ids=await register(stubs.media, *images(2, prefix=f"gs://demo-bucket/ig-{n}")),
            instagram_account_id=instagram.id,
        ))
        return r.instagram_publish_id

    async def publish_tt(n: int) -> str:
        r = await stubs.publishing.PublishTikTokCarousel(PublishTikTokCarouselRequest(
            media_ids=await register(stubs.media, *images(2, prefix=f"gs://demo-bucket/tt-{n}")),
            tiktok_account_id=tiktok.id, post_mode=publish_pb2.POST_MODE_INBOX,
        ))
        return r.tiktok_publish_id

    ids = [first.instagram_publish_id, *await asyncio.gather(*(publish_ig(n) for n in range(3)),
                                                             *(publish_tt(n) for n in range(3)))]
    for publish_id in ids:
        async for _ in stubs.publishing.WatchPublish(WatchPublishRequest(id=publish_id)):
            pass  # until its run is over
    total = sum([len((await stubs.publishing.GetPublish(GetPublishRequest(id=p))).events) for p in ids]) - 1

    for _ in range(400):
        if len(reference) >= total:
            break
        await asyncio.sleep(0.05)
    assert len(reference) == total

    rng = random.Random(23)
    seen: list[WatchPublishesResponse] = []
    last = anchor
    while len(seen) < total:
        call = stubs.publishing.WatchPublishes(WatchPublishesRequest(after_event_id=last))
        want = min(rng.randint(1, 9), total - len(seen))
        taken = 0
        async for message in call:
            seen.append(message)
            taken += 1
            if taken == want:
                break
        call.cancel()  # a disconnect at a random point
        last = seen[-1].event_id
    assert [m.event_id for m in seen] == [m.event_id for m in reference]
    assert [m.event for m in seen] == [m.event for m in reference]
    assert {m.publish.id for m in reference} == set(ids)
    assert all(m.event.sequence and m.publish.state for m in reference)
    ordered = [m.event_id for m in reference]
    assert len(set(ordered)) == len(ordered)
    steady.cancel()
    steady_task.cancel()


async def _collect(stream: Any, into: list[WatchPublishesResponse]) -> None:
    try:
        async for message in stream:
            into.append(message)
    except (grpc.aio.AioRpcError, asyncio.CancelledError):
        pass


@pytest.mark.parametrize(
    ("request_fields", "code", "field"),
    [
        ({"after_event_id": "nope"}, grpc.StatusCode.INVALID_ARGUMENT, "after_event_id"),
        ({"after_event_id": "evt_" + "0" * 16 + "00000000000f4240"}, grpc.StatusCode.OUT_OF_RANGE, None),
        ({"states": [0, 99]}, grpc.StatusCode.INVALID_ARGUMENT, "states[0]"),
        ({"account_id": "not-an-id"}, grpc.StatusCode.INVALID_ARGUMENT, "account_id"),
    ],
)
async def test_bad_or_expired_positions_and_filters_get_a_precise_status(
    channel: grpc.aio.Channel, request_fields: dict[str, Any], code: grpc.StatusCode, field: str | None
) -> None:
    stubs = Stubs.on(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stubs.publishing.WatchPublishes(WatchPublishesRequest(**request_fields)):
            pass
    error = rich_error(caught.value)
    assert error.code == code
    if field is not None:
        assert field in error.violations
    else:
        assert error.reason == "EVENT_ID_EXPIRED"
    if request_fields.get("states"):
        assert list(error.violations) == ["states[0]", "states[1]"]
