"""When WatchPublish ends, and what its last message may still await: a public TikTok
post's stream ends at PUBLISHED with tiktok_post_id pending, as the contract and docs/walkthrough.md
say."""

from __future__ import annotations

import re

from distribution.v1 import account_pb2, publish_pb2
from distribution.v1.publishing_service_pb2 import PublishTikTokCarouselRequest, WatchPublishRequest

from tests.support.client import connect, images, register
from tests.support.paths import ROOT
from tests.support.waiting import eventually


async def test_a_public_tiktok_post_watch_ends_at_published_with_the_post_id_pending(
    accounts, media, publishing, tiktok_sandbox
):
    tiktok_sandbox.config.moderation_delay = 3600  # the post id comes long after the stream ends
    account = await connect(
        accounts, platform=account_pb2.PLATFORM_TIKTOK, external_account_id="open-id", access_token="tt-token"
    )
    request = PublishTikTokCarouselRequest(
        media_ids=await register(media, *images(2)), creator_consent_obtained=True, tiktok_account_id=account.id,
        privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE,
    )
    published = await publishing.PublishTikTokCarousel(request)

    messages = [m async for m in publishing.WatchPublish(WatchPublishRequest(id=published.tiktok_publish_id))]
    last = messages[-1].publish
    assert last.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert list(last.pending_facts) == ["tiktok_post_id"]
    assert last.tiktok_post_id == ""

    # Once the platform reports it, the reconciler fills it in; a new watch ends at once.
    tiktok_sandbox.config.moderation_delay = 0
    for pub in tiktok_sandbox.publishes.by_id.values():
        pub.moderation_delay = 0
    async def watched_with_post_id():
        messages = [m async for m in publishing.WatchPublish(WatchPublishRequest(id=published.tiktok_publish_id))]
        return messages if messages[-1].publish.tiktok_post_id else None

    messages = await eventually(watched_with_post_id, "the reconciler to record the TikTok post id", every=0.05)
    assert len(messages) == 1
    assert messages[0].publish.tiktok_post_id and not messages[0].publish.pending_facts


def test_the_contract_and_the_walkthrough_say_so():
    proto = (ROOT / "proto" / "distribution" / "v1" / "publishing_service.proto").read_text()
    comment = re.search(r"((?:  //.*\n)+)  rpc WatchPublish", proto)
    assert comment is not None
    text = " ".join(line.strip().removeprefix("// ") for line in comment.group(1).splitlines())
    assert 'A public TikTok post ends at PUBLISHED with pending_facts ["tiktok_post_id"]' in text
    readme = " ".join((ROOT / "docs" / "walkthrough.md").read_text().split())
    assert (
        "a public TikTok post's watch ends at `PUBLISHED` with `pending_facts: [\"tiktok_post_id\"]`"
        in readme
    )
