from distribution.v1 import media_pb2 as _media_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterMediaRequest(_message.Message):
    __slots__ = ("url", "mime_type", "kind", "storage", "width", "height", "size_bytes")
    URL_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    url: str
    mime_type: str
    kind: _media_pb2.MediaKind
    storage: _media_pb2.Storage
    width: int
    height: int
    size_bytes: int
    def __init__(self, url: _Optional[str] = ..., mime_type: _Optional[str] = ..., kind: _Optional[_Union[_media_pb2.MediaKind, str]] = ..., storage: _Optional[_Union[_media_pb2.Storage, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class RegisterMediaResponse(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: _media_pb2.Media
    def __init__(self, media: _Optional[_Union[_media_pb2.Media, _Mapping]] = ...) -> None: ...

class GetMediaRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetMediaResponse(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: _media_pb2.Media
    def __init__(self, media: _Optional[_Union[_media_pb2.Media, _Mapping]] = ...) -> None: ...

class ListMediaRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMediaResponse(_message.Message):
    __slots__ = ("media", "next_page_token")
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    media: _containers.RepeatedCompositeFieldContainer[_media_pb2.Media]
    next_page_token: str
    def __init__(self, media: _Optional[_Iterable[_Union[_media_pb2.Media, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
