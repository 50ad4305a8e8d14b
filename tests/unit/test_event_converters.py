"""The workspace event stream's filter and the webhook messages
(server/grpc_api/event_converters.py): every bad state named at once by its index, a
filter longer than every state refused whole, a delivery's times shown only when they
mean something, a webhook's failing run and rotation overlap, UpdateWebhook's mask read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from distribution.v1 import account_pb2, publish_pb2, publishing_service_pb2, webhook_pb2, webhook_service_pb2
from google.protobuf import field_mask_pb2

from server.domain.account_events import reauth_required
from server.domain.errors import InvalidArgument
from server.domain.events import EventPosition, WorkspaceEvent
from server.domain.models import Account, AccountState, Platform, PublishState
from server.domain.webhooks import Delivery, DeliveryState, EventKind, Webhook, WebhookState
from server.grpc_api.event_converters import (
    MAX_STATES,
    delivery_out,
    event_filter,
    stream_item_out,
    webhook_out,
    webhook_update_in,
)
from server.services.events import StreamItem

WatchRequest = publishing_service_pb2.WatchPublishesRequest
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_filter_is_read_from_the_request() -> None:
    request = WatchRequest(account_id="acc_1", platform=account_pb2.PLATFORM_TIKTOK, states=[
        publish_pb2.PUBLISH_STATE_FAILED, publish_pb2.PUBLISH_STATE_PUBLISHED, publish_pb2.PUBLISH_STATE_FAILED,
    ])
    found = event_filter(request)
    assert (found.account_id, found.platform) == ("acc_1", Platform.TIKTOK)
    assert found.states == frozenset({PublishState.FAILED, PublishState.PUBLISHED})


def test_every_bad_state_is_named_at_once_by_its_index() -> None:
    request = WatchRequest(states=[publish_pb2.PUBLISH_STATE_FAILED, publish_pb2.PUBLISH_STATE_UNSPECIFIED, 999])
    with pytest.raises(InvalidArgument) as caught:
        event_filter(request)
    fields = [v.field for v in caught.value.field_violations]
    assert fields == ["states[1]", "states[2]"]
    assert caught.value.field_violations[0].description == "must be a state, not PUBLISH_STATE_UNSPECIFIED"


def test_more_states_than_a_filter_can_sensibly_name_are_refused_whole() -> None:
    request = WatchRequest(states=[publish_pb2.PUBLISH_STATE_FAILED] * (MAX_STATES + 1))
    with pytest.raises(InvalidArgument) as caught:
        event_filter(request)
    [violation] = caught.value.field_violations  # one violation, not one per entry
    assert violation.field == "states"
    assert violation.description == f"names each state at most once: at most {MAX_STATES} entries; got {MAX_STATES + 1}"


def delivery(state: DeliveryState, **times: datetime | None) -> Delivery:
    return Delivery(
        id="dlv_1", webhook_id="wh_1", workspace_id="w", event_id="ev_1", event_type="publish.state_changed",
        publish_id="pub_1", body="{}", state=state, attempts=2, created_at=T0, **times,  # type: ignore[arg-type]
    )


def test_a_pending_delivery_shows_when_it_is_tried_next_and_when_it_was_last_tried() -> None:
    message = delivery_out(delivery(DeliveryState.PENDING, next_attempt_at=T0.replace(minute=5),
                                    last_attempt_at=T0.replace(minute=1)))
    assert message.state == webhook_pb2.WEBHOOK_DELIVERY_STATE_PENDING
    assert message.next_attempt_time.ToDatetime(UTC) == T0.replace(minute=5)
    assert message.last_attempt_time.ToDatetime(UTC) == T0.replace(minute=1)


def test_a_finished_delivery_has_no_next_attempt_and_one_never_tried_no_last_attempt() -> None:
    failed = delivery_out(delivery(DeliveryState.FAILED, next_attempt_at=T0, last_attempt_at=T0))
    assert not failed.HasField("next_attempt_time")  # a stale schedule is not shown
    assert failed.HasField("last_attempt_time")
    fresh = delivery_out(delivery(DeliveryState.PENDING, next_attempt_at=T0))
    assert fresh.HasField("next_attempt_time") and not fresh.HasField("last_attempt_time")


def test_an_abandoned_redelivery_shows_both() -> None:
    message = delivery_out(dataclasses.replace(delivery(DeliveryState.ABANDONED), redelivery=True))
    assert (message.state, message.redelivery) == (webhook_pb2.WEBHOOK_DELIVERY_STATE_ABANDONED, True)


def test_a_webhook_shows_enabled_its_failing_run_and_its_rotation_overlap() -> None:
    failing = Webhook(
        id="wh_1", workspace_id="w", url="https://hooks.example.com", event_kinds=frozenset(), description="",
        created_at=T0, consecutive_failures=3, failing_since=T0.replace(minute=2),
        previous_secret_expires_at=T0.replace(day=2),
    )
    message = webhook_out(failing)
    assert message.enabled and message.state == webhook_pb2.WEBHOOK_STATE_ENABLED
    assert message.failing_since_time.ToDatetime(UTC) == T0.replace(minute=2)
    assert message.previous_secret_expire_time.ToDatetime(UTC) == T0.replace(day=2)
    off = webhook_out(dataclasses.replace(failing, state=WebhookState.DISABLED, failing_since=None,
                                          previous_secret_expires_at=None))
    assert not off.enabled
    assert not off.HasField("failing_since_time") and not off.HasField("previous_secret_expire_time")


def test_an_update_request_is_read_with_its_mask_and_unknown_kinds_left_for_the_use_case() -> None:
    request = webhook_service_pb2.UpdateWebhookRequest(
        id="wh_1", webhook=webhook_pb2.Webhook(url="https://x.example.com", event_kinds=[1, 99], enabled=True),
        update_mask=field_mask_pb2.FieldMask(paths=["url", "event_kinds", "enabled"]),
    )
    update = webhook_update_in(request)
    assert update.paths == ["url", "event_kinds", "enabled"]
    assert (update.url, list(update.event_kinds), update.enabled) == (
        "https://x.example.com", [EventKind.PUBLISH_STATE_CHANGED, None], True
    )


def test_event_kinds_filter_the_stream_and_bad_ones_are_named_with_the_states() -> None:
    found = event_filter(WatchRequest(event_kinds=[
        webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED, webhook_pb2.WEBHOOK_EVENT_KIND_PUBLISH_UPDATED,
    ]))
    assert found.kinds == frozenset({EventKind.ACCOUNT_REAUTH_REQUIRED, EventKind.PUBLISH_UPDATED})
    with pytest.raises(InvalidArgument) as caught:
        event_filter(WatchRequest(states=[999], event_kinds=[webhook_pb2.WEBHOOK_EVENT_KIND_UNSPECIFIED, 77]))
    assert [v.field for v in caught.value.field_violations] == ["states[0]", "event_kinds[0]", "event_kinds[1]"]
    assert "WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED" in caught.value.field_violations[1].description


def test_an_account_event_is_sent_with_its_account_and_no_publish() -> None:
    account = Account(
        id="acc", workspace_id="w", platform=Platform.TIKTOK, external_account_id="oid", username="u",
        state=AccountState.NEEDS_RECONNECT, has_refresh_token=True, access_token_expires_at=None,
        refresh_token_expires_at=None, created_at=T0, updated_at=T0,
    )
    event = reauth_required("TikTok refused to refresh the token", T0, "invalid_grant")
    item = StreamItem(WorkspaceEvent(EventPosition(0, 7), "", "acc", Platform.TIKTOK, None, event), None, account,
                      "evt_x")
    message = stream_item_out(item)
    assert not message.HasField("event") and not message.HasField("publish")
    assert message.event_id == "evt_x"
    assert message.account_event.kind == webhook_pb2.WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED
    assert (message.account_event.account_id, message.account_event.platform) == ("acc", account_pb2.PLATFORM_TIKTOK)
    assert message.account_event.time.ToDatetime(tzinfo=UTC) == T0
    assert dict(message.account_event.details) == {
        "reason": "TikTok refused to refresh the token", "platform_code": "invalid_grant",
    }
    assert message.account.state == account_pb2.ACCOUNT_STATE_NEEDS_RECONNECT
