"""MediaService."""

from __future__ import annotations

import grpc
from distribution.v1 import media_service_pb2 as pb
from distribution.v1 import media_service_pb2_grpc

from server.grpc_api import converters
from server.grpc_api.caller import workspace_of
from server.services.media import MediaLibrary


class MediaServicer(media_service_pb2_grpc.MediaServiceServicer):
    def __init__(self, library: MediaLibrary) -> None:
        self._library = library

    async def RegisterMedia(
        self, request: pb.RegisterMediaRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterMediaResponse:
        media = await self._library.register(workspace_of(context), converters.media_draft(request))
        return pb.RegisterMediaResponse(media=converters.media_out(media))

    async def GetMedia(self, request: pb.GetMediaRequest, context: grpc.aio.ServicerContext) -> pb.GetMediaResponse:
        media = await self._library.get(workspace_of(context), request.id)
        return pb.GetMediaResponse(media=converters.media_out(media))

    async def ListMedia(self, request: pb.ListMediaRequest, context: grpc.aio.ServicerContext) -> pb.ListMediaResponse:
        page = await self._library.list_page(workspace_of(context), request.page_size, request.page_token)
        return pb.ListMediaResponse(
            media=[converters.media_out(m) for m in page.items], next_page_token=page.next_page_token
        )
