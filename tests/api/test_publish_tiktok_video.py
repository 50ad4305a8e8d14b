"""PublishTikTokVideo over the wire, against the TikTok emulator: a GCS video pulled by TikTok
and any other uploaded by the service in TikTok's chunks (the emulator checks every PUT's
headers and order), direct and inbox, each refusal naming its field, validate_only and
idempotency, and the HTTP route in camelCase."""

from __future__ import annotations

import uuid

import aiohttp
import grpc
import pytest
from distribution.v1 import account_pb2, publish_pb2, publishing_service_pb2
from distribution.v1.publishing_service_pb2 import PublishTikTokVideoRequest
from google.protobuf import json_format

from tests.support.client import Stubs, connect, register
from tests.support.errors import rich_error
from tests.support.tracing import children, in_memory, named, one, recorded_text

TIKTOK = account_pb2.PLATFORM_TIKTOK
MiB = 1024 * 1024
CHUNK = 5 * MiB
GCS_VIDEO = "gs://demo-bucket/videos/clip.mp4"
# Served by the service's sandbox media host: a real MP4 of random pictures, about 10.6 MB
# (two chunks: 5 MiB, then the rest).
HOSTED_VIDEO = "https://videos.example.com/media/clip-noise-360x640-2s.mp4"


def two_chunks(size: int) -> list[list[int]]:
    """The chunks TikTok gets for a file of `size` bytes (between 2 and 3 chunks long)."""
    assert 2 * CHUNK <= size < 3 * CHUNK, size
    return [[0, CHUNK - 1, CHUNK], [CHUNK, size - 1, size - CHUNK]]


@pytest.fixture
async def stubs(start_service) -> Stubs:
    service = await start_service(media_fetch="sandbox", tiktok_upload_chunk_bytes=CHUNK, http_listen="127.0.0.1:0")
    channel = grpc.aio.insecure_channel(service.address)
    stubs = Stubs.on(channel)
    stubs.service = service  # type: ignore[attr-defined]
    yield stubs
    await channel.close()


async def account_id(stubs: Stubs, token: str = "tt-public-token") -> str:
    return (await connect(stubs.accounts, platform=TIKTOK, external_account_id="open-id-v", access_token=token)).id


async def publish(stubs: Stubs, **fields):
    return await stubs.publishing.PublishTikTokVideo(PublishTikTokVideoRequest(**fields), timeout=60)


async def test_a_gcs_video_is_pulled_and_published_direct(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, GCS_VIDEO)
    response = await publish(
        stubs, media_id=media_id, tiktok_account_id=await account_id(stubs), title="A walk 🍂",
        privacy_level=publish_pb2.PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS, disable_duet=True, disable_stitch=True,
        video_cover_timestamp_ms=1200, is_aigc=True, brand_organic_toggle=True,
    )
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.source == "PULL_FROM_URL"
    [post] = tiktok_sandbox.posts()
    assert post["publish_id"] == response.publish_id
    assert (post["media_type"], post["source"], post["post_mode"]) == ("VIDEO", "PULL_FROM_URL", "DIRECT_POST")
    assert post["video_url"] == "https://storage.googleapis.com/demo-bucket/videos/clip.mp4"
    assert (post["title"], post["privacy_level"]) == ("A walk 🍂", "MUTUAL_FOLLOW_FRIENDS")
    assert (post["disable_duet"], post["disable_stitch"], post["video_cover_timestamp_ms"], post["is_aigc"]) == (
        True, True, 1200, True)
    assert post["brand_organic_toggle"] is True
    record = (await stubs.publishing.GetPublish(publishing_service_pb2.GetPublishRequest(
        id=response.tiktok_publish_id))).publish
    assert record.kind == publish_pb2.PUBLISH_KIND_VIDEO
    assert record.tiktok_options.source == "PULL_FROM_URL"
    assert not record.HasField("tiktok_upload")


async def test_a_video_elsewhere_is_uploaded_in_tiktoks_chunks(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, HOSTED_VIDEO)
    response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs), title="Uploaded")
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.source == "FILE_UPLOAD"
    [post] = tiktok_sandbox.posts()
    size = post["video_size"]
    assert (post["source"], post["chunk_size"], post["total_chunk_count"]) == ("FILE_UPLOAD", CHUNK, 2)
    # The chunks TikTok got, in order: never more than a chunk at a time, the last one
    # absorbing the trailing bytes.
    assert post["chunks"] == two_chunks(size)
    assert tiktok_sandbox.calls.counts["upload"] == 2
    assert tiktok_sandbox.calls.counts["init"] == 1
    record = (await stubs.publishing.GetPublish(publishing_service_pb2.GetPublishRequest(
        id=response.tiktok_publish_id))).publish
    upload = record.tiktok_upload
    assert (upload.video_size, upload.chunk_size, upload.total_chunk_count) == (size, CHUNK, 2)
    assert (upload.chunks_acknowledged, upload.bytes_acknowledged) == (2, size)
    # The upload URL is a credential for the upload: never shown.
    assert "upload_id" not in json_format.MessageToJson(record)


async def test_an_inbox_video_is_delivered_to_the_inbox(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, HOSTED_VIDEO)
    response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs),
                             post_mode=publish_pb2.POST_MODE_INBOX)
    assert response.state == publish_pb2.PUBLISH_STATE_DELIVERED_TO_INBOX
    [post] = tiktok_sandbox.posts()
    assert (post["post_mode"], post["privacy_level"], post["source"]) == ("MEDIA_UPLOAD", None, "FILE_UPLOAD")
    assert tiktok_sandbox.calls.counts.get("creator_info", 0) == 0


async def test_a_chunk_dropped_mid_way_is_sent_again_and_the_post_made_once(stubs, tiktok_sandbox) -> None:
    # Every other PUT fails: a connection reset before it is read, or a 5xx after.
    tiktok_sandbox.faults.set("upload", "reset", 0.5)
    [media_id] = await register(stubs.media, HOSTED_VIDEO)
    response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    [post] = tiktok_sandbox.posts()
    assert post["chunks"] == two_chunks(post["video_size"])
    assert tiktok_sandbox.faults.injected[("upload", "reset")] >= 1
    assert tiktok_sandbox.calls.counts["upload"] == 2 + tiktok_sandbox.faults.injected[("upload", "reset")]
    assert tiktok_sandbox.calls.counts["init"] == 1


async def test_a_connection_dropped_mid_chunk_sends_that_chunk_again(stubs, tiktok_sandbox) -> None:
    tiktok_sandbox.config.upload_drop_at_chunk = 2
    [media_id] = await register(stubs.media, HOSTED_VIDEO)
    response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    [post] = tiktok_sandbox.posts()
    # The dropped half chunk was never received; chunk 2 came again, whole, and chunk 1 once.
    assert post["chunks"] == two_chunks(post["video_size"])
    assert tiktok_sandbox.calls.counts["upload"] == 3
    assert tiktok_sandbox.calls.counts["init"] == 1


async def test_every_refusal_names_its_field(stubs, tiktok_sandbox) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(stubs, media_id="nope", tiktok_account_id=await account_id(stubs), title="x" * 2201,
                      brand_content_toggle=True)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = list(rich_error(info.value).violations)
    assert fields == ["media_id", "title", "brand_content_toggle", "privacy_level"]
    assert tiktok_sandbox.calls.counts.get("init", 0) == 0


async def test_an_image_is_no_video(stubs) -> None:
    [media_id] = await register(stubs.media, "gs://demo-bucket/photos/photo.jpg")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(rich_error(info.value).violations) == ["media_id"]


async def test_a_privacy_level_the_creator_may_not_use_is_refused_before_init(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, GCS_VIDEO)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs, "tt-private-token"),
                      privacy_level=publish_pb2.PRIVACY_LEVEL_PUBLIC_TO_EVERYONE)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert list(rich_error(info.value).violations) == ["privacy_level"]
    assert tiktok_sandbox.calls.counts.get("init", 0) == 0


async def test_validate_only_answers_the_source_and_posts_nothing(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, HOSTED_VIDEO)
    response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs), validate_only=True)
    assert (response.state, response.tiktok_publish_id, response.source) == (0, "", "FILE_UPLOAD")
    assert response.media.id == media_id
    assert tiktok_sandbox.posts() == []
    assert tiktok_sandbox.calls.counts.get("upload", 0) == 0


async def test_the_same_request_id_gets_the_same_publish(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, GCS_VIDEO)
    fields = {"media_id": media_id, "tiktok_account_id": await account_id(stubs), "request_id": str(uuid.uuid4())}
    first = await publish(stubs, **fields)
    again = await publish(stubs, **fields)
    assert again.tiktok_publish_id == first.tiktok_publish_id
    assert len(tiktok_sandbox.posts()) == 1


async def test_the_http_route_takes_camel_case(stubs, tiktok_sandbox) -> None:
    [media_id] = await register(stubs.media, GCS_VIDEO)
    body = {"mediaId": media_id, "tiktokAccountId": await account_id(stubs), "title": "Over HTTP",
            "privacyLevel": "PRIVACY_LEVEL_SELF_ONLY", "postMode": "POST_MODE_DIRECT", "disableDuet": True}
    url = f"{stubs.service.http.origin}/api/v1/publish/tiktok/video"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as answer:
        assert answer.status == 200, await answer.text()
        payload = await answer.json()
    assert payload["state"] == "PUBLISH_STATE_PUBLISHED"
    assert {"tiktokPublishId", "publishId", "source"} <= set(payload)
    assert tiktok_sandbox.posts()[0]["disable_duet"] is True


async def test_each_chunk_put_is_a_span_of_the_upload_step_naming_no_url(start_service, tiktok_sandbox) -> None:
    tracing, exporter = in_memory()
    service = await start_service(adapters={"tracing": tracing}, media_fetch="sandbox",
                                  tiktok_upload_chunk_bytes=CHUNK)
    async with grpc.aio.insecure_channel(service.address) as channel:
        stubs = Stubs.on(channel)
        [media_id] = await register(stubs.media, HOSTED_VIDEO)
        response = await publish(stubs, media_id=media_id, tiktok_account_id=await account_id(stubs))
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    spans = exporter.get_finished_spans()
    step = one(spans, "step upload")
    puts = [s for s in children(spans, step) if s.name == "tiktok upload"]
    assert [(s.attributes["distribution.upload.first_byte"], s.attributes["http.response.status_code"])
            for s in puts] == [(0, 206), (CHUNK, 201)]
    assert named(spans, "step init") and named(spans, "step wait_status")
    upload_id = tiktok_sandbox.publishes.by_id[response.publish_id].upload_id
    assert upload_id not in recorded_text(spans)
