"""PublishTikTokVideo on fakes (server/services/tiktok_video.py and
server/services/workflow/tiktok_video.py): a GCS video is pulled, any other is uploaded in
TikTok's chunks; init is sent once; each acknowledged chunk is saved and an interrupted
upload resumes after the last one; the request's refusals name their fields."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.domain.changes import PublishChange, SetTo
from server.domain.commands import TikTokVideo
from server.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from server.domain.models import Account, Media, MediaKind, PublishKind, PublishState, Storage, VideoFacts
from server.domain.options import TikTokOptions
from server.domain.platforms import VideoPost
from server.domain.tiktok_video import TikTokUpload
from server.services.tiktok_video import TikTokVideoPolicy, cover_violations
from tests.fakes import TikTokFailure
from tests.fakes.tracer import RecordingTracer
from tests.unit.conftest import World, make_world
from tests.unit.helpers import error_of

MiB = 1024 * 1024
GCS_VIDEO = "gs://bucket/clip.mp4"
OTHER_VIDEO = "https://videos.example.com/clip.mp4"


async def video_request(world: World, url: str = GCS_VIDEO, account: Account | None = None, **fields: Any) -> Any:
    account = account or await world.tiktok_account()
    media_id = (await world.images(1, url=url))[0]
    return TikTokVideo(media_ids=[media_id], account_id=account.id, **fields)


async def test_a_gcs_video_is_pulled_by_tiktok_and_published(world: World) -> None:
    request = await video_request(
        world, caption="Autumn walk", privacy_level="MUTUAL_FOLLOW_FRIENDS", disable_duet=True,
        video_cover_timestamp_ms=1500, is_aigc=True,
    )
    publish = await world.publish(request)
    assert publish.state == PublishState.PUBLISHED
    assert publish.kind == PublishKind.VIDEO
    assert publish.tiktok_publish_id == "v_pub_1"
    assert publish.tiktok_upload is None
    assert world.tiktok.methods() == ["creator_info", "init_video_post", "fetch_status"]
    assert world.tiktok.videos["v_pub_1"] == VideoPost(
        post_mode="DIRECT_POST", source="PULL_FROM_URL", video_url="https://storage.googleapis.com/bucket/clip.mp4",
        title="Autumn walk", privacy_level="MUTUAL_FOLLOW_FRIENDS", disable_duet=True,
        video_cover_timestamp_ms=1500, is_aigc=True,
    )
    assert isinstance(publish.options, TikTokOptions)
    assert (publish.options.source, publish.options.max_video_post_duration_sec) == ("PULL_FROM_URL", 600)
    assert await world.timeline(publish.id) == [
        "CREATED", "PROCESSING_STARTED", "TIKTOK_INIT_SENT", "TIKTOK_INIT_ACCEPTED", "TIKTOK_STATUS", "PUBLISHED",
    ]
    assert world.media_bytes.reads == []


async def test_an_inbox_video_sends_the_video_alone_and_asks_no_creator_info(world: World) -> None:
    publish = await world.publish(await video_request(world, post_mode="INBOX", caption="ignored in the inbox"))
    assert publish.state == PublishState.DELIVERED_TO_INBOX
    post = world.tiktok.videos["v_pub_1"]
    assert (post.post_mode, post.privacy_level, post.source) == ("MEDIA_UPLOAD", None, "PULL_FROM_URL")
    assert "creator_info" not in world.tiktok.methods()


async def test_a_video_elsewhere_is_uploaded_in_tiktoks_chunks_each_saved(world: World) -> None:
    url = "https://videos.example.com/clip.mp4"
    world.media_bytes.sizes[url] = 23 * MiB
    publish = await world.publish(await video_request(world, OTHER_VIDEO))
    assert publish.state == PublishState.PUBLISHED
    post = world.tiktok.videos["v_pub_1"]
    # 10 MiB chunks by default: floor(23/10) = 2, the last taking the trailing 3 MiB.
    assert (post.source, post.video_size, post.chunk_size, post.total_chunk_count) == (
        "FILE_UPLOAD", 23 * MiB, 10 * MiB, 2)
    assert world.tiktok.chunks == [
        ("https://upload.tiktok.test/v_pub_1", 0, 10 * MiB - 1, 23 * MiB, 10 * MiB),
        ("https://upload.tiktok.test/v_pub_1", 10 * MiB, 23 * MiB - 1, 23 * MiB, 13 * MiB),
    ]
    # Streamed: never more than a read piece at a time, never the chunk whole.
    assert world.tiktok.largest_piece <= world.media_bytes.piece_bytes
    assert world.tiktok.methods() == ["creator_info", "init_video_post", "upload_chunk", "upload_chunk", "fetch_status"]
    assert publish.tiktok_upload is not None
    assert (publish.tiktok_upload.chunks_acknowledged, publish.tiktok_upload.bytes_acknowledged) == (2, 23 * MiB)
    assert publish.tiktok_upload.upload_url_expires_at == world.clock.now() + timedelta(hours=1)
    timeline = await world.timeline(publish.id)
    assert timeline.count("TIKTOK_CHUNK_UPLOADED") == 2


async def test_a_small_video_is_one_chunk_of_its_whole_size(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 3 * MiB
    await world.publish(await video_request(world, OTHER_VIDEO))
    post = world.tiktok.videos["v_pub_1"]
    assert (post.video_size, post.chunk_size, post.total_chunk_count) == (3 * MiB, 3 * MiB, 1)
    assert [c[1:3] for c in world.tiktok.chunks] == [(0, 3 * MiB - 1)]


async def test_a_chunk_whose_answer_is_lost_is_sent_again_alone(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 20 * MiB
    world.tiktok.script("upload_chunk", TikTokFailure.upload_refused(502))
    publish = await world.publish(await video_request(world, OTHER_VIDEO))
    assert publish.state == PublishState.PUBLISHED
    assert world.tiktok.count("init_video_post") == 1
    assert [(c.args["first"]) for c in world.tiktok.calls_to("upload_chunk")] == [0, 0, 10 * MiB]


async def test_an_expired_upload_url_fails_the_publish_without_a_second_init(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 20 * MiB
    world.tiktok.script("upload_chunk", TikTokFailure.upload_refused(403))
    with pytest.raises(FailedPrecondition) as caught:
        await world.publish(await video_request(world, OTHER_VIDEO))
    assert caught.value.reason == "TIKTOK_UPLOAD_URL_EXPIRED"
    publish = await world.only_publish()
    assert publish.state == PublishState.FAILED
    assert error_of(publish) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_UPLOAD_URL_EXPIRED"}
    assert publish.error is not None and publish.error.retryable
    assert world.tiktok.count("init_video_post") == 1
    assert "fetch_status" not in world.tiktok.methods()


async def test_an_interrupted_upload_resumes_after_its_last_acknowledged_chunk(world: World) -> None:
    """A run that stopped after chunk 1 of 3 was acknowledged (its record says so): the next
    run sends chunks 2 and 3 only, to the saved URL, and never init again."""
    world.media_bytes.sizes[OTHER_VIDEO] = 30 * MiB
    world.tiktok.statuses["v_pub_7"] = ["PROCESSING_UPLOAD", "PUBLISH_COMPLETE"]
    saved = TikTokUpload(30 * MiB, 10 * MiB, 3, 1, "https://upload.tiktok.test/v_pub_7",
                         world.clock.now() + timedelta(minutes=40))
    publish = await world.seed(await video_request(world, OTHER_VIDEO), tiktok_publish_id="v_pub_7",
                               tiktok_upload=saved)
    assert await world.services.runner.resume_unfinished() == 1
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.tiktok.methods() == ["upload_chunk", "upload_chunk", "fetch_status", "fetch_status"]
    assert [c[:3] for c in world.tiktok.chunks] == [
        ("https://upload.tiktok.test/v_pub_7", 10 * MiB, 20 * MiB - 1),
        ("https://upload.tiktok.test/v_pub_7", 20 * MiB, 30 * MiB - 1),
    ]
    assert world.media_bytes.reads == [(OTHER_VIDEO, 10 * MiB, 20 * MiB - 1), (OTHER_VIDEO, 20 * MiB, 30 * MiB - 1)]
    assert (await world.new_events(publish.id))[:3] == [
        "TIKTOK_UPLOAD_RESUMED", "TIKTOK_CHUNK_UPLOADED", "TIKTOK_CHUNK_UPLOADED",
    ]


async def test_an_upload_resumed_past_its_urls_hour_fails_without_sending(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 30 * MiB
    saved = TikTokUpload(30 * MiB, 10 * MiB, 3, 1, "https://upload.tiktok.test/v_pub_7",
                         world.clock.now() - timedelta(seconds=1))
    publish = await world.seed(await video_request(world, OTHER_VIDEO), tiktok_publish_id="v_pub_7",
                               tiktok_upload=saved)
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.FAILED
    assert error_of(final) == {"code": "FAILED_PRECONDITION", "reason": "TIKTOK_UPLOAD_URL_EXPIRED"}
    assert world.tiktok.calls == []


async def test_a_video_longer_than_the_creator_may_post_is_refused_before_init(world: World) -> None:
    world.tiktok.max_video_post_duration_sec = 60
    request = await video_request(world)
    media = (await world.store.media.get_many(world.workspace, request.media_ids))[request.media_ids[0]]
    long_video = _with_duration(media, 61_500)
    policy = _video_policy(world)
    with pytest.raises(FailedPrecondition) as caught:
        await policy.before_recording(
            await world.tiktok_account(), "tt-token", request, policy.options(request), media=[long_video]
        )
    assert caught.value.reason == "TIKTOK_VIDEO_TOO_LONG"
    assert [v.field for v in caught.value.field_violations] == ["media_id"]
    assert "init_video_post" not in world.tiktok.methods()


async def test_duet_and_stitch_are_sent_off_when_the_creator_turned_them_off(world: World) -> None:
    world.tiktok.duet_disabled = world.tiktok.stitch_disabled = True
    await world.publish(await video_request(world))
    post = world.tiktok.videos["v_pub_1"]
    assert (post.disable_duet, post.disable_stitch) == (True, True)


async def test_every_refusal_of_the_request_is_named_at_once(world: World) -> None:
    account = await world.tiktok_account()
    request = TikTokVideo(
        media_ids=["not-a-uuid"], account_id=account.id, caption="x" * 2201, video_cover_timestamp_ms=-1,
        brand_content_toggle=True,
    )
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(request)
    assert [v.field for v in caught.value.field_violations] == [
        "media_id", "title", "video_cover_timestamp_ms", "brand_content_toggle", "privacy_level",
    ]
    assert world.tiktok.calls == []


async def test_a_title_of_2200_utf16_units_is_taken(world: World) -> None:
    publish = await world.publish(await video_request(world, caption="😀" * 1100))
    assert world.tiktok.videos[publish.tiktok_publish_id or ""].title == "😀" * 1100


async def test_an_image_is_refused_as_the_video(world: World) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.publish(await video_request(world, url="gs://bucket/photo.jpg"))
    assert [(v.field, v.reason) for v in caught.value.field_violations] == [("media_id", "NOT_A_VIDEO")]


async def test_validate_only_records_nothing_and_sends_no_init(world: World) -> None:
    preview = await world.services.publisher.validate(world.workspace, await video_request(world))
    assert preview.publish.kind == PublishKind.VIDEO
    assert isinstance(preview.publish.options, TikTokOptions) and preview.publish.options.source == "PULL_FROM_URL"
    assert world.store.publishes.rows == {}
    assert world.tiktok.methods() == ["creator_info"]


async def test_the_same_request_id_answers_the_first_publish(world: World) -> None:
    request = await video_request(world, request_id="3d4c7c32-3b0c-4c55-9b8e-0c86a8f4b1a2")
    first = await world.publish(request)
    again = await world.publish(request)
    assert again.id == first.id
    assert world.tiktok.count("init_video_post") == 1


async def test_an_init_lost_in_flight_is_never_sent_again(world: World) -> None:
    world.tiktok.script("init_video_post", TikTokFailure.timed_out("init_video_post"))
    with pytest.raises(Exception):  # noqa: B017
        await world.publish(await video_request(world))
    publish = await world.only_publish()
    assert publish.state == PublishState.UNCONFIRMED
    assert world.tiktok.count("init_video_post") == 1


def test_the_upload_record_keeps_every_field() -> None:
    upload = TikTokUpload(30 * MiB, 10 * MiB, 3, 2, "https://u", None)
    assert TikTokUpload.from_dict(upload.to_dict()) == upload
    assert upload.bytes_acknowledged == 20 * MiB
    assert PublishChange(tiktok_upload=SetTo(upload)).values().__next__() == ("tiktok_upload", upload)


# --- helpers ---------------------------------------------------------------------------


def _video_policy(world: World) -> TikTokVideoPolicy:
    policies = world.services.publisher._policies
    policy = policies[TikTokVideo]
    assert isinstance(policy, TikTokVideoPolicy)
    return policy


def _with_duration(media: Any, duration_ms: int) -> Any:
    """The media with inspected video facts of this duration (the rest a video TikTok takes)."""
    facts = VideoFacts(container="mp4", duration_ms=duration_ms, width=1080, height=1920, frame_rate=30.0,
                       video_codec="h264", audio_codec="aac", size_bytes=1_000_000, bytes_read=4096)
    return dataclasses.replace(media, video=facts)


async def test_an_unknown_media_id_is_named_as_the_request_names_it(world: World) -> None:
    account = await world.tiktok_account()
    with pytest.raises(NotFound) as caught:
        await world.publish(TikTokVideo(media_ids=["6f1c1f0e-8a52-4e0e-9a55-3a1b2c3d4e5f"], account_id=account.id))
    assert caught.value.metadata["field"] == "media_id"
    assert "media_id (6f1c1f0e-8a52-4e0e-9a55-3a1b2c3d4e5f)" in caught.value.message


async def test_an_upload_init_lost_in_flight_fails_for_nothing_can_be_posted_without_the_bytes(world: World) -> None:
    """Unlike a pull, an upload's init posts nothing by itself: with its answer lost, TikTok
    never got the video, so the publish fails (retryable) instead of ending UNCONFIRMED."""
    world.media_bytes.sizes[OTHER_VIDEO] = 20 * MiB
    world.tiktok.script("init_video_post", TikTokFailure.timed_out("init_video_post"))
    with pytest.raises(Exception):  # noqa: B017
        await world.publish(await video_request(world, OTHER_VIDEO))
    publish = await world.only_publish()
    assert publish.state == PublishState.FAILED
    assert error_of(publish) == {"code": "UNAVAILABLE", "reason": "TIKTOK_UPLOAD_NOT_STARTED"}
    assert publish.error is not None and publish.error.retryable
    assert world.tiktok.count("init_video_post") == 1 and world.tiktok.count("upload_chunk") == 0


async def test_a_run_resumed_with_an_upload_init_in_flight_fails_without_sending_it(world: World) -> None:
    request = await video_request(world, OTHER_VIDEO)
    options = _video_policy(world).options(request)
    assert isinstance(options, TikTokOptions)
    publish = await world.seed(request, call_in_flight="tiktok_init")
    await world.store.publishes.apply(
        publish.id, PublishChange(options=dataclasses.replace(options, source="FILE_UPLOAD")), []
    )
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.FAILED
    assert error_of(final) == {"code": "UNAVAILABLE", "reason": "TIKTOK_UPLOAD_NOT_STARTED"}
    assert world.tiktok.calls == []


async def test_a_scheduled_video_is_checked_now_and_uploaded_at_its_time(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 12 * MiB
    publish = await world.publish(await video_request(world, OTHER_VIDEO, publish_time=world.at(120)))
    assert publish.state == PublishState.SCHEDULED
    assert isinstance(publish.options, TikTokOptions) and publish.options.source == "FILE_UPLOAD"
    assert world.tiktok.methods() == ["creator_info"]  # the creator's options checked now, nothing sent
    world.clock.advance(121)
    assert [p.id for p in await world.services.scheduler.run_due()] == [publish.id]
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.PUBLISHED
    assert world.tiktok.count("init_video_post") == 1 and world.tiktok.count("upload_chunk") == 1


def test_a_cover_frame_past_the_end_of_the_video_is_refused() -> None:
    request = TikTokVideo(media_ids=["m"], account_id="a", video_cover_timestamp_ms=5001)
    video = Media("m", "w", "gs://b/v.mp4", "video/mp4", MediaKind.VIDEO, Storage.GCS, 0, 0, 0, datetime.now(UTC))
    media = _with_duration(video, 5000)
    assert [v.field for v in cover_violations(request, media)] == ["video_cover_timestamp_ms"]
    assert cover_violations(dataclasses.replace(request, video_cover_timestamp_ms=5000), media) == []
    assert cover_violations(request, video) == []  # duration unknown


async def test_a_rejected_token_at_init_is_replaced_and_init_sent_once_more(world: World) -> None:
    world.tiktok.script("init_video_post", TikTokFailure.token_rejected("init_video_post"))
    publish = await world.publish(await video_request(world))
    assert publish.state == PublishState.PUBLISHED
    tokens = [c.args["token"] for c in world.tiktok.calls_to("init_video_post")]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert "TOKEN_REFRESHED" in await world.timeline(publish.id)


async def test_an_inbox_video_keeps_no_direct_post_option(world: World) -> None:
    publish = await world.publish(await video_request(
        world, post_mode="INBOX", is_aigc=True, disable_duet=True, video_cover_timestamp_ms=5))
    assert isinstance(publish.options, TikTokOptions)
    options = publish.options
    assert (options.is_aigc, options.disable_duet, options.video_cover_timestamp_ms) == (False, False, None)
    assert publish.options.to_record() == {"post_mode": "INBOX", "cover_index": 0, "description": "",
                                           "source": "PULL_FROM_URL", "is_aigc": False}


async def test_an_uploaded_videos_steps_are_spans_of_its_run() -> None:
    tracer = RecordingTracer()
    world = make_world(tracer=tracer)
    try:
        world.media_bytes.sizes[OTHER_VIDEO] = 12 * MiB
        publish = await world.publish(await video_request(world, OTHER_VIDEO))
        assert publish.state == PublishState.PUBLISHED
        [run] = tracer.named("publish.run")
        assert [s.name for s in tracer.spans if s.parent is run] == ["step init", "step upload", "step wait_status"]
    finally:
        await world.services.runner.stop(0)


async def test_an_upload_whose_file_changed_since_it_began_is_not_resumed(world: World) -> None:
    world.media_bytes.sizes[OTHER_VIDEO] = 31 * MiB  # init declared 30 MiB
    saved = TikTokUpload(30 * MiB, 10 * MiB, 3, 1, "https://upload.tiktok.test/v_pub_7",
                         world.clock.now() + timedelta(minutes=40))
    publish = await world.seed(await video_request(world, OTHER_VIDEO), tiktok_publish_id="v_pub_7",
                               tiktok_upload=saved)
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.FAILED
    assert error_of(final) == {"code": "FAILED_PRECONDITION", "reason": "MEDIA_CHANGED"}
    assert world.tiktok.calls == []


def test_a_video_tiktok_refuses_and_a_cover_past_its_end_are_named_in_one_answer(world: World) -> None:
    video = Media("m", "w", "gs://b/v.avi", "video/mp4", MediaKind.VIDEO, Storage.GCS, 0, 0, 0, datetime.now(UTC))
    takes = _with_duration(video, 5000)
    assert takes.video is not None
    avi = dataclasses.replace(takes, video=dataclasses.replace(takes.video, container="avi"))
    policy = _video_policy(world)
    past_the_end = TikTokVideo(media_ids=["m"], account_id="a", video_cover_timestamp_ms=5001)
    with pytest.raises(InvalidArgument) as both:
        policy.check_media([avi], past_the_end)
    assert [v.field for v in both.value.field_violations] == ["media_id", "video_cover_timestamp_ms"]
    assert both.value.reason == "MEDIA_NOT_ALLOWED"
    with pytest.raises(InvalidArgument) as cover_only:
        policy.check_media([takes], past_the_end)
    assert [v.field for v in cover_only.value.field_violations] == ["video_cover_timestamp_ms"]
    within = dataclasses.replace(past_the_end, video_cover_timestamp_ms=4000)
    policy.check_media([takes], within)  # a video TikTok takes, a cover inside it


async def test_a_video_whose_host_cannot_be_read_fails_before_init(world: World) -> None:
    world.media_bytes.unreadable.add(OTHER_VIDEO)
    with pytest.raises(FailedPrecondition) as caught:
        await world.publish(await video_request(world, OTHER_VIDEO))
    assert caught.value.reason == "MEDIA_UNREACHABLE"
    [publish] = world.store.publishes.rows.values()
    assert publish.state == PublishState.FAILED
    assert "init_video_post" not in world.tiktok.methods()


async def test_an_upload_whose_host_cannot_be_read_on_resume_fails_without_sending(world: World) -> None:
    world.media_bytes.unreadable.add(OTHER_VIDEO)
    saved = TikTokUpload(30 * MiB, 10 * MiB, 3, 1, "https://upload.tiktok.test/v_pub_7",
                         world.clock.now() + timedelta(minutes=40))
    publish = await world.seed(await video_request(world, OTHER_VIDEO), tiktok_publish_id="v_pub_7",
                               tiktok_upload=saved)
    await world.services.runner.resume_unfinished()
    final = await world.services.runner.wait(publish)
    assert final.state == PublishState.FAILED
    assert error_of(final)["reason"] == "MEDIA_UNREACHABLE"
    assert world.tiktok.calls == []
