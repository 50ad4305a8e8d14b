from distribution.v1 import publish_pb2 as _publish_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PublishInstagramCarouselRequest(_message.Message):
    __slots__ = ("media_ids", "instagram_account_id", "caption", "request_id")
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    INSTAGRAM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    media_ids: _containers.RepeatedScalarFieldContainer[str]
    instagram_account_id: str
    caption: str
    request_id: str
    def __init__(self, media_ids: _Optional[_Iterable[str]] = ..., instagram_account_id: _Optional[str] = ..., caption: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PublishInstagramCarouselResponse(_message.Message):
    __slots__ = ("instagram_publish_id", "ig_media_id", "permalink", "image_count", "state")
    INSTAGRAM_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    IG_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    PERMALINK_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    instagram_publish_id: str
    ig_media_id: str
    permalink: str
    image_count: int
    state: _publish_pb2.PublishState
    def __init__(self, instagram_publish_id: _Optional[str] = ..., ig_media_id: _Optional[str] = ..., permalink: _Optional[str] = ..., image_count: _Optional[int] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ...) -> None: ...

class PublishTikTokCarouselRequest(_message.Message):
    __slots__ = ("media_ids", "tiktok_account_id", "caption", "privacy_level", "post_mode", "cover_index", "request_id", "description", "disable_comment", "auto_add_music")
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
    def __init__(self, media_ids: _Optional[_Iterable[str]] = ..., tiktok_account_id: _Optional[str] = ..., caption: _Optional[str] = ..., privacy_level: _Optional[_Union[_publish_pb2.PrivacyLevel, str]] = ..., post_mode: _Optional[_Union[_publish_pb2.PostMode, str]] = ..., cover_index: _Optional[int] = ..., request_id: _Optional[str] = ..., description: _Optional[str] = ..., disable_comment: _Optional[bool] = ..., auto_add_music: _Optional[bool] = ...) -> None: ...

class PublishTikTokCarouselResponse(_message.Message):
    __slots__ = ("tiktok_publish_id", "publish_id", "tiktok_media_id", "image_count", "state")
    TIKTOK_PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_ID_FIELD_NUMBER: _ClassVar[int]
    TIKTOK_MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    tiktok_publish_id: str
    publish_id: str
    tiktok_media_id: str
    image_count: int
    state: _publish_pb2.PublishState
    def __init__(self, tiktok_publish_id: _Optional[str] = ..., publish_id: _Optional[str] = ..., tiktok_media_id: _Optional[str] = ..., image_count: _Optional[int] = ..., state: _Optional[_Union[_publish_pb2.PublishState, str]] = ...) -> None: ...
