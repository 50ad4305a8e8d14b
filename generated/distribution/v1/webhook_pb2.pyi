import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WebhookEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_EVENT_KIND_UNSPECIFIED: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_PUBLISH_STATE_CHANGED: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_PUBLISH_UPDATED: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_ACCOUNT_TOKEN_EXPIRING: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_ACCOUNT_QUOTA_LOW: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED: _ClassVar[WebhookEventKind]
    WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED: _ClassVar[WebhookEventKind]

class WebhookState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_STATE_UNSPECIFIED: _ClassVar[WebhookState]
    WEBHOOK_STATE_ENABLED: _ClassVar[WebhookState]
    WEBHOOK_STATE_DISABLED: _ClassVar[WebhookState]

class WebhookDeliveryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_DELIVERY_STATE_UNSPECIFIED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_PENDING: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_DELIVERED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_FAILED: _ClassVar[WebhookDeliveryState]
    WEBHOOK_DELIVERY_STATE_ABANDONED: _ClassVar[WebhookDeliveryState]
WEBHOOK_EVENT_KIND_UNSPECIFIED: WebhookEventKind
WEBHOOK_EVENT_KIND_PUBLISH_STATE_CHANGED: WebhookEventKind
WEBHOOK_EVENT_KIND_PUBLISH_UPDATED: WebhookEventKind
WEBHOOK_EVENT_KIND_ACCOUNT_TOKEN_EXPIRING: WebhookEventKind
WEBHOOK_EVENT_KIND_ACCOUNT_QUOTA_LOW: WebhookEventKind
WEBHOOK_EVENT_KIND_ACCOUNT_REAUTH_REQUIRED: WebhookEventKind
WEBHOOK_EVENT_KIND_ACCOUNT_RECONNECTED: WebhookEventKind
WEBHOOK_STATE_UNSPECIFIED: WebhookState
WEBHOOK_STATE_ENABLED: WebhookState
WEBHOOK_STATE_DISABLED: WebhookState
WEBHOOK_DELIVERY_STATE_UNSPECIFIED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_PENDING: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_DELIVERED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_FAILED: WebhookDeliveryState
WEBHOOK_DELIVERY_STATE_ABANDONED: WebhookDeliveryState

class Webhook(_message.Message):
    __slots__ = ("id", "url", "event_kinds", "description", "state", "disabled_reason", "consecutive_failures", "create_time", "enabled", "failing_since_time", "previous_secret_expire_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENT_KINDS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FAILING_SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SECRET_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    event_kinds: _containers.RepeatedScalarFieldContainer[WebhookEventKind]
    description: str
    state: WebhookState
    disabled_reason: str
    consecutive_failures: int
    create_time: _timestamp_pb2.Timestamp
    enabled: bool
    failing_since_time: _timestamp_pb2.Timestamp
    previous_secret_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., event_kinds: _Optional[_Iterable[_Union[WebhookEventKind, str]]] = ..., description: _Optional[str] = ..., state: _Optional[_Union[WebhookState, str]] = ..., disabled_reason: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., enabled: _Optional[bool] = ..., failing_since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_secret_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("id", "webhook_id", "event_id", "event_type", "publish_id", "state", "attempts", "last_status_code", "last_error", "next_attempt_time", "create_time", "last_attempt_time", "redelivery")
    ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    REDELIVERY_FIELD_NUMBER: _ClassVar[int]
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    publish_id: str
    state: WebhookDeliveryState
    attempts: int
    last_status_code: int
    last_error: str
    next_attempt_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    last_attempt_time: _timestamp_pb2.Timestamp
    redelivery: bool
    def __init__(self, id: _Optional[str] = ..., webhook_id: _Optional[str] = ..., event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., publish_id: _Optional[str] = ..., state: _Optional[_Union[WebhookDeliveryState, str]] = ..., attempts: _Optional[int] = ..., last_status_code: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., redelivery: _Optional[bool] = ...) -> None: ...
