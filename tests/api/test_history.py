"""Publish history over the wire: GetPublish and its timeline, ListPublishes, WatchPublish, late facts."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2
from distribution.v1 import publishing_service_pb2 as pb
from google.protobuf import json_format, timestamp_pb2

from server.domain.changes import PublishChange, SetTo
from tests.support.client import Stubs, connect, images, register
from tests.support.errors import rich_error
from tests.support.processing import LONG, finish_instagram_processing
from tests.support.settings import FAST_LATE_FACTS
from tests.support.waiting import eventually as wait_until

PUBLISHED = publish_pb2.PUBLISH_STATE_PUBLISHED
# How long a test waits for what the reconciler does in the background.
EVENTUALLY_SECONDS = 10.0


async def instagram_publish(publishing, media, account_id, n=2, prefix="gs://b/h"):
    ids = await register(media, *images(n, prefix=prefix))
    return await publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account_id)
    )


async def tiktok_publish(publishing, media, account_id, **kwargs):
    ids = await register(media, *images(2, prefix="gs://b/t"))
    return await publishing.PublishTikTokCarousel(
        pb.PublishTikTokCarouselRequest(media_ids=ids,
            creator_consent_obtained=True, tiktok_account_id=account_id, **kwargs)
    )


async def get(publishing, publish_id):
    return await publishing.GetPublish(pb.GetPublishRequest(id=publish_id))


async def eventually(check):
    """Polls `check` until it returns a truthy value (the reconciler works in the background),
    for EVENTUALLY_SECONDS at most; returns its last value (falsy: the caller's assert fails)."""
    try:
        return await wait_until(check, "the background work", within=EVENTUALLY_SECONDS, every=0.05)
    except AssertionError:
        return await check()


async def first_listed_publish_id(publishing) -> str:
    """The id of the newest publish, once one is listed (a publish call under way saves it first)."""
    async def listed() -> str:
        page = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=1))
        return page.publishes[0].id if page.publishes else ""

    return await wait_until(listed, "the publish to be listed")


async def test_get_publish_tells_the_whole_story(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    done = await instagram_publish(publishing, media, account.id, n=3)

    response = await get(publishing, done.instagram_publish_id)

    publish = response.publish
    assert publish.id == done.instagram_publish_id
    assert publish.platform == account_pb2.PLATFORM_INSTAGRAM
    assert publish.kind == publish_pb2.PUBLISH_KIND_CAROUSEL
    assert publish.state == PUBLISHED
    assert publish.account_id == account.id
    assert len(publish.media_ids) == 3
    post = instagram_sandbox.posts()[0]
    assert list(publish.instagram_child_container_ids) == post["children"]
    assert publish.instagram_container_id == post["creation_id"]
    assert (publish.ig_media_id, publish.permalink) == (post["id"], post["permalink"])
    assert publish.HasField("create_time") and publish.HasField("publish_time")
    types = [e.type for e in response.events]
    assert types[:2] == ["CREATED", "PROCESSING_STARTED"]
    assert types.count("CHILD_CONTAINER_CREATED") == 3
    # CHILDREN_FINISHED saves no state: it is written with the next change, in its place.
    assert types[-5:] == [
        "CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED", "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ"
    ]
    sequences = [e.sequence for e in response.events]
    assert sequences == sorted(sequences)
    times = [e.time.ToDatetime() for e in response.events]
    assert times == sorted(times)
    published = next(e for e in response.events if e.type == "PUBLISHED")
    assert published.state == PUBLISHED
    assert json_format.MessageToDict(published.details)["ig_media_id"] == post["id"]


async def test_failed_publish_records_why_and_which_item(accounts, media, publishing):
    account = await connect(accounts)
    ids = await register(media, "gs://b/ok.jpg", "https://unreachable.example.com/x.jpg")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.PublishInstagramCarousel(
            pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
        )
    publish_id = rich_error(info.value).metadata["publish_id"]
    publish = (await get(publishing, publish_id)).publish
    assert publish.state == publish_pb2.PUBLISH_STATE_FAILED
    assert publish.error.code == "FAILED_PRECONDITION"
    assert publish.error.reason == "INSTAGRAM_MEDIA_FETCH_FAILED"
    assert publish.error.field == "media_ids[1]"
    assert publish.error.platform_subcode == "2207052"
    assert not publish.error.retryable


async def test_get_publish_not_found_and_malformed(publishing):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await get(publishing, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(info.value).reason == "PUBLISH_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await get(publishing, "nope")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "id" in rich_error(info.value).violations


async def test_tiktok_publish_shows_its_options_and_ids(accounts, media, publishing, tiktok_sandbox):
    account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    done = await tiktok_publish(
        publishing, media, account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS, cover_index=1
    )
    publish = (await get(publishing, done.tiktok_publish_id)).publish
    assert publish.tiktok_publish_id == done.publish_id
    assert publish.tiktok_options.privacy_level == publish_pb2.PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS
    assert publish.tiktok_options.post_mode == publish_pb2.POST_MODE_DIRECT
    assert publish.tiktok_options.cover_index == 1
    assert list(publish.pending_facts) == []  # not public: no post id will ever come


async def list_all(publishing, **filters):
    ids, token = [], ""
    while True:
        page = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=2, page_token=token, **filters))
        ids += [p.id for p in page.publishes]
        token = page.next_page_token
        if not token:
            return ids


async def test_list_filters_and_pages(accounts, media, publishing, tiktok_sandbox):
    ig = await connect(accounts)
    ig2 = await connect(accounts, external_account_id="17841400000000002")
    tt = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    first = (await instagram_publish(publishing, media, ig.id)).instagram_publish_id
    middle = datetime.now(UTC)
    second = (await instagram_publish(publishing, media, ig2.id)).instagram_publish_id
    third = (await tiktok_publish(publishing, media, tt.id)).tiktok_publish_id
    tiktok_sandbox.script_fail_reason("spam_risk_text")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await tiktok_publish(publishing, media, tt.id)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # spam_risk_text
    failed = (await publishing.ListPublishes(pb.ListPublishesRequest(page_size=1))).publishes[0].id

    assert await list_all(publishing) == [failed, third, second, first]  # newest first, every page
    assert await list_all(publishing, account_id=ig.id) == [first]
    assert await list_all(publishing, platform=account_pb2.PLATFORM_TIKTOK) == [failed, third]
    assert await list_all(publishing, state=publish_pb2.PUBLISH_STATE_FAILED) == [failed]
    assert await list_all(publishing, state=PUBLISHED) == [third, second, first]
    after = timestamp_pb2.Timestamp()
    after.FromDatetime(middle)
    assert await list_all(publishing, create_time_after=after) == [failed, third, second]
    assert await list_all(publishing, create_time_before=after) == [first]
    assert await list_all(publishing, platform=account_pb2.PLATFORM_INSTAGRAM, create_time_after=after) == [second]


async def test_pages_stay_stable_while_publishes_arrive(accounts, media, publishing):
    account = await connect(accounts)
    older = [(await instagram_publish(publishing, media, account.id)).instagram_publish_id for _ in range(3)]
    page = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=2))
    assert [p.id for p in page.publishes] == older[::-1][:2]
    newer = (await instagram_publish(publishing, media, account.id)).instagram_publish_id
    rest = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=2, page_token=page.next_page_token))
    assert [p.id for p in rest.publishes] == [older[0]]
    assert rest.next_page_token == ""
    assert newer not in [p.id for p in rest.publishes]


@pytest.mark.parametrize(
    "request_fields, field",
    [
        ({"page_size": -1}, "page_size"),
        ({"page_token": "garbage!"}, "page_token"),
        ({"account_id": "not-a-uuid"}, "account_id"),
        ({"state": 42}, "state"),
    ],
)
async def test_invalid_list_requests(publishing, request_fields, field):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.ListPublishes(pb.ListPublishesRequest(**request_fields))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in rich_error(info.value).violations


async def test_page_token_from_other_filters_is_invalid(accounts, media, publishing):
    account = await connect(accounts)
    for _ in range(3):
        await instagram_publish(publishing, media, account.id)
    page = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=1))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publishing.ListPublishes(
            pb.ListPublishesRequest(page_size=1, page_token=page.next_page_token, state=PUBLISHED)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_page_size_is_capped_at_1000(publishing):
    page = await publishing.ListPublishes(pb.ListPublishesRequest(page_size=5000))
    assert page.next_page_token == ""


async def test_watch_sees_every_transition_of_a_live_publish(accounts, media, publishing, instagram_sandbox):
    instagram_sandbox.config.processing_delay = LONG  # PROCESSING until the watcher has seen it
    account = await connect(accounts)
    ids = await register(media, *images(2))
    publish_call = publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
    )
    publish_id = await first_listed_publish_id(publishing)
    records, types = [], []
    async for message in publishing.WatchPublish(pb.WatchPublishRequest(id=publish_id)):
        records.append(message.publish)
        types += [e.type for e in message.events]
        if message.publish.state == publish_pb2.PUBLISH_STATE_PROCESSING:
            instagram_sandbox.config.processing_delay = 0.0
            finish_instagram_processing(instagram_sandbox)
    done = await publish_call
    states = [r.state for r in records]
    assert states[-1] == PUBLISHED
    assert publish_pb2.PUBLISH_STATE_PROCESSING in states
    # Every event of the timeline reached the watcher exactly once, in order, up to the
    # permalink the run reads right after PUBLISHED: the last message carries it.
    stored = await get(publishing, publish_id)
    timeline = [e.type for e in stored.events]
    assert types == timeline
    assert types[-2:] == ["PUBLISHED", "PERMALINK_READ"]
    assert records[-1] == stored.publish and records[-1].permalink
    assert all(r1 != r2 for r1, r2 in itertools.pairwise(records))  # no message repeats the last
    # The caller is told what was stored.
    assert (done.ig_media_id, done.permalink) == (stored.publish.ig_media_id, stored.publish.permalink)
    update_times = [r.update_time.ToDatetime() for r in records]
    assert update_times == sorted(update_times)


async def test_watch_ends_with_the_run_when_the_permalink_is_left_to_the_reconciler(
    accounts, media, publishing, instagram_sandbox
):
    instagram_sandbox.config.processing_delay = 0.3
    instagram_sandbox.fail_media_reads(2)  # the run's read and the reconciler's first one
    account = await connect(accounts)
    ids = await register(media, *images(2))
    publish_call = asyncio.ensure_future(publishing.PublishInstagramCarousel(
        pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
    ))
    publish_id = await first_listed_publish_id(publishing)
    messages = [m async for m in publishing.WatchPublish(pb.WatchPublishRequest(id=publish_id))]
    await publish_call
    last = messages[-1].publish
    assert last.state == PUBLISHED and last.permalink == ""
    assert list(last.pending_facts) == ["permalink"]  # the reconciler's, later: not waited for
    assert [e.type for m in messages for e in m.events][-1] == "PERMALINK_PENDING"


async def test_watch_of_a_finished_publish_ends_at_once(accounts, media, publishing):
    account = await connect(accounts)
    done = await instagram_publish(publishing, media, account.id)
    messages = [m async for m in publishing.WatchPublish(pb.WatchPublishRequest(id=done.instagram_publish_id))]
    assert len(messages) == 1 and messages[0].publish.state == PUBLISHED


async def test_watch_unknown_publish_is_not_found(publishing):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in publishing.WatchPublish(pb.WatchPublishRequest(id="3fa85f64-5717-4562-b3fc-2c963f66afa6")):
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reconciler_fills_in_a_late_tiktok_post_id(accounts, media, publishing, tiktok_sandbox):
    account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
    done = await tiktok_publish(
        publishing, media, account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE
    )
    assert done.tiktok_media_id == ""
    first = (await get(publishing, done.tiktok_publish_id)).publish
    assert list(first.pending_facts) == ["tiktok_post_id"]

    async def arrived():
        publish = (await get(publishing, done.tiktok_publish_id)).publish
        return publish if publish.tiktok_post_id else None

    publish = await eventually(arrived)
    assert publish, "the late post id never arrived"
    assert publish.tiktok_post_id == str(tiktok_sandbox.publish(done.publish_id)["post_ids"][0])
    assert list(publish.pending_facts) == []
    events = (await get(publishing, done.tiktok_publish_id)).events
    assert events[-1].type == "LATE_FACTS_ARRIVED"


async def test_reconciler_fills_in_a_late_permalink(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    instagram_sandbox.fail_media_reads(2)  # the workflow's read and the first reconcile both fail
    done = await instagram_publish(publishing, media, account.id)
    assert done.permalink == ""

    async def arrived():
        publish = (await get(publishing, done.instagram_publish_id)).publish
        return publish if publish.permalink else None

    publish = await eventually(arrived)
    assert publish and publish.permalink == instagram_sandbox.posts()[0]["permalink"]
    types = [e.type for e in (await get(publishing, done.instagram_publish_id)).events]
    assert "PERMALINK_PENDING" in types and types[-1] == "LATE_FACTS_ARRIVED"


async def test_reconciler_resumes_after_a_restart(start_service, tiktok_sandbox, settings):
    # The first process stores a check due in 2 s and stops before making it; the second runs
    # a schedule whose checks come 30 s apart, so the post id arrives in time only if the
    # restarted service honours the check stored in the database (nothing rewrites it here).
    tiktok_sandbox.config.moderation_delay = 1.0
    soon = dataclasses.replace(FAST_LATE_FACTS, first_delay=2.0, max_interval=2.0)
    slow = dataclasses.replace(FAST_LATE_FACTS, first_delay=30.0, max_interval=30.0)
    first = await start_service(late_facts=soon)
    async with grpc.aio.insecure_channel(first.address) as channel:
        accounts, media, publishing = Stubs.on(channel)
        account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
        done = await tiktok_publish(
            publishing, media, account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE
        )
    await first.stop(0)

    second = await start_service(late_facts=slow)
    stored = await second.services.publish_log.get(done.tiktok_publish_id)
    assert stored.tiktok_post_id is None  # not fetched before the restart
    assert stored.reconcile_at is not None and list(stored.pending_facts) == ["tiktok_post_id"]
    async with grpc.aio.insecure_channel(second.address) as channel:
        publishing = Stubs.on(channel).publishing

        async def arrived():
            p = (await get(publishing, done.tiktok_publish_id)).publish
            return p if p.tiktok_post_id else None

        assert await eventually(arrived), "the restarted service never fetched the late post id"


@pytest.mark.parametrize("case", ["instagram", "tiktok", "instagram_item_fails"])
async def test_the_record_a_run_announces_is_the_stored_record(
    case, service, accounts, media, publishing, monkeypatch
):
    # What a run announces (to watchers, and as the RPC's answer) is the record its last
    # write returned (UPDATE ... RETURNING); it must be exactly what is stored.
    publish_log = service.services.publish_log
    announced: list = []  # every announcement, in order (a dict by id would hold one whatever happened)
    announce = publish_log._announce
    monkeypatch.setattr(publish_log, "_announce", lambda p: (announced.append(p), announce(p)))
    if case == "tiktok":
        account = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid-rec")
        await tiktok_publish(
            publishing, media, account.id, privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE
        )
    elif case == "instagram":
        account = await connect(accounts)
        await instagram_publish(publishing, media, account.id, n=3)
    else:
        account = await connect(accounts)
        ids = await register(media, "gs://b/ok.jpg", "https://unreachable.example.com/x.jpg")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await publishing.PublishInstagramCarousel(
                pb.PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id)
            )
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # the item could not be fetched
    [publish_id] = {p.id for p in announced}  # one publish, announced at each of its steps
    assert len(announced) > 1
    revisions = [p.revision for p in announced]
    assert revisions == sorted(set(revisions))  # each announcement is a newer record than the last
    assert announced[-1] == await publish_log.get(publish_id)


async def test_a_scheduled_check_wakes_the_reconciler_only_if_sooner_than_its_plan(
    service, accounts, media, publishing
):
    account = await connect(accounts)
    done = await instagram_publish(publishing, media, account.id)
    # The running reconciler writes the same plan and signal at each pass (a pass may end
    # between the lines below and plan "nothing", so that any check wakes it): stopped, the
    # plan set here is the one the publish log compares against. The service's shutdown
    # stops it again harmlessly.
    await service.services.reconciler.stop()
    publish_log = service.services.publish_log
    planned = datetime.now(UTC) + timedelta(hours=1)
    alarm = publish_log.alarms.late_facts
    alarm.reset()
    alarm.wakes_at = planned  # as a sleeping reconciler with a check due in an hour
    later = PublishChange(reconcile_at=SetTo(planned + timedelta(minutes=1)))
    await publish_log.record(done.instagram_publish_id, "TEST", "later", later)
    assert not alarm.rung  # its planned pass comes first anyway
    sooner = PublishChange(reconcile_at=SetTo(planned - timedelta(minutes=59)))
    await publish_log.record(done.instagram_publish_id, "TEST", "sooner", sooner)
    assert alarm.rung


@pytest.mark.parametrize("cache_entries", [10_000, 0])
async def test_listed_publishes_are_the_records_get_publish_shows(
    cache_entries, start_service, tiktok_sandbox
):
    # List pages are built from renderings kept by revision (server/api/rendered.py); cold
    # or kept, and with keeping off, each listed publish is exactly what GetPublish shows.
    service = await start_service(list_cache_entries=cache_entries)
    async with grpc.aio.insecure_channel(service.address) as channel:
        accounts, media, publishing = Stubs.on(channel)
        ig = await connect(accounts)
        tt = await connect(accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="oid")
        await instagram_publish(publishing, media, ig.id, n=3)
        public = await tiktok_publish(
            publishing, media, tt.id, privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE, cover_index=1
        )
        bad = await register(media, "gs://b/ok.jpg", "https://unreachable.example.com/x.jpg")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await publishing.PublishInstagramCarousel(
                pb.PublishInstagramCarouselRequest(media_ids=bad, instagram_account_id=ig.id)
            )
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # the item could not be fetched

        # The public post's id comes later (moderation, then the reconciler), and changes the
        # record: wait for it, so that no record changes between the list and GetPublish.
        async def post_id_arrived():
            return (await get(publishing, public.tiktok_publish_id)).publish.tiktok_post_id

        assert await eventually(post_id_arrived)

        cold = (await publishing.ListPublishes(pb.ListPublishesRequest())).publishes
        warm = (await publishing.ListPublishes(pb.ListPublishesRequest())).publishes
        assert len(cold) == 3
        assert list(warm) == list(cold)
        for listed in cold:
            assert listed == (await get(publishing, listed.id)).publish
        assert {p.state for p in cold} == {PUBLISHED, publish_pb2.PUBLISH_STATE_FAILED}
        assert any(p.HasField("tiktok_options") and p.tiktok_options.cover_index == 1 for p in cold)
        assert any(p.error.field == "media_ids[1]" for p in cold)


async def test_a_listed_publish_shows_each_change_at_once(accounts, media, publishing, instagram_sandbox):
    account = await connect(accounts)
    instagram_sandbox.fail_media_reads(2)  # the permalink arrives later, from the reconciler
    done = await instagram_publish(publishing, media, account.id)

    async def listed():
        return (await publishing.ListPublishes(pb.ListPublishesRequest())).publishes[0]

    before = await listed()
    assert before.id == done.instagram_publish_id and before.permalink == ""
    assert await listed() == before  # read again, unchanged

    async def arrived():
        publish = await listed()
        return publish if publish.permalink else None

    after = await eventually(arrived)
    assert after, "the list never showed the late permalink"
    assert after == (await get(publishing, done.instagram_publish_id)).publish
    assert list(after.pending_facts) == []


async def test_every_change_to_a_record_bumps_its_revision(service, accounts, media, publishing):
    account = await connect(accounts)
    done = await instagram_publish(publishing, media, account.id, n=2)
    repository = service.services.publish_log
    publish = await repository.get(done.instagram_publish_id)
    # Created at 0, then one revision per stored change: two child ids, the carousel id, the
    # in-flight mark, the media id and the permalink, at least.
    assert publish.revision >= 6
    first = await service.services.publish_log.record(publish.id, "TEST", "one")
    second = await service.services.publish_log.record(publish.id, "TEST", "two")  # same microsecond or not
    assert (first.revision, second.revision) == (publish.revision + 1, publish.revision + 2)
    assert (await repository.get(publish.id)).revision == second.revision
