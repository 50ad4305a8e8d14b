import datetime

from distribution.v1 import account_pb2 as _account_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PublishState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PUBLISH_STATE_UNSPECIFIED: _ClassVar[PublishState]
    PUBLISH_STATE_PENDING: _ClassVar[PublishState]
    PUBLISH_STATE_PROCESSING: _ClassVar[PublishState]
    PUBLISH_STATE_PUBLISHED: _ClassVar[PublishState]
    PUBLISH_STATE_DELIVERED_TO_INBOX: _ClassVar[PublishState]
    PUBLISH_STATE_FAILED: _ClassVar[PublishState]
    PUBLISH_STATE_UNCONFIRMED: _ClassVar[PublishState]
    PUBLISH_STATE_SCHEDULED: _ClassVar[PublishState]
    PUBLISH_STATE_CANCELLED: _ClassVar[PublishState]
    PUBLISH_STATE_MISSED: _ClassVar[PublishState]

class PrivacyLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIVACY_LEVEL_UNSPECIFIED: _ClassVar[PrivacyLevel]
    PRIVACY_LEVEL_PUBLIC_TO_EVERYONE: _ClassVar[PrivacyLevel]
    PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS: _ClassVar[PrivacyLevel]
    PRIVACY_LEVEL_FOLLOWER_OF_CREATOR: _ClassVar[PrivacyLevel]
    PRIVACY_LEVEL_SELF_ONLY: _ClassVar[PrivacyLevel]

class PostMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POST_MODE_UNSPECIFIED: _ClassVar[PostMode]
    POST_MODE_DIRECT: _ClassVar[PostMode]
    POST_MODE_INBOX: _ClassVar[PostMode]

class PublishKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PUBLISH_KIND_UNSPECIFIED: _ClassVar[PublishKind]
    PUBLISH_KIND_CAROUSEL: _ClassVar[PublishKind]
    PUBLISH_KIND_IMAGE: _ClassVar[PublishKind]
    PUBLISH_KIND_REEL: _ClassVar[PublishKind]
    PUBLISH_KIND_VIDEO: _ClassVar[PublishKind]

class FirstCommentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIRST_COMMENT_STATE_UNSPECIFIED: _ClassVar[FirstCommentState]
    FIRST_COMMENT_STATE_PENDING: _ClassVar[FirstCommentState]
    FIRST_COMMENT_STATE_SENDING: _ClassVar[FirstCommentState]
    FIRST_COMMENT_STATE_POSTED: _ClassVar[FirstCommentState]
    FIRST_COMMENT_STATE_FAILED: _ClassVar[FirstCommentState]
    FIRST_COMMENT_STATE_UNCONFIRMED: _ClassVar[FirstCommentState]
PUBLISH_STATE_UNSPECIFIED: PublishState
PUBLISH_STATE_PENDING: PublishState
PUBLISH_STATE_PROCESSING: PublishState
PUBLISH_STATE_PUBLISHED: PublishState
PUBLISH_STATE_DELIVERED_TO_INBOX: PublishState
PUBLISH_STATE_FAILED: PublishState
PUBLISH_STATE_UNCONFIRMED: PublishState
PUBLISH_STATE_SCHEDULED: PublishState
PUBLISH_STATE_CANCELLED: PublishState
PUBLISH_STATE_MISSED: PublishState
PRIVACY_LEVEL_UNSPECIFIED: PrivacyLevel
PRIVACY_LEVEL_PUBLIC_TO_EVERYONE: PrivacyLevel
PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS: PrivacyLevel
PRIVACY_LEVEL_FOLLOWER_OF_CREATOR: PrivacyLevel
PRIVACY_LEVEL_SELF_ONLY: PrivacyLevel
POST_MODE_UNSPECIFIED: PostMode
POST_MODE_DIRECT: PostMode
POST_MODE_INBOX: PostMode
PUBLISH_KIND_UNSPECIFIED: PublishKind
PUBLISH_KIND_CAROUSEL: PublishKind
PUBLISH_KIND_IMAGE: PublishKind
PUBLISH_KIND_REEL: PublishKind
PUBLISH_KIND_VIDEO: PublishKind
FIRST_COMMENT_STATE_UNSPECIFIED: FirstCommentState
FIRST_COMMENT_STATE_PENDING: FirstCommentState
FIRST_COMMENT_STATE_SENDING: FirstCommentState
FIRST_COMMENT_STATE_POSTED: FirstCommentState
FIRST_COMMENT_STATE_FAILED: FirstCommentState
FIRST_COMMENT_STATE_UNCONFIRMED: FirstCommentState

class TikTokOptions(_message.Message):
    __slots__ = ("privacy_level", "post_mode", "cover_index", "description", "disable_comment", "auto_add_music", "brand_content_toggle", "brand_organic_toggle", "creator_consent_obtained", "creator_nickname", "platform_title", "platform_description", "comments_disabled_by_creator", "source", "disable_duet", "disable_stitch", "video_cover_timestamp_ms", "is_aigc", "max_video_post_duration_sec")
    PRIVACY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    POST_MODE_FIELD_NUMBER: _ClassVar[int]
    COVER_INDEX_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLE_COMMENT_FIELD_NUMBER: _ClassVar[int]
    AUTO_ADD_MUSIC_FIELD_NUMBER: _ClassVar[int]
    BRAND_CONTENT_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_ORGANIC_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    CREATOR_CONSENT_OBTAINED_FIELD_NUMBER: _ClassVar[int]
    CREATOR_NICKNAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_TITLE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    COMMENTS_DISABLED_BY_CREATOR_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DISABLE_DUET_FIELD_NUMBER: _ClassVar[int]
    DISABLE_STITCH_FIELD_NUMBER: _ClassVar[int]
    VIDEO_COVER_TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    IS_AIGC_FIELD_NUMBER: _ClassVar[int]
    MAX_VIDEO_POST_DURATION_SEC_FIELD_NUMBER: _ClassVar[int]
    privacy_level: PrivacyLevel
    post_mode: PostMode
    cover_index: int
    description: str
    disable_comment: bool
    auto_add_music: bool
    brand_content_toggle: bool
    brand_organic_toggle: bool
    creator_consent_obtained: bool
    creator_nickname: str
    platform_title: str
    platform_description: str
    comments_disabled_by_creator: bool
    source: str
    disable_duet: bool
    disable_stitch: bool
    video_cover_timestamp_ms: int
    is_aigc: bool
    max_video_post_duration_sec: int
    def __init__(self, privacy_level: _Optional[_Union[PrivacyLevel, str]] = ..., post_mode: _Optional[_Union[PostMode, str]] = ..., cover_index: _Optional[int] = ..., description: _Optional[str] = ..., disable_comment: _Optional[bool] = ..., auto_add_music: _Optional[bool] = ..., brand_content_toggle: _Optional[bool] = ..., brand_organic_toggle: _Optional[bool] = ..., creator_consent_obtained: _Optional[bool] = ..., creator_nickname: _Optional[str] = ..., platform_title: _Optional[str] = ..., platform_description: _Optional[str] = ..., comments_disabled_by_creator: _Optional[bool] = ..., source: _Optional[str] = ..., disable_duet: _Optional[bool] = ..., disable_stitch: _Optional[bool] = ..., video_cover_timestamp_ms: _Optional[int] = ..., is_aigc: _Optional[bool] = ..., max_video_post_duration_sec: _Optional[int] = ...) -> None: ...

class TikTokUpload(_message.Message):
    __slots__ = ("video_size", "chunk_size", "total_chunk_count", "chunks_acknowledged", "bytes_acknowledged", "upload_url_expire_time")
    VIDEO_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    BYTES_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    video_size: int
    chunk_size: int
    total_chunk_count: int
    chunks_acknowledged: int
    bytes_acknowledged: int
    upload_url_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, video_size: _Optional[int] = ..., chunk_size: _Optional[int] = ..., total_chunk_count: _Optional[int] = ..., chunks_acknowledged: _Optional[int] = ..., bytes_acknowledged: _Optional[int] = ..., upload_url_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserTag(_message.Message):
    __slots__ = ("username", "x", "y")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    username: str
    x: float
    y: float
    def __init__(self, username: _Optional[str] = ..., x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class InstagramImageOptions(_message.Message):
    __slots__ = ("alt_text", "user_tags")
    ALT_TEXT_FIELD_NUMBER: _ClassVar[int]
    USER_TAGS_FIELD_NUMBER: _ClassVar[int]
    alt_text: str
    user_tags: _containers.RepeatedCompositeFieldContainer[UserTag]
    def __init__(self, alt_text: _Optional[str] = ..., user_tags: _Optional[_Iterable[_Union[UserTag, _Mapping]]] = ...) -> None: ...

class InstagramOptions(_message.Message):
    __slots__ = ("images", "collaborators", "location_id", "first_comment", "cover_url", "thumb_offset_ms", "share_to_feed")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    COLLABORATORS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    THUMB_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    SHARE_TO_FEED_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[InstagramImageOptions]
    collaborators: _containers.RepeatedScalarFieldContainer[str]
    location_id: str
    first_comment: str
    cover_url: str
    thumb_offset_ms: int
    share_to_feed: bool
    def __init__(self, images: _Optional[_Iterable[_Union[InstagramImageOptions, _Mapping]]] = ..., collaborators: _Optional[_Iterable[str]] = ..., location_id: _Optional[str] = ..., first_comment: _Optional[str] = ..., cover_url: _Optional[str] = ..., thumb_offset_ms: _Optional[int] = ..., share_to_feed: _Optional[bool] = ...) -> None: ...

class FirstComment(_message.Message):
    __slots__ = ("state", "comment_id", "error")
    STATE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    state: FirstCommentState
    comment_id: str
    error: PublishError
    def __init__(self, state: _Optional[_Union[FirstCommentState, str]] = ..., comment_id: _Optional[str] = ..., error: _Optional[_Union[PublishError, _Mapping]] = ...) -> None: ...

class PublishError(_message.Message):
    __slots__ = ("code", "reason", "message", "platform_code", "platform_subcode", "platform_trace_id", "retryable", "field")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_CODE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_SUBCODE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    code: str
    reason: str
    message: str
    platform_code: str
    platform_subcode: str
    platform_trace_id: str
    retryable: bool
    field: str
    def __init__(self, code: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., platform_code: _Optional[str] = ..., platform_subcode: _Optional[str] = ..., platform_trace_id: _Optional[str] = ..., retryable: _Optional[bool] = ..., field: _Optional[str] = ...) -> None: ...

class Publish(_message.Message):
    __slots__ = ("id", "platform", "kind", "account_id", "media_ids", "caption", "tiktok_options", "state", "instagram_child_container_ids", "instagram_container_id", "ig_media_id", "permalink", "tiktok_publish_id", "tiktok_post_id", "error", "request_id", "create_time", "update_time", "publish_time", "pending_facts", "schedule_time", "start_time", "start_lateness", "instagram_options", "first_comment", "tiktok_platform_publish_id", "tiktok_platform_post_id", "tiktok_upload")
    ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_CHILD_CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    IG_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    PERMALINK_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_POST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    PENDING_FACTS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    START_LATENESS_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_PLATFORM_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_PLATFORM_POST_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_UPLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    platform: _account_pb2.Platform
    kind: PublishKind
    account_id: str
    media_ids: _containers.RepeatedScalarFieldContainer[str]
    caption: str
    tiktok_options: TikTokOptions
    state: PublishState
    instagram_child_container_ids: _containers.RepeatedScalarFieldContainer[str]
    instagram_container_id: str
    ig_media_id: str
    permalink: str
    tiktok_publish_id: str
    tiktok_post_id: str
    error: PublishError
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    publish_time: _timestamp_pb2.Timestamp
    pending_facts: _containers.RepeatedScalarFieldContainer[str]
    schedule_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    start_lateness: _duration_pb2.Duration
    instagram_options: InstagramOptions
    first_comment: FirstComment
    tiktok_platform_publish_id: str
    tiktok_platform_post_id: str
    tiktok_upload: TikTokUpload
    def __init__(self, id: _Optional[str] = ..., platform: _Optional[_Union[_account_pb2.Platform, str]] = ..., kind: _Optional[_Union[PublishKind, str]] = ..., account_id: _Optional[str] = ..., media_ids: _Optional[_Iterable[str]] = ..., caption: _Optional[str] = ..., tiktok_options: _Optional[_Union[TikTokOptions, _Mapping]] = ..., state: _Optional[_Union[PublishState, str]] = ..., instagram_child_container_ids: _Optional[_Iterable[str]] = ..., instagram_container_id: _Optional[str] = ..., ig_media_id: _Optional[str] = ..., permalink: _Optional[str] = ..., tiktok_publish_id: _Optional[str] = ..., tiktok_post_id: _Optional[str] = ..., error: _Optional[_Union[PublishError, _Mapping]] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending_facts: _Optional[_Iterable[str]] = ..., schedule_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_lateness: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., instagram_options: _Optional[_Union[InstagramOptions, _Mapping]] = ..., first_comment: _Optional[_Union[FirstComment, _Mapping]] = ..., tiktok_platform_publish_id: _Optional[str] = ..., tiktok_platform_post_id: _Optional[str] = ..., tiktok_upload: _Optional[_Union[TikTokUpload, _Mapping]] = ...) -> None: ...

class PublishEvent(_message.Message):
    __slots__ = ("sequence", "time", "type", "state", "message", "details", "trace_id")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    type: str
    state: PublishState
    message: str
    details: _struct_pb2.Struct
    trace_id: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., state: _Optional[_Union[PublishState, str]] = ..., message: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., trace_id: _Optional[str] = ...) -> None: ...
