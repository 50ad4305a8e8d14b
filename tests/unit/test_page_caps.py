"""Page sizes: 0 means the default, anything above MAX_PAGE_SIZE is cut to it. Tested with
more records than the cap (the API tests hold fewer: removing the cap would pass them)."""

from __future__ import annotations

from datetime import timedelta

from server.domain.models import Platform, PublishFilter
from server.domain.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tests.contracts.records import event, new_account, new_publish
from tests.unit.conftest import WORKSPACE, World


async def _publishes(world: World, count: int) -> None:
    account = await world.store.accounts.upsert(new_account(workspace_id=WORKSPACE))
    for n in range(count):
        publish = new_publish(account, world.clock.now() + timedelta(seconds=n), workspace_id=WORKSPACE)
        assert await world.store.publishes.create(publish, [event()]) is None


async def test_a_page_of_publishes_larger_than_the_cap_holds_the_cap(world: World) -> None:
    await _publishes(world, MAX_PAGE_SIZE + 1)
    history = world.services.history
    first = await history.list_page(WORKSPACE, MAX_PAGE_SIZE * 5, "", PublishFilter())
    assert len(first.items) == MAX_PAGE_SIZE
    assert first.next_page_token
    rest = await history.list_page(WORKSPACE, MAX_PAGE_SIZE * 5, first.next_page_token, PublishFilter())
    assert (len(rest.items), rest.next_page_token) == (1, "")
    default = await history.list_page(WORKSPACE, 0, "", PublishFilter())
    assert len(default.items) == DEFAULT_PAGE_SIZE


async def test_a_page_of_accounts_larger_than_the_cap_holds_the_cap(world: World) -> None:
    for n in range(MAX_PAGE_SIZE + 1):
        await world.store.accounts.upsert(new_account(workspace_id=WORKSPACE, external_account_id=f"1784{n:011d}"))
    accounts = world.services.accounts
    first = await accounts.list_page(WORKSPACE, MAX_PAGE_SIZE * 5, "", Platform.INSTAGRAM, False)
    assert len(first.items) == MAX_PAGE_SIZE
    rest = await accounts.list_page(WORKSPACE, MAX_PAGE_SIZE * 5, first.next_page_token, Platform.INSTAGRAM, False)
    assert (len(rest.items), rest.next_page_token) == (1, "")
