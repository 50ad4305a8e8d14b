"""WebhookService."""

from __future__ import annotations

from datetime import timedelta

import grpc
from distribution.v1 import webhook_service_pb2 as pb
from distribution.v1 import webhook_service_pb2_grpc

from server.domain.errors import FailedPrecondition
from server.grpc_api import event_converters
from server.grpc_api.caller import workspace_of
from server.grpc_api.converters import timestamp_in
from server.services.webhooks import Webhooks


class WebhookServicer(webhook_service_pb2_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: Webhooks | None) -> None:
        self._webhooks = webhooks

    def _use_cases(self) -> Webhooks:
        if self._webhooks is None:
            raise FailedPrecondition(reason="WEBHOOKS_OFF", message="This service runs without webhook delivery")
        return self._webhooks

    async def CreateWebhook(
        self, request: pb.CreateWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateWebhookResponse:
        webhook, secret = await self._use_cases().create(
            workspace_of(context), request.url, event_converters.event_kinds_in(list(request.event_kinds)),
            request.description,
        )
        return pb.CreateWebhookResponse(webhook=event_converters.webhook_out(webhook), secret=secret)

    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWebhooksResponse:
        page = await self._use_cases().list_page(workspace_of(context), request.page_size, request.page_token)
        return pb.ListWebhooksResponse(
            webhooks=[event_converters.webhook_out(w) for w in page.items], next_page_token=page.next_page_token
        )

    async def GetWebhook(
        self, request: pb.GetWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetWebhookResponse:
        webhook = await self._use_cases().get(workspace_of(context), request.id)
        return pb.GetWebhookResponse(webhook=event_converters.webhook_out(webhook))

    async def UpdateWebhook(
        self, request: pb.UpdateWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateWebhookResponse:
        webhook = await self._use_cases().update(
            workspace_of(context), request.id, event_converters.webhook_update_in(request)
        )
        return pb.UpdateWebhookResponse(webhook=event_converters.webhook_out(webhook))

    async def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteWebhookResponse:
        await self._use_cases().delete(workspace_of(context), request.id)
        return pb.DeleteWebhookResponse()

    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWebhookDeliveriesResponse:
        page = await self._use_cases().deliveries(
            workspace_of(context), request.webhook_id, request.page_size, request.page_token
        )
        return pb.ListWebhookDeliveriesResponse(
            deliveries=[event_converters.delivery_out(d) for d in page.items], next_page_token=page.next_page_token
        )

    async def RedeliverWebhookEvents(
        self, request: pb.RedeliverWebhookEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RedeliverWebhookEventsResponse:
        since = timestamp_in(request.since_time, request.HasField("since_time"), "since_time")
        done = await self._use_cases().redeliver(workspace_of(context), request.id, since, request.delivery_id)
        response = pb.RedeliverWebhookEventsResponse(queued_count=done.count)
        if done.delivery is not None:
            response.delivery.CopyFrom(event_converters.delivery_out(done.delivery))
        return response

    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateWebhookSecretResponse:
        webhook, secret = await self._use_cases().rotate_secret(workspace_of(context), request.id)
        return pb.RotateWebhookSecretResponse(webhook=event_converters.webhook_out(webhook), secret=secret)

    async def SendTestWebhookEvent(
        self, request: pb.SendTestWebhookEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendTestWebhookEventResponse:
        outcome = await self._use_cases().send_test(workspace_of(context), request.id)
        attempt = outcome.attempt
        response = pb.SendTestWebhookEventResponse(
            event_id=outcome.event_id, delivered=attempt.ok, status_code=attempt.status_code, error=attempt.error
        )
        response.duration.FromTimedelta(timedelta(seconds=attempt.seconds))
        return response
