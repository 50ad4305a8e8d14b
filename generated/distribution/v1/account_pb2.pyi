import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_INSTAGRAM: _ClassVar[Platform]
    PLATFORM_TIKTOK: _ClassVar[Platform]

class AccountState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATE_UNSPECIFIED: _ClassVar[AccountState]
    ACCOUNT_STATE_ACTIVE: _ClassVar[AccountState]
    ACCOUNT_STATE_NEEDS_RECONNECT: _ClassVar[AccountState]
    ACCOUNT_STATE_DISCONNECTED: _ClassVar[AccountState]

class AccountHealthState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_HEALTH_STATE_UNSPECIFIED: _ClassVar[AccountHealthState]
    ACCOUNT_HEALTH_STATE_HEALTHY: _ClassVar[AccountHealthState]
    ACCOUNT_HEALTH_STATE_EXPIRING: _ClassVar[AccountHealthState]
    ACCOUNT_HEALTH_STATE_QUOTA_LOW: _ClassVar[AccountHealthState]
    ACCOUNT_HEALTH_STATE_NEEDS_RECONNECT: _ClassVar[AccountHealthState]
PLATFORM_UNSPECIFIED: Platform
PLATFORM_INSTAGRAM: Platform
PLATFORM_TIKTOK: Platform
ACCOUNT_STATE_UNSPECIFIED: AccountState
ACCOUNT_STATE_ACTIVE: AccountState
ACCOUNT_STATE_NEEDS_RECONNECT: AccountState
ACCOUNT_STATE_DISCONNECTED: AccountState
ACCOUNT_HEALTH_STATE_UNSPECIFIED: AccountHealthState
ACCOUNT_HEALTH_STATE_HEALTHY: AccountHealthState
ACCOUNT_HEALTH_STATE_EXPIRING: AccountHealthState
ACCOUNT_HEALTH_STATE_QUOTA_LOW: AccountHealthState
ACCOUNT_HEALTH_STATE_NEEDS_RECONNECT: AccountHealthState

class AccountFailure(_message.Message):
    __slots__ = ("platform_code", "message", "time")
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    platform_code: str
    message: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, platform_code: _Optional[str] = ..., message: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "platform", "external_account_id", "username", "state", "access_token_expire_time", "refresh_token_expire_time", "has_refresh_token", "create_time", "update_time", "health_state", "health_check_time", "instagram_quota_usage", "instagram_quota_total", "instagram_quota_read_time", "tiktok_can_post", "tiktok_cannot_post_reason", "tiktok_privacy_level_options", "tiktok_comment_disabled", "tiktok_max_video_post_duration_sec", "last_failure")
    ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    HAS_REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATE_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_QUOTA_USAGE_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_QUOTA_TOTAL_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_QUOTA_READ_TIME_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_CAN_POST_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_CANNOT_POST_REASON_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_PRIVACY_LEVEL_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_COMMENT_DISABLED_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_MAX_VIDEO_POST_DURATION_SEC_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    id: str
    platform: Platform
    external_account_id: str
    username: str
    state: AccountState
    access_token_expire_time: _timestamp_pb2.Timestamp
    refresh_token_expire_time: _timestamp_pb2.Timestamp
    has_refresh_token: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    health_state: AccountHealthState
    health_check_time: _timestamp_pb2.Timestamp
    instagram_quota_usage: int
    instagram_quota_total: int
    instagram_quota_read_time: _timestamp_pb2.Timestamp
    tiktok_can_post: bool
    tiktok_cannot_post_reason: str
    tiktok_privacy_level_options: _containers.RepeatedScalarFieldContainer[str]
    tiktok_comment_disabled: bool
    tiktok_max_video_post_duration_sec: int
    last_failure: AccountFailure
    def __init__(self, id: _Optional[str] = ..., platform: _Optional[_Union[Platform, str]] = ..., external_account_id: _Optional[str] = ..., username: _Optional[str] = ..., state: _Optional[_Union[AccountState, str]] = ..., access_token_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refresh_token_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., has_refresh_token: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., health_state: _Optional[_Union[AccountHealthState, str]] = ..., health_check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., instagram_quota_usage: _Optional[int] = ..., instagram_quota_total: _Optional[int] = ..., instagram_quota_read_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tiktok_can_post: _Optional[bool] = ..., tiktok_cannot_post_reason: _Optional[str] = ..., tiktok_privacy_level_options: _Optional[_Iterable[str]] = ..., tiktok_comment_disabled: _Optional[bool] = ..., tiktok_max_video_post_duration_sec: _Optional[int] = ..., last_failure: _Optional[_Union[AccountFailure, _Mapping]] = ...) -> None: ...
