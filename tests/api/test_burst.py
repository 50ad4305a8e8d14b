"""A burst of calls larger than grpc core's default pending-call limit loses nothing."""

from __future__ import annotations

import asyncio

import grpc
from distribution.v1 import media_service_pb2


async def test_a_burst_of_2000_calls_loses_none(start_service):
    service = await start_service(max_concurrent_per_caller=5000)
    async with grpc.aio.insecure_channel(service.address) as channel:
        call = channel.unary_unary(
            "/distribution.v1.MediaService/ListMedia",
            request_serializer=media_service_pb2.ListMediaRequest.SerializeToString,
            response_deserializer=media_service_pb2.ListMediaResponse.FromString,
        )
        results = await asyncio.gather(
            *(call(media_service_pb2.ListMediaRequest(page_size=1), timeout=120) for _ in range(2000)),
            return_exceptions=True,
        )
    errors = [r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert errors == []
