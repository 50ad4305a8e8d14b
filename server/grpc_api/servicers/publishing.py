"""PublishingService."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from distribution.v1 import publishing_service_pb2 as pb
from distribution.v1 import publishing_service_pb2_grpc

from server.grpc_api import converters, event_converters, video_converters
from server.grpc_api.caller import workspace_of
from server.grpc_api.rendered import RenderedPublishes
from server.services.events import WorkspaceEvents
from server.services.history import PublishHistory
from server.services.publishing import Publisher


class PublishingServicer(publishing_service_pb2_grpc.PublishingServiceServicer):
    def __init__(
        self, publisher: Publisher, history: PublishHistory, rendered: RenderedPublishes, events: WorkspaceEvents
    ) -> None:
        self._publisher = publisher
        self._history = history
        self._rendered = rendered
        self._events = events

    async def PublishInstagramCarousel(
        self, request: pb.PublishInstagramCarouselRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishInstagramCarouselResponse:
        command = converters.instagram_carousel(request)
        if request.validate_only:
            preview = await self._publisher.validate(workspace_of(context), command)
            return converters.instagram_preview_out(preview.publish, preview.media)
        publish = await self._publisher.publish(workspace_of(context), command)
        return converters.instagram_carousel_out(publish)

    async def PublishInstagramMedia(
        self, request: pb.PublishInstagramMediaRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishInstagramMediaResponse:
        command = converters.instagram_media(request)
        if request.validate_only:
            preview = await self._publisher.validate(workspace_of(context), command)
            return converters.instagram_media_preview_out(preview.publish, preview.media)
        publish = await self._publisher.publish(
            workspace_of(context), command, wait_at_most=answer_within(context.time_remaining())
        )
        return converters.instagram_media_out(publish)

    async def PublishTikTokCarousel(
        self, request: pb.PublishTikTokCarouselRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishTikTokCarouselResponse:
        command = converters.tiktok_carousel(request)
        if request.validate_only:
            preview = await self._publisher.validate(workspace_of(context), command)
            return converters.tiktok_preview_out(preview.publish, preview.media)
        publish = await self._publisher.publish(workspace_of(context), command)
        return converters.tiktok_carousel_out(publish)

    async def PublishTikTokVideo(
        self, request: pb.PublishTikTokVideoRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishTikTokVideoResponse:
        command = video_converters.tiktok_video(request)
        if request.validate_only:
            preview = await self._publisher.validate(workspace_of(context), command)
            return video_converters.tiktok_video_preview_out(preview.publish, preview.media)
        publish = await self._publisher.publish(workspace_of(context), command)
        return video_converters.tiktok_video_out(publish)

    async def GetPublish(
        self, request: pb.GetPublishRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPublishResponse:
        publish, events = await self._history.get(workspace_of(context), request.id)
        response = pb.GetPublishResponse()
        converters.timeline_out(publish, events, response)
        return response

    async def ListPublishes(
        self, request: pb.ListPublishesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPublishesResponse:
        workspace_id = workspace_of(context)
        page = await self._history.list_page(
            workspace_id, request.page_size, request.page_token, converters.publish_filter(request)
        )
        response = pb.ListPublishesResponse(next_page_token=page.next_page_token)
        await self._rendered.fill(
            response.publishes, page.items, lambda missing: self._history.records(workspace_id, missing)
        )
        return response

    async def CancelPublish(
        self, request: pb.CancelPublishRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelPublishResponse:
        publish = await self._publisher.cancel(workspace_of(context), request.id)
        response = pb.CancelPublishResponse()
        converters.publish_out(publish, response.publish)
        return response

    async def UpdatePublishSchedule(
        self, request: pb.UpdatePublishScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdatePublishScheduleResponse:
        publish = await self._publisher.reschedule(
            workspace_of(context), request.id, converters.publish_time_in(request)
        )
        response = pb.UpdatePublishScheduleResponse()
        converters.publish_out(publish, response.publish)
        return response

    async def WatchPublish(
        self, request: pb.WatchPublishRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchPublishResponse]:
        async for publish, events in self._history.watch(workspace_of(context), request.id):
            response = pb.WatchPublishResponse()
            converters.timeline_out(publish, events, response)
            yield response

    async def WatchPublishes(
        self, request: pb.WatchPublishesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchPublishesResponse]:
        where = event_converters.event_filter(request)
        stream = await self._events.open(workspace_of(context), request.after_event_id, where)
        # The headers say "started": every event from here on is this stream's (a client may
        # wait for them before it makes the changes it wants to see).
        await context.send_initial_metadata(())
        async for item in stream:
            yield event_converters.stream_item_out(item)


def answer_within(time_remaining: float | None) -> float | None:
    """How long a call may wait for its publish so that it still answers before the caller's
    deadline (None: no deadline), leaving the answer a tenth of the time, at most a second."""
    if time_remaining is None:
        return None
    return max(time_remaining - min(1.0, time_remaining / 10), 0.0)
