"""A TikTok video publish in every publish log (fake, SQLite, PostgreSQL): its kind, its video
options and its upload's progress are stored with the record, each acknowledged chunk a
change written with its event, and a write that does not name the upload keeps it."""

from __future__ import annotations

from datetime import timedelta

from server.domain.models import Platform, PublishKind, PublishState
from server.domain.options import TikTokOptions
from server.domain.ports import Store
from server.domain.tiktok_video import TikTokUpload
from tests.contracts.records import T0, account_in, change, event, new_publish

MiB = 1024 * 1024


async def test_a_video_upload_is_stored_and_each_acknowledged_chunk_changes_it(store: Store) -> None:
    account = await account_in(store, platform=Platform.TIKTOK, external_account_id="open-id-video")
    options = TikTokOptions(
        privacy_level="SELF_ONLY", source="FILE_UPLOAD", disable_duet=True, disable_stitch=True,
        video_cover_timestamp_ms=0, is_aigc=True, max_video_post_duration_sec=600,
    )
    publish = new_publish(account, kind=PublishKind.VIDEO, media_ids=[account.id], options=options)
    assert await store.publishes.create(publish, [event()]) is None
    stored = await store.publishes.get(publish.id)
    assert stored == publish
    assert stored is not None and stored.kind == PublishKind.VIDEO and stored.options == options

    planned = TikTokUpload(23 * MiB, 10 * MiB, 2, 0, "https://upload.example/?upload_id=1", T0 + timedelta(hours=1))
    after_init = await store.publishes.apply(
        publish.id, change(state=PublishState.PROCESSING, tiktok_publish_id="v_pub_1", tiktok_upload=planned),
        [event("TIKTOK_INIT_ACCEPTED")], expected=stored,
    )
    assert after_init.tiktok_upload == planned
    one = TikTokUpload(23 * MiB, 10 * MiB, 2, 1, planned.upload_url, planned.upload_url_expires_at)
    await store.publishes.apply(publish.id, change(tiktok_upload=one), [event("TIKTOK_CHUNK_UPLOADED")])
    await store.publishes.apply(publish.id, change(), [event("NOTE")])
    again = await store.publishes.get(publish.id)
    assert again is not None
    assert again.tiktok_upload == one
    assert (again.tiktok_upload.bytes_acknowledged, again.revision) == (10 * MiB, 3)
    assert [e.type for e in await store.publishes.events(publish.id)] == [
        "CREATED", "TIKTOK_INIT_ACCEPTED", "TIKTOK_CHUNK_UPLOADED", "NOTE",
    ]


async def test_a_publish_that_uploads_nothing_has_no_upload(store: Store) -> None:
    account = await account_in(store, platform=Platform.TIKTOK, external_account_id="open-id-photo")
    publish = new_publish(account)
    assert await store.publishes.create(publish, [event()]) is None
    stored = await store.publishes.get(publish.id)
    assert stored is not None and stored.tiktok_upload is None
