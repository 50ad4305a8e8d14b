import datetime

from distribution.v1 import account_pb2 as _account_pb2
from distribution.v1 import media_pb2 as _media_pb2
from distribution.v1 import publish_pb2 as _publish_pb2
from distribution.v1 import webhook_pb2 as _webhook_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PublishInstagramCarouselRequest(_message.Message):
    __slots__ = ("media_ids", "instagram_account_id", "caption", "request_id", "allow_duplicate", "validate_only", "publish_time", "images", "collaborators", "location_id", "first_comment")
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    COLLABORATORS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    media_ids: _containers.RepeatedScalarFieldContainer[str]
    instagram_account_id: str
    caption: str
    request_id: str
    allow_duplicate: bool
    validate_only: bool
    publish_time: _timestamp_pb2.Timestamp
    images: _containers.RepeatedCompositeFieldContainer[_publish_pb2.InstagramImageOptions]
    collaborators: _containers.RepeatedScalarFieldContainer[str]
    location_id: str
    first_comment: str
    def __init__(self, media_ids: _Optional[_Iterable[str]] = ..., instagram_account_id: _Optional[str] = ..., caption: _Optional[str] = ..., request_id: _Optional[str] = ..., allow_duplicate: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., images: _Optional[_Iterable[_Union[_publish_pb2.InstagramImageOptions, _Mapping]]] = ..., collaborators: _Optional[_Iterable[str]] = ..., location_id: _Optional[str] = ..., first_comment: _Optional[str] = ...) -> None: ...

class PublishInstagramCarouselResponse(_message.Message):
    __slots__ = ("instagram_publish_id", "ig_media_id", "permalink", "image_count", "state", "media", "first_comment")
    INSTAGRAM_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    IG_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    PERMALINK_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    instagram_publish_id: str
    ig_media_id: str
    permalink: str
    image_count: int
    state: _publish_pb2.PublishState
    media: _containers.RepeatedCompositeFieldContainer[_media_pb2.Media]
    first_comment: _publish_pb2.FirstComment
    def __init__(self, instagram_publish_id: _Optional[str] = ..., ig_media_id: _Optional[str] = ..., permalink: _Optional[str] = ..., image_count: _Optional[int] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ..., media: _Optional[_Iterable[_Union[_media_pb2.Media, _Mapping]]] = ..., first_comment: _Optional[_Union[_publish_pb2.FirstComment, _Mapping]] = ...) -> None: ...

class PublishInstagramMediaRequest(_message.Message):
    __slots__ = ("media_id", "instagram_account_id", "caption", "request_id", "allow_duplicate", "validate_only", "publish_time", "alt_text", "user_tags", "collaborators", "location_id", "first_comment", "cover_url", "thumb_offset_ms", "share_to_feed")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ALT_TEXT_FIELD_NUMBER: _ClassVar[int]
    USER_TAGS_FIELD_NUMBER: _ClassVar[int]
    COLLABORATORS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    THUMB_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    SHARE_TO_FEED_FIELD_NUMBER: _ClassVar[int]
    media_id: str
    instagram_account_id: str
    caption: str
    request_id: str
    allow_duplicate: bool
    validate_only: bool
    publish_time: _timestamp_pb2.Timestamp
    alt_text: str
    user_tags: _containers.RepeatedCompositeFieldContainer[_publish_pb2.UserTag]
    collaborators: _containers.RepeatedScalarFieldContainer[str]
    location_id: str
    first_comment: str
    cover_url: str
    thumb_offset_ms: int
    share_to_feed: bool
    def __init__(self, media_id: _Optional[str] = ..., instagram_account_id: _Optional[str] = ..., caption: _Optional[str] = ..., request_id: _Optional[str] = ..., allow_duplicate: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alt_text: _Optional[str] = ..., user_tags: _Optional[_Iterable[_Union[_publish_pb2.UserTag, _Mapping]]] = ..., collaborators: _Optional[_Iterable[str]] = ..., location_id: _Optional[str] = ..., first_comment: _Optional[str] = ..., cover_url: _Optional[str] = ..., thumb_offset_ms: _Optional[int] = ..., share_to_feed: _Optional[bool] = ...) -> None: ...

class PublishInstagramMediaResponse(_message.Message):
    __slots__ = ("instagram_publish_id", "kind", "state", "ig_media_id", "permalink", "instagram_container_id", "media", "first_comment")
    INSTAGRAM_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IG_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    PERMALINK_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMMENT_FIELD_NUMBER: _ClassVar[int]
    instagram_publish_id: str
    kind: _publish_pb2.PublishKind
    state: _publish_pb2.PublishState
    ig_media_id: str
    permalink: str
    instagram_container_id: str
    media: _media_pb2.Media
    first_comment: _publish_pb2.FirstComment
    def __init__(self, instagram_publish_id: _Optional[str] = ..., kind: _Optional[_Union[_publish_pb2.PublishKind, str]] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ..., ig_media_id: _Optional[str] = ..., permalink: _Optional[str] = ..., instagram_container_id: _Optional[str] = ..., media: _Optional[_Union[_media_pb2.Media, _Mapping]] = ..., first_comment: _Optional[_Union[_publish_pb2.FirstComment, _Mapping]] = ...) -> None: ...

class PublishTikTokCarouselRequest(_message.Message):
    __slots__ = ("media_ids", "tiktok_account_id", "caption", "privacy_level", "post_mode", "cover_index", "request_id", "description", "disable_comment", "auto_add_music", "allow_duplicate", "validate_only", "publish_time", "brand_content_toggle", "brand_organic_toggle", "creator_consent_obtained")
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    POST_MODE_FIELD_NUMBER: _ClassVar[int]
    COVER_INDEX_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLE_COMMENT_FIELD_NUMBER: _ClassVar[int]
    AUTO_ADD_MUSIC_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    BRAND_CONTENT_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_ORGANIC_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    CREATOR_CONSENT_OBTAINED_FIELD_NUMBER: _ClassVar[int]
    media_ids: _containers.RepeatedScalarFieldContainer[str]
    tiktok_account_id: str
    caption: str
    privacy_level: _publish_pb2.PrivacyLevel
    post_mode: _publish_pb2.PostMode
    cover_index: int
    request_id: str
    description: str
    disable_comment: bool
    auto_add_music: bool
    allow_duplicate: bool
    validate_only: bool
    publish_time: _timestamp_pb2.Timestamp
    brand_content_toggle: bool
    brand_organic_toggle: bool
    creator_consent_obtained: bool
    def __init__(self, media_ids: _Optional[_Iterable[str]] = ..., tiktok_account_id: _Optional[str] = ..., caption: _Optional[str] = ..., privacy_level: _Optional[_Union[_publish_pb2.PrivacyLevel, str]] = ..., post_mode: _Optional[_Union[_publish_pb2.PostMode, str]] = ..., cover_index: _Optional[int] = ..., request_id: _Optional[str] = ..., description: _Optional[str] = ..., disable_comment: _Optional[bool] = ..., auto_add_music: _Optional[bool] = ..., allow_duplicate: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., brand_content_toggle: _Optional[bool] = ..., brand_organic_toggle: _Optional[bool] = ..., creator_consent_obtained: _Optional[bool] = ...) -> None: ...

class PublishTikTokCarouselResponse(_message.Message):
    __slots__ = ("tiktok_publish_id", "publish_id", "tiktok_media_id", "image_count", "state", "media")
    TIKTOK_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    tiktok_publish_id: str
    publish_id: str
    tiktok_media_id: str
    image_count: int
    state: _publish_pb2.PublishState
    media: _containers.RepeatedCompositeFieldContainer[_media_pb2.Media]
    def __init__(self, tiktok_publish_id: _Optional[str] = ..., publish_id: _Optional[str] = ..., tiktok_media_id: _Optional[str] = ..., image_count: _Optional[int] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ..., media: _Optional[_Iterable[_Union[_media_pb2.Media, _Mapping]]] = ...) -> None: ...

class PublishTikTokVideoRequest(_message.Message):
    __slots__ = ("media_id", "tiktok_account_id", "title", "privacy_level", "post_mode", "disable_comment", "disable_duet", "disable_stitch", "video_cover_timestamp_ms", "brand_content_toggle", "brand_organic_toggle", "is_aigc", "request_id", "allow_duplicate", "validate_only", "publish_time", "creator_consent_obtained")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    POST_MODE_FIELD_NUMBER: _ClassVar[int]
    DISABLE_COMMENT_FIELD_NUMBER: _ClassVar[int]
    DISABLE_DUET_FIELD_NUMBER: _ClassVar[int]
    DISABLE_STITCH_FIELD_NUMBER: _ClassVar[int]
    VIDEO_COVER_TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    BRAND_CONTENT_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_ORGANIC_TOGGLE_FIELD_NUMBER: _ClassVar[int]
    IS_AIGC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_CONSENT_OBTAINED_FIELD_NUMBER: _ClassVar[int]
    media_id: str
    tiktok_account_id: str
    title: str
    privacy_level: _publish_pb2.PrivacyLevel
    post_mode: _publish_pb2.PostMode
    disable_comment: bool
    disable_duet: bool
    disable_stitch: bool
    video_cover_timestamp_ms: int
    brand_content_toggle: bool
    brand_organic_toggle: bool
    is_aigc: bool
    request_id: str
    allow_duplicate: bool
    validate_only: bool
    publish_time: _timestamp_pb2.Timestamp
    creator_consent_obtained: bool
    def __init__(self, media_id: _Optional[str] = ..., tiktok_account_id: _Optional[str] = ..., title: _Optional[str] = ..., privacy_level: _Optional[_Union[_publish_pb2.PrivacyLevel, str]] = ..., post_mode: _Optional[_Union[_publish_pb2.PostMode, str]] = ..., disable_comment: _Optional[bool] = ..., disable_duet: _Optional[bool] = ..., disable_stitch: _Optional[bool] = ..., video_cover_timestamp_ms: _Optional[int] = ..., brand_content_toggle: _Optional[bool] = ..., brand_organic_toggle: _Optional[bool] = ..., is_aigc: _Optional[bool] = ..., request_id: _Optional[str] = ..., allow_duplicate: _Optional[bool] = ..., validate_only: _Optional[bool] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator_consent_obtained: _Optional[bool] = ...) -> None: ...

class PublishTikTokVideoResponse(_message.Message):
    __slots__ = ("tiktok_publish_id", "publish_id", "tiktok_media_id", "state", "source", "media")
    TIKTOK_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    tiktok_publish_id: str
    publish_id: str
    tiktok_media_id: str
    state: _publish_pb2.PublishState
    source: str
    media: _media_pb2.Media
    def __init__(self, tiktok_publish_id: _Optional[str] = ..., publish_id: _Optional[str] = ..., tiktok_media_id: _Optional[str] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ..., source: _Optional[str] = ..., media: _Optional[_Union[_media_pb2.Media, _Mapping]] = ...) -> None: ...

class GetPublishRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetPublishResponse(_message.Message):
    __slots__ = ("publish", "events")
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    publish: _publish_pb2.Publish
    events: _containers.RepeatedCompositeFieldContainer[_publish_pb2.PublishEvent]
    def __init__(self, publish: _Optional[_Union[_publish_pb2.Publish, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_publish_pb2.PublishEvent, _Mapping]]] = ...) -> None: ...

class ListPublishesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "account_id", "platform", "state", "create_time_after", "create_time_before", "schedule_time_after", "schedule_time_before", "kind")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_AFTER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    account_id: str
    platform: _account_pb2.Platform
    state: _publish_pb2.PublishState
    create_time_after: _timestamp_pb2.Timestamp
    create_time_before: _timestamp_pb2.Timestamp
    schedule_time_after: _timestamp_pb2.Timestamp
    schedule_time_before: _timestamp_pb2.Timestamp
    kind: _publish_pb2.PublishKind
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., account_id: _Optional[str] = ..., platform: _Optional[_Union[_account_pb2.Platform, str]] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ..., create_time_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., schedule_time_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., schedule_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[_publish_pb2.PublishKind, str]] = ...) -> None: ...

class ListPublishesResponse(_message.Message):
    __slots__ = ("publishes", "next_page_token")
    PUBLISHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    publishes: _containers.RepeatedCompositeFieldContainer[_publish_pb2.Publish]
    next_page_token: str
    def __init__(self, publishes: _Optional[_Iterable[_Union[_publish_pb2.Publish, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchPublishRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class WatchPublishResponse(_message.Message):
    __slots__ = ("publish", "events")
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    publish: _publish_pb2.Publish
    events: _containers.RepeatedCompositeFieldContainer[_publish_pb2.PublishEvent]
    def __init__(self, publish: _Optional[_Union[_publish_pb2.Publish, _Mapping]] = ..., events: _Optional[_Iterable[_Union[_publish_pb2.PublishEvent, _Mapping]]] = ...) -> None: ...

class CancelPublishRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelPublishResponse(_message.Message):
    __slots__ = ("publish",)
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    publish: _publish_pb2.Publish
    def __init__(self, publish: _Optional[_Union[_publish_pb2.Publish, _Mapping]] = ...) -> None: ...

class UpdatePublishScheduleRequest(_message.Message):
    __slots__ = ("id", "publish_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    publish_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdatePublishScheduleResponse(_message.Message):
    __slots__ = ("publish",)
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    publish: _publish_pb2.Publish
    def __init__(self, publish: _Optional[_Union[_publish_pb2.Publish, _Mapping]] = ...) -> None: ...

class WatchPublishesRequest(_message.Message):
    __slots__ = ("account_id", "platform", "states", "after_event_id", "event_kinds")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_KINDS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    platform: _account_pb2.Platform
    states: _containers.RepeatedScalarFieldContainer[_publish_pb2.PublishState]
    after_event_id: str
    event_kinds: _containers.RepeatedScalarFieldContainer[_webhook_pb2.WebhookEventKind]
    def __init__(self, account_id: _Optional[str] = ..., platform: _Optional[_Union[_account_pb2.Platform, str]] = ..., states: _Optional[_Iterable[_Union[_publish_pb2.PublishState, str]]] = ..., after_event_id: _Optional[str] = ..., event_kinds: _Optional[_Iterable[_Union[_webhook_pb2.WebhookEventKind, str]]] = ...) -> None: ...

class AccountEvent(_message.Message):
    __slots__ = ("kind", "account_id", "platform", "time", "message", "details")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    kind: _webhook_pb2.WebhookEventKind
    account_id: str
    platform: _account_pb2.Platform
    time: _timestamp_pb2.Timestamp
    message: str
    details: _struct_pb2.Struct
    def __init__(self, kind: _Optional[_Union[_webhook_pb2.WebhookEventKind, str]] = ..., account_id: _Optional[str] = ..., platform: _Optional[_Union[_account_pb2.Platform, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WatchPublishesResponse(_message.Message):
    __slots__ = ("event_id", "event", "publish", "account_event", "account")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_EVENT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event: _publish_pb2.PublishEvent
    publish: _publish_pb2.Publish
    account_event: AccountEvent
    account: _account_pb2.Account
    def __init__(self, event_id: _Optional[str] = ..., event: _Optional[_Union[_publish_pb2.PublishEvent, _Mapping]] = ..., publish: _Optional[_Union[_publish_pb2.Publish, _Mapping]] = ..., account_event: _Optional[_Union[AccountEvent, _Mapping]] = ..., account: _Optional[_Union[_account_pb2.Account, _Mapping]] = ...) -> None: ...
