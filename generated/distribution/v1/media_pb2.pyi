import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MediaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_KIND_UNSPECIFIED: _ClassVar[MediaKind]
    MEDIA_KIND_IMAGE: _ClassVar[MediaKind]
    MEDIA_KIND_VIDEO: _ClassVar[MediaKind]

class Storage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STORAGE_UNSPECIFIED: _ClassVar[Storage]
    STORAGE_GCS: _ClassVar[Storage]
    STORAGE_S3: _ClassVar[Storage]
    STORAGE_OTHER: _ClassVar[Storage]

class InspectionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSPECTION_OUTCOME_UNSPECIFIED: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_READ: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_UNREACHABLE: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_REFUSED: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_NOT_MEDIA: _ClassVar[InspectionOutcome]
    INSPECTION_OUTCOME_TOO_LARGE: _ClassVar[InspectionOutcome]
MEDIA_KIND_UNSPECIFIED: MediaKind
MEDIA_KIND_IMAGE: MediaKind
MEDIA_KIND_VIDEO: MediaKind
STORAGE_UNSPECIFIED: Storage
STORAGE_GCS: Storage
STORAGE_S3: Storage
STORAGE_OTHER: Storage
INSPECTION_OUTCOME_UNSPECIFIED: InspectionOutcome
INSPECTION_OUTCOME_READ: InspectionOutcome
INSPECTION_OUTCOME_UNREACHABLE: InspectionOutcome
INSPECTION_OUTCOME_REFUSED: InspectionOutcome
INSPECTION_OUTCOME_NOT_MEDIA: InspectionOutcome
INSPECTION_OUTCOME_TOO_LARGE: InspectionOutcome

class MediaInspection(_message.Message):
    __slots__ = ("outcome", "mime_type", "width", "height", "size_bytes", "sha256", "reachable", "detail", "inspect_time", "video")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    INSPECT_TIME_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    outcome: InspectionOutcome
    mime_type: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    reachable: bool
    detail: str
    inspect_time: _timestamp_pb2.Timestamp
    video: VideoFacts
    def __init__(self, outcome: _Optional[_Union[InspectionOutcome, str]] = ..., mime_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., reachable: _Optional[bool] = ..., detail: _Optional[str] = ..., inspect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., video: _Optional[_Union[VideoFacts, _Mapping]] = ...) -> None: ...

class VideoFacts(_message.Message):
    __slots__ = ("container", "duration_ms", "width", "height", "frame_rate", "video_codec", "audio_codec", "size_bytes", "bytes_read")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FRAME_RATE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CODEC_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CODEC_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    container: str
    duration_ms: int
    width: int
    height: int
    frame_rate: float
    video_codec: str
    audio_codec: str
    size_bytes: int
    bytes_read: int
    def __init__(self, container: _Optional[str] = ..., duration_ms: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., frame_rate: _Optional[float] = ..., video_codec: _Optional[str] = ..., audio_codec: _Optional[str] = ..., size_bytes: _Optional[int] = ..., bytes_read: _Optional[int] = ...) -> None: ...

class Media(_message.Message):
    __slots__ = ("id", "url", "mime_type", "kind", "storage", "width", "height", "size_bytes", "create_time", "inspection", "video")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    INSPECTION_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    mime_type: str
    kind: MediaKind
    storage: Storage
    width: int
    height: int
    size_bytes: int
    create_time: _timestamp_pb2.Timestamp
    inspection: MediaInspection
    video: VideoFacts
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., mime_type: _Optional[str] = ..., kind: _Optional[_Union[MediaKind, str]] = ..., storage: _Optional[_Union[Storage, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inspection: _Optional[_Union[MediaInspection, _Mapping]] = ..., video: _Optional[_Union[VideoFacts, _Mapping]] = ...) -> None: ...
