"""Publish history: one publish with its timeline, filtered pages, records by version, and
watching a live publish (server/services/history.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from server.domain.changes import NO_CHANGE
from server.domain.errors import InvalidArgument, NotFound
from server.domain.models import Platform, Publish, PublishEvent, PublishFilter, PublishState, PublishVersion
from tests.unit.conftest import World
from tests.unit.helpers import instagram_timeline


async def test_get_returns_the_record_and_its_whole_timeline(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2))
    record, events = await world.services.history.get(world.workspace, publish.id.upper())
    assert record == publish
    assert [e.type for e in events] == instagram_timeline(2)


# Fixed values: pytest-xdist workers must collect the same test ids.
@pytest.mark.parametrize("bad_id", ["", "nope", "3fa85f64-5717-4562-b3fc-2c963f66afa60"])
async def test_get_with_a_malformed_id_is_invalid(world: World, bad_id: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.services.history.get(world.workspace, bad_id)
    assert caught.value.field_violations[0].field == "id"


async def test_get_of_an_unknown_or_foreign_publish_is_not_found(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2))
    for workspace, publish_id in (("other", publish.id), (world.workspace, str(uuid.uuid4()))):
        with pytest.raises(NotFound) as caught:
            await world.services.history.get(workspace, publish_id)
        assert caught.value.reason == "PUBLISH_NOT_FOUND"
        assert caught.value.metadata == {"publish_id": publish_id}


async def _publishes(world: World) -> tuple[list[Publish], str, str]:
    instagram = await world.instagram_account()
    tiktok = await world.tiktok_account()
    made = []
    for request in (
        await world.instagram_request(2, instagram),
        await world.tiktok_request(2, tiktok),
        await world.instagram_request(2, instagram, caption="second"),
        await world.tiktok_request(2, tiktok, post_mode="INBOX"),
    ):
        made.append(await world.publish(request))
        world.clock.advance(60)
    return made, instagram.id, tiktok.id


async def test_pages_are_newest_first_and_follow_their_tokens(world: World) -> None:
    made, _, _ = await _publishes(world)
    history = world.services.history
    first = await history.list_page(world.workspace, 3, "", PublishFilter())
    assert [v.id for v in first.items] == [p.id for p in made[::-1][:3]]
    assert first.next_page_token
    second = await history.list_page(world.workspace, 3, first.next_page_token, PublishFilter())
    assert [v.id for v in second.items] == [made[0].id]
    assert second.next_page_token == ""
    everything = await history.list_page(world.workspace, 0, "", PublishFilter())  # 0: the default size
    assert len(everything.items) == 4
    assert everything.next_page_token == ""


async def test_filters_narrow_the_list(world: World) -> None:
    made, instagram_id, _ = await _publishes(world)
    history = world.services.history

    async def ids(where: PublishFilter) -> list[str]:
        return [v.id for v in (await history.list_page(world.workspace, 50, "", where)).items]

    assert await ids(PublishFilter(account_id=instagram_id.upper())) == [made[2].id, made[0].id]
    assert await ids(PublishFilter(platform=Platform.TIKTOK)) == [made[3].id, made[1].id]
    assert await ids(PublishFilter(state=PublishState.DELIVERED_TO_INBOX)) == [made[3].id]
    assert await ids(PublishFilter(created_after=made[1].created_at, created_before=made[3].created_at)) == [
        made[2].id, made[1].id
    ]


async def test_a_schedule_time_range_lists_only_publishes_scheduled_in_it_page_by_page(world: World) -> None:
    account = await world.instagram_account()
    scheduled = [
        await world.publish(await world.instagram_request(2, account, caption=f"at {minutes}",
                                                          publish_time=world.at(minutes * 60)))
        for minutes in (10, 20, 30, 40)
    ]
    await world.publish(await world.instagram_request(2, account, caption="now"))  # never scheduled: never listed
    where = PublishFilter(scheduled_after=world.at(15 * 60), scheduled_before=world.at(40 * 60))
    history = world.services.history
    first = await history.list_page(world.workspace, 1, "", where)
    assert first.next_page_token
    rest = await history.list_page(world.workspace, 10, first.next_page_token, where)
    assert rest.next_page_token == ""
    assert {v.id for v in [*first.items, *rest.items]} == {scheduled[1].id, scheduled[2].id}
    with pytest.raises(InvalidArgument):  # the token belongs to that range only
        await history.list_page(world.workspace, 10, first.next_page_token, PublishFilter(
            scheduled_after=world.at(15 * 60)))


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (PublishFilter(account_id="nope"), "account_id"),
        (PublishFilter(created_after=datetime(2026, 1, 2, tzinfo=UTC), created_before=datetime(2026, 1, 2, tzinfo=UTC)),
         "create_time_before"),
        (PublishFilter(scheduled_after=datetime(2026, 1, 3, tzinfo=UTC),
                       scheduled_before=datetime(2026, 1, 2, tzinfo=UTC)), "schedule_time_before"),
    ],
    ids=["malformed-account-id", "empty-time-range", "inverted-schedule-range"],
)
async def test_invalid_filters_are_refused(world: World, where: PublishFilter, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.services.history.list_page(world.workspace, 10, "", where)
    assert caught.value.field_violations[0].field == field


async def test_a_page_token_from_other_filters_or_a_negative_size_is_invalid(world: World) -> None:
    await _publishes(world)
    history = world.services.history
    token = (await history.list_page(world.workspace, 1, "", PublishFilter())).next_page_token
    with pytest.raises(InvalidArgument) as caught:
        await history.list_page(world.workspace, 1, token, PublishFilter(platform=Platform.TIKTOK))
    assert "different filters" in caught.value.message
    with pytest.raises(InvalidArgument):
        await history.list_page(world.workspace, -1, "", PublishFilter())
    forged = [
        "garbage!",
        "x" * 513,
        base64.urlsafe_b64encode(json.dumps(["yesterday", "id", "fp"]).encode()).decode(),
    ]
    for token in forged:
        with pytest.raises(InvalidArgument) as refused:
            await history.list_page(world.workspace, 1, token, PublishFilter())
        assert refused.value.field_violations[0].description == (
            "is not a token returned by this list; send the previous page's next_page_token unchanged, or none"
        )
        assert str(refused.value) == refused.value.message


async def test_records_come_in_page_order_at_their_latest_revision(world: World) -> None:
    made, _, _ = await _publishes(world)
    page = await world.services.history.list_page(world.workspace, 50, "", PublishFilter())
    await world.store.publishes.apply(made[0].id, NO_CHANGE, [PublishEvent("NOTE", "a later change")])
    versions = [*page.items, PublishVersion(str(uuid.uuid4()), 0)]
    records = await world.services.history.records(world.workspace, versions)
    assert [r.id for r in records] == [v.id for v in page.items]
    assert records[-1].revision == made[0].revision + 1
    assert await world.services.history.records("other", page.items) == []


# --- watch ------------------------------------------------------------------------------------


async def _collect(world: World, publish_id: str) -> list[tuple[Publish, list[PublishEvent]]]:
    return [item async for item in world.services.history.watch(world.workspace, publish_id)]


async def test_watching_a_finished_publish_shows_it_once_and_ends(world: World) -> None:
    publish = await world.publish(await world.instagram_request(2))
    seen = await _collect(world, publish.id)
    assert len(seen) == 1
    assert seen[0][0] == publish
    assert [e.type for e in seen[0][1]] == instagram_timeline(2)


async def test_watching_a_live_publish_shows_every_change_until_its_run_ends(world: World) -> None:
    held = world.instagram.hold("create_carousel_container")
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    publish = await world.only_publish()
    watch = asyncio.create_task(_collect(world, publish.id))
    await asyncio.sleep(0)
    held.release()
    final = await caller
    seen = await watch
    assert seen[0][0].state == PublishState.PROCESSING
    assert seen[-1][0] == final
    assert [e.type for _, events in seen for e in events] == instagram_timeline(2)
    # The permalink (read after PUBLISHED, by the same run) reached the watcher before it ended.
    assert seen[-1][0].permalink is not None
    revisions = [p.revision for p, _ in seen]
    assert revisions == sorted(set(revisions))


async def test_watch_of_an_unknown_or_malformed_publish_fails_at_once(world: World) -> None:
    with pytest.raises(NotFound):
        await _collect(world, str(uuid.uuid4()))
    with pytest.raises(InvalidArgument):
        await _collect(world, "nope")
    assert world.services.publish_log._subscribers == {}


async def test_two_watchers_of_one_publish_both_see_it_to_the_end(world: World) -> None:
    held = world.instagram.hold("publish")
    caller = asyncio.create_task(world.publish(await world.instagram_request(2)))
    await held.reached.wait()
    publish = await world.only_publish()
    watches = [asyncio.create_task(_collect(world, publish.id)) for _ in range(2)]
    await asyncio.sleep(0)
    held.release()
    final = await caller
    for watch in watches:
        assert (await watch)[-1][0] == final
    assert world.services.publish_log._subscribers == {}
    world.services.publish_log.unsubscribe(publish.id, asyncio.Queue())  # long gone: nothing to do
