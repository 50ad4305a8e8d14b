"""Scheduled publishes over the wire: publish_time on the publish RPCs, the run at its time
(exactly one post on the emulator), the time rules, CancelPublish and UpdatePublishSchedule,
GetPublish's schedule fields and ListPublishes' filters."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import (
    CancelPublishRequest,
    GetPublishRequest,
    ListPublishesRequest,
    PublishInstagramCarouselRequest,
    PublishTikTokCarouselRequest,
    UpdatePublishScheduleRequest,
)
from google.protobuf.timestamp_pb2 import Timestamp

from server.config import Settings
from server.domain.schedule import SchedulePolicy
from server.sandbox.instagram import InstagramSandbox
from server.sandbox.tiktok import TikTokSandbox
from tests.api.test_metrics import scrape, value
from tests.support import settings as fast
from tests.support.client import connect, images, register
from tests.support.errors import rich_error

IG_USER = "17841400000000001"


@pytest.fixture
def settings(tmp_path: Path, instagram_sandbox: InstagramSandbox, tiktok_sandbox: TikTokSandbox) -> Settings:
    """The fast settings with a tolerance of half a second, so "2 s ahead" is a schedule."""
    base = fast.fast_settings(tmp_path, instagram_sandbox.base_url, tiktok_sandbox.base_url)
    return dataclasses.replace(base, schedule=SchedulePolicy(tolerance=timedelta(seconds=0.5)))


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def in_seconds(seconds: float) -> Timestamp:
    return ts(datetime.now(UTC) + timedelta(seconds=seconds))


async def schedule_instagram(accounts, media, publishing, seconds: float, **fields):  # type: ignore[no-untyped-def]
    account = await connect(accounts)
    media_ids = await register(media, *images(2))
    return await publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(
            media_ids=media_ids, instagram_account_id=account.id, publish_time=in_seconds(seconds), **fields
        )
    )


async def until_state(publishing, publish_id: str, states: set[int], within: float = 20.0):  # type: ignore[no-untyped-def]
    """Polls GetPublish (bounded) until the publish is in one of `states`."""
    deadline = time.monotonic() + within
    while True:
        found = await publishing.GetPublish(GetPublishRequest(id=publish_id))
        if found.publish.state in states:
            return found
        assert time.monotonic() < deadline, f"still {publish_pb2.PublishState.Name(found.publish.state)}"
        await asyncio.sleep(0.05)


async def test_a_publish_scheduled_two_seconds_ahead_runs_once_at_its_time(
    service, accounts, media, publishing, instagram_sandbox
):
    response = await schedule_instagram(accounts, media, publishing, 2)
    assert response.state == publish_pb2.PUBLISH_STATE_SCHEDULED
    assert (response.ig_media_id, response.permalink, response.image_count) == ("", "", 2)
    publish_id = response.instagram_publish_id
    waiting = await publishing.GetPublish(GetPublishRequest(id=publish_id))
    assert waiting.publish.HasField("schedule_time")
    assert not waiting.publish.HasField("start_time")
    assert [e.type for e in waiting.events] == ["CREATED", "SCHEDULED"]
    assert list(waiting.publish.instagram_child_container_ids) == []  # none created yet, none shown
    assert instagram_sandbox.posts(IG_USER) == []
    assert instagram_sandbox.calls.total() == 0  # not even a quota read: that waits for the time

    done = await until_state(publishing, publish_id, {publish_pb2.PUBLISH_STATE_PUBLISHED})
    publish = done.publish
    assert len(publish.instagram_child_container_ids) == 2 and all(publish.instagram_child_container_ids)
    scheduled_at = publish.schedule_time.ToDatetime(tzinfo=UTC)
    started_at = publish.start_time.ToDatetime(tzinfo=UTC)
    assert started_at >= scheduled_at
    assert publish.start_lateness.ToTimedelta() == started_at - scheduled_at
    assert [e.type for e in done.events][:3] == ["CREATED", "SCHEDULED", "SCHEDULE_DUE"]
    posts = instagram_sandbox.posts(IG_USER)
    assert [p["id"] for p in posts] == [publish.ig_media_id]  # exactly one post
    samples = await scrape(service)
    assert value(samples, "distribution_schedule_start_lateness_seconds_count", platform="INSTAGRAM") == 1


async def test_a_tiktok_schedule_runs_at_its_time(accounts, media, publishing, tiktok_sandbox):
    account = await connect(accounts, account_pb2.PLATFORM_TIKTOK, "sandbox-open-id", "sandbox-tiktok-token")
    response = await publishing.PublishTikTokCarousel(
        PublishTikTokCarouselRequest(
            media_ids=await register(media, *images(2)), tiktok_account_id=account.id,
            privacy_level=publish_pb2.PRIVACY_LEVEL_SELF_ONLY, publish_time=in_seconds(1.5),
            creator_consent_obtained=True,
        )
    )
    assert response.state == publish_pb2.PUBLISH_STATE_SCHEDULED
    done = await until_state(publishing, response.tiktok_publish_id, {publish_pb2.PUBLISH_STATE_PUBLISHED})
    assert done.publish.tiktok_publish_id
    assert "SCHEDULE_DUE" in [e.type for e in done.events]


@pytest.mark.parametrize(
    ("offset", "words"), [(-3600, "is in the past"), (366 * 86400, "more than 365 days ahead")]
)
@pytest.mark.parametrize("validate_only", [False, True])
async def test_a_time_in_the_past_or_beyond_the_horizon_is_invalid(
    accounts, media, publishing, instagram_sandbox, offset, words, validate_only
):
    account = await connect(accounts)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(
                media_ids=await register(media, *images(1)), instagram_account_id=account.id,
                publish_time=in_seconds(offset), validate_only=validate_only,
            )
        )
    error = rich_error(info.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.violations) == {"media_ids", "publish_time"}  # every problem at once
    assert words in error.violations["publish_time"]
    listed = await publishing.ListPublishes(ListPublishesRequest())
    assert list(listed.publishes) == []
    assert instagram_sandbox.posts(IG_USER) == []


async def test_cancel_and_reschedule_semantics(accounts, media, publishing, instagram_sandbox):
    def move(publish_id: str, publish_time: Timestamp | None = None):  # type: ignore[no-untyped-def]
        return publishing.UpdatePublishSchedule(UpdatePublishScheduleRequest(id=publish_id, publish_time=publish_time))

    response = await schedule_instagram(accounts, media, publishing, 3600)
    publish_id = response.instagram_publish_id
    new_time = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)

    moved = await move(publish_id, ts(new_time))
    assert moved.publish.state == publish_pb2.PUBLISH_STATE_SCHEDULED
    assert moved.publish.schedule_time.ToDatetime(tzinfo=UTC) == new_time
    again = await move(publish_id, ts(new_time))
    assert again.publish == moved.publish  # idempotent

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await move(publish_id, in_seconds(-60))
    error = rich_error(info.value)
    assert (error.code, set(error.violations)) == (grpc.StatusCode.INVALID_ARGUMENT, {"publish_time"})
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await move(publish_id)
    assert rich_error(info.value).violations.keys() == {"publish_time"}

    cancelled = await publishing.CancelPublish(CancelPublishRequest(id=publish_id))
    assert cancelled.publish.state == publish_pb2.PUBLISH_STATE_CANCELLED
    assert (await publishing.CancelPublish(CancelPublishRequest(id=publish_id))).publish == cancelled.publish
    timeline = await publishing.GetPublish(GetPublishRequest(id=publish_id))
    assert [e.type for e in timeline.events] == ["CREATED", "SCHEDULED", "RESCHEDULED", "CANCELLED"]

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await move(publish_id, in_seconds(600))
    error = rich_error(info.value)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PUBLISH_NOT_SCHEDULED")

    # A publish that ran at once has started: it cannot be cancelled.
    ran = await publishing.PublishInstagramCarousel(
        PublishInstagramCarouselRequest(
            media_ids=await register(media, *images(2, prefix="gs://demo-bucket/other")),
            instagram_account_id=(await connect(accounts)).id,
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.CancelPublish(CancelPublishRequest(id=ran.instagram_publish_id))
    error = rich_error(info.value)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PUBLISH_NOT_SCHEDULED")
    assert error.metadata["state"] == "PUBLISHED"

    for rpc in (publishing.CancelPublish(CancelPublishRequest(id="6f1c1a80-5d0b-4c38-9b0c-2f8f51c3d6a1")),):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await rpc
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.CancelPublish(CancelPublishRequest(id="nope"))
    assert rich_error(info.value).violations.keys() == {"id"}
    assert len(instagram_sandbox.posts(IG_USER)) == 1  # only the immediate one


async def test_list_publishes_filters_by_the_new_states_and_schedule_time(accounts, media, publishing):
    account = await connect(accounts)
    made = []
    for hours in (1, 3, 5):
        response = await publishing.PublishInstagramCarousel(
            PublishInstagramCarouselRequest(
                media_ids=await register(media, *images(2, prefix=f"gs://demo-bucket/h{hours}")),
                instagram_account_id=account.id, publish_time=in_seconds(hours * 3600),
            )
        )
        made.append(response.instagram_publish_id)
    await publishing.CancelPublish(CancelPublishRequest(id=made[2]))

    async def ids(**filters) -> list[str]:  # type: ignore[no-untyped-def]
        return [p.id for p in (await publishing.ListPublishes(ListPublishesRequest(**filters))).publishes]

    assert await ids(state=publish_pb2.PUBLISH_STATE_SCHEDULED) == [made[1], made[0]]
    assert await ids(state=publish_pb2.PUBLISH_STATE_CANCELLED) == [made[2]]
    assert await ids(schedule_time_after=in_seconds(2 * 3600)) == [made[2], made[1]]
    assert await ids(schedule_time_after=in_seconds(2 * 3600), schedule_time_before=in_seconds(4 * 3600)) == [made[1]]
    assert (await publishing.ListPublishes(ListPublishesRequest(page_size=1, state=publish_pb2.PUBLISH_STATE_SCHEDULED))
            ).publishes[0].HasField("schedule_time")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await ids(schedule_time_after=in_seconds(7200), schedule_time_before=in_seconds(3600))
    assert rich_error(info.value).violations.keys() == {"schedule_time_before"}
