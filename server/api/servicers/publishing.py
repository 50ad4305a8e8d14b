"""PublishingService."""

from __future__ import annotations

import grpc
from distribution.v1 import publishing_service_pb2 as pb
from distribution.v1 import publishing_service_pb2_grpc

from server.api import converters
from server.api.caller import workspace_of
from server.domain.publishing import Publisher


class PublishingServicer(publishing_service_pb2_grpc.PublishingServiceServicer):
    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def PublishInstagramCarousel(
        self, request: pb.PublishInstagramCarouselRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishInstagramCarouselResponse:
        publish = await self._publisher.publish_instagram_carousel(
            workspace_of(context), converters.instagram_carousel(request)
        )
        return converters.instagram_carousel_out(publish)

    async def PublishTikTokCarousel(
        self, request: pb.PublishTikTokCarouselRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishTikTokCarouselResponse:
        publish = await self._publisher.publish_tiktok_carousel(
            workspace_of(context), converters.tiktok_carousel(request)
        )
        return converters.tiktok_carousel_out(publish)
