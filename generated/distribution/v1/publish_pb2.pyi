from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

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
PUBLISH_STATE_UNSPECIFIED: PublishState
PUBLISH_STATE_PENDING: PublishState
PUBLISH_STATE_PROCESSING: PublishState
PUBLISH_STATE_PUBLISHED: PublishState
PUBLISH_STATE_DELIVERED_TO_INBOX: PublishState
PUBLISH_STATE_FAILED: PublishState
PUBLISH_STATE_UNCONFIRMED: PublishState
PRIVACY_LEVEL_UNSPECIFIED: PrivacyLevel
PRIVACY_LEVEL_PUBLIC_TO_EVERYONE: PrivacyLevel
PRIVACY_LEVEL_MUTUAL_FOLLOW_FRIENDS: PrivacyLevel
PRIVACY_LEVEL_FOLLOWER_OF_CREATOR: PrivacyLevel
PRIVACY_LEVEL_SELF_ONLY: PrivacyLevel
POST_MODE_UNSPECIFIED: PostMode
POST_MODE_DIRECT: PostMode
POST_MODE_INBOX: PostMode
