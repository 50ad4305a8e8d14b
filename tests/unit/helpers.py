"""Shared expectations of the unit tests: timelines and platform call sequences."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from server.domain.commands import InstagramCarousel, TikTokCarousel
from server.domain.errors import DomainError
from server.domain.models import Publish
from tests.unit.conftest import World


def children(count: int) -> list[str]:
    return ["CHILD_CONTAINER_CREATED"] * count


def instagram_timeline(count: int = 3) -> list[str]:
    """A publish that went through every Instagram step at the first try."""
    return [
        "CREATED", "PROCESSING_STARTED", *children(count), "CHILDREN_FINISHED", "CAROUSEL_CONTAINER_CREATED",
        "PUBLISH_SENT", "PUBLISHED", "PERMALINK_READ",
    ]


def instagram_calls(count: int = 3) -> list[str]:
    """The platform calls of that publish, in order."""
    return [
        "publishing_limit", *["create_image_container"] * count, "container_statuses", "create_carousel_container",
        "container_statuses", "publish", "media",
    ]


async def publish_fails(
    world: World, request: InstagramCarousel | TikTokCarousel, error: type[DomainError] = DomainError
) -> tuple[DomainError, Publish]:
    """Publishes, expecting the RPC to fail; returns the error and the one record written."""
    with pytest.raises(error) as caught:
        await world.publish(request)
    publish = await world.only_publish()
    assert caught.value.metadata.get("publish_id") == publish.id
    return caught.value, publish


def error_of(publish: Publish) -> dict[str, Any]:
    """The recorded error's code and reason (and item, when it names one)."""
    assert publish.error is not None
    found: dict[str, Any] = {"code": publish.error.code, "reason": publish.error.reason}
    if publish.error.item_index is not None:
        found["item"] = publish.error.item_index
    return found


async def until(condition: Callable[[], bool], steps: int = 1000) -> None:
    """Lets the event loop run until `condition` holds (a bounded number of steps, no time)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")
