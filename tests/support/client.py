"""The gRPC calls tests share: stubs on a channel, connect an account, register media."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2_grpc,
)

INSTAGRAM_USER_ID = "17841400000000001"
# The services of the contract, as health and reflection name them.
APP_SERVICES = (
    "distribution.v1.AccountService",
    "distribution.v1.MediaService",
    "distribution.v1.PublishingService",
    "distribution.v1.WebhookService",
)


@dataclass
class Stubs:
    accounts: account_service_pb2_grpc.AccountServiceStub
    media: media_service_pb2_grpc.MediaServiceStub
    publishing: publishing_service_pb2_grpc.PublishingServiceStub

    def __iter__(self) -> Iterator[Any]:
        """accounts, media, publishing = Stubs.on(channel)"""
        return iter((self.accounts, self.media, self.publishing))

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            account_service_pb2_grpc.AccountServiceStub(channel),
            media_service_pb2_grpc.MediaServiceStub(channel),
            publishing_service_pb2_grpc.PublishingServiceStub(channel),
        )


async def connect(
    accounts: account_service_pb2_grpc.AccountServiceStub,
    platform: int = account_pb2.PLATFORM_INSTAGRAM,
    external_account_id: str = INSTAGRAM_USER_ID,
    access_token: str = "sandbox-token",
    **extra: Any,
) -> account_pb2.Account:
    response = await accounts.ConnectAccount(
        account_service_pb2.ConnectAccountRequest(
            platform=platform,
            external_account_id=external_account_id,
            username="demo",
            access_token=access_token,
            **extra,
        )
    )
    return response.account


async def register(media: media_service_pb2_grpc.MediaServiceStub, *urls: str) -> list[str]:
    ids = []
    for url in urls:
        response = await media.RegisterMedia(media_service_pb2.RegisterMediaRequest(url=url))
        ids.append(response.media.id)
    return ids


def images(n: int, prefix: str = "gs://demo-bucket/carousel/photo", ext: str = "jpg") -> list[str]:
    """`n` image URLs the emulators accept (GCS-hosted, so TikTok may pull them)."""
    return [f"{prefix}-{i}.{ext}" for i in range(n)]
