"""Messages of the workspace event stream and of webhooks, to and from the domain."""

from __future__ import annotations

from distribution.v1 import account_pb2, publish_pb2, publishing_service_pb2, webhook_pb2, webhook_service_pb2

from server.domain.errors import FieldViolation, InvalidArgument, invalid
from server.domain.events import EventFilter
from server.domain.models import Platform, PublishState
from server.domain.webhooks import Delivery, DeliveryState, EventKind, Webhook, WebhookState, kinds_violations
from server.grpc_api.converters import _set_time, account_out, enum_in, enum_out, event_out, publish_out
from server.services.events import StreamItem
from server.services.webhooks import WebhookUpdate

# More than every state there is cannot be a sensible filter (and would make an error too big to send).
MAX_STATES = 32

_KINDS_IN = {
    webhook_pb2.WEBHOOK_EVENT_KIND_PUBLISH_STATE_CHANGED: EventKind.PUBLISH_STATE_CHANGED,
    webhook_pb2.WEBHOOK_EVENT_KIND_PUBLISH_UPDATED: EventKind.PUBLISH_UPDATED,
    webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_TOKEN_EXPIRING: EventKind.ACCOUNT_TOKEN_EXPIRING,
    webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_QUOTA_LOW: EventKind.ACCOUNT_QUOTA_LOW,
    webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED: EventKind.ACCOUNT_REAUTH_REQUIRED,
    webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED: EventKind.ACCOUNT_RECONNECTED,
}
_KINDS_OUT = {kind: number for number, kind in _KINDS_IN.items()}
_WEBHOOK_STATES = {
    WebhookState.ENABLED: webhook_pb2.WEBHOOK_STATE_ENABLED,
    WebhookState.DISABLED: webhook_pb2.WEBHOOK_STATE_DISABLED,
}
_DELIVERY_STATES = {
    DeliveryState.PENDING: webhook_pb2.WEBHOOK_DELIVERY_STATE_PENDING,
    DeliveryState.DELIVERED: webhook_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED,
    DeliveryState.FAILED: webhook_pb2.WEBHOOK_DELIVERY_STATE_FAILED,
    DeliveryState.ABANDONED: webhook_pb2.WEBHOOK_DELIVERY_STATE_ABANDONED,
}


def event_filter(req: publishing_service_pb2.WatchPublishesRequest) -> EventFilter:
    states: set[PublishState] = set()
    violations: list[FieldViolation] = []
    if len(req.states) > MAX_STATES:
        raise invalid([FieldViolation(
            "states", f"names each state at most once: at most {MAX_STATES} entries; got {len(req.states)}"
        )])
    for index, value in enumerate(req.states):
        field = f"states[{index}]"
        try:
            state = enum_in(publish_pb2.PublishState, value, "PUBLISH_STATE_", PublishState, field)
        except InvalidArgument as err:  # an unknown number: named with the others
            violations.extend(err.field_violations)
            continue
        if state is None:
            violations.append(FieldViolation(field, "must be a state, not PUBLISH_STATE_UNSPECIFIED"))
        else:
            states.add(state)
    kinds = event_kinds_in(list(req.event_kinds))
    violations.extend(kinds_violations("event_kinds", kinds))
    if violations:
        raise invalid(violations)
    return EventFilter(
        account_id=req.account_id or None,
        platform=enum_in(account_pb2.Platform, req.platform, "PLATFORM_", Platform, "platform"),
        states=frozenset(states),
        kinds=frozenset(k for k in kinds if k is not None),
    )


def stream_item_out(item: StreamItem) -> publishing_service_pb2.WatchPublishesResponse:
    """Exactly one of (event, publish) and (account_event, account) is set."""
    response = publishing_service_pb2.WatchPublishesResponse(event_id=item.event_id)
    workspace_event = item.event
    if workspace_event.event is not None and item.publish is not None:
        event_out(workspace_event.event, response.event)
        publish_out(item.publish, response.publish)
    account_event = workspace_event.account_event
    if account_event is not None and item.account is not None:
        out = response.account_event
        out.kind = _KINDS_OUT[account_event.kind]
        out.account_id = workspace_event.account_id
        out.platform = enum_out(account_pb2.Platform, "PLATFORM_", workspace_event.platform)
        _set_time(out.time, account_event.time)
        out.message = account_event.message
        out.details.update(account_event.details)
        response.account.CopyFrom(account_out(item.account))
    return response


def event_kinds_in(values: list[int]) -> list[EventKind | None]:
    """Each requested kind, None where the number is not a kind (the use case names it)."""
    return [_KINDS_IN.get(value) for value in values]  # type: ignore[call-overload]


def webhook_update_in(request: webhook_service_pb2.UpdateWebhookRequest) -> WebhookUpdate:
    """UpdateWebhook's mask and values; the use case checks them."""
    given = request.webhook
    return WebhookUpdate(
        paths=list(request.update_mask.paths), url=given.url, event_kinds=event_kinds_in(list(given.event_kinds)),
        description=given.description, enabled=given.enabled,
    )


def webhook_out(webhook: Webhook) -> webhook_pb2.Webhook:
    message = webhook_pb2.Webhook(
        id=webhook.id,
        url=webhook.url,
        event_kinds=sorted(_KINDS_OUT[k] for k in webhook.event_kinds),
        description=webhook.description,
        state=_WEBHOOK_STATES[webhook.state],
        disabled_reason=webhook.disabled_reason,
        consecutive_failures=webhook.consecutive_failures,
        enabled=webhook.state == WebhookState.ENABLED,
    )
    _set_time(message.create_time, webhook.created_at)
    if webhook.failing_since is not None:
        _set_time(message.failing_since_time, webhook.failing_since)
    if webhook.previous_secret_expires_at is not None:
        _set_time(message.previous_secret_expire_time, webhook.previous_secret_expires_at)
    return message


def delivery_out(delivery: Delivery) -> webhook_pb2.WebhookDelivery:
    message = webhook_pb2.WebhookDelivery(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        publish_id=delivery.publish_id,
        state=_DELIVERY_STATES[delivery.state],
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        redelivery=delivery.redelivery,
    )
    _set_time(message.create_time, delivery.created_at)
    if delivery.next_attempt_at is not None and delivery.state == DeliveryState.PENDING:
        _set_time(message.next_attempt_time, delivery.next_attempt_at)
    if delivery.last_attempt_at is not None:
        _set_time(message.last_attempt_time, delivery.last_attempt_at)
    return message
