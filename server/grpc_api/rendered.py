"""Rendered Publish messages for list pages, kept by (publish id, revision).

Building a Publish message field by field from a record is most of a ListPublishes call's
CPU (about 20 µs a publish, 1 ms a page of 50; bench/profiles/history.md); merging the same
message from its serialized bytes costs about 1.5 µs. Pages are read again and again (the
newest page above all) while most of their publishes do not change, so each rendering is
kept until the record's revision moves on.

A kept message is never stale: the list query returns each publish's current revision, and
only a message of that exact revision is used (every change to a record bumps its revision
in the same transaction, server/store/publishes.py). The least recently used are dropped
beyond `capacity` (about 0.8 KB each: 10,000, the default, is about 8 MB).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from distribution.v1 import publish_pb2
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from server.domain.models import Publish, PublishVersion
from server.grpc_api.converters import publish_out


class RenderedPublishes:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[str, tuple[int, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, version: PublishVersion) -> bytes | None:
        """The serialized message of this exact revision, if kept."""
        kept = self._kept.get(version.id)
        if kept is None or kept[0] != version.revision:
            return None
        self._kept.move_to_end(version.id)
        return kept[1]

    def put(self, version: PublishVersion, message: bytes) -> None:
        if self.capacity <= 0:
            return
        kept = self._kept.get(version.id)
        if kept is not None and kept[0] > version.revision:
            return  # a newer rendering is already kept; an older one must not replace it
        self._kept[version.id] = (version.revision, message)
        self._kept.move_to_end(version.id)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    async def fill(
        self,
        into: RepeatedCompositeFieldContainer[publish_pb2.Publish],
        versions: Sequence[PublishVersion],
        load: Callable[[list[PublishVersion]], Awaitable[list[Publish]]],
    ) -> None:
        """Appends a page's publishes to `into` in order: kept renderings as they are, the
        rest loaded (one store call), rendered and kept."""
        found = [self.get(version) for version in versions]
        missing = [version for version, message in zip(versions, found, strict=True) if message is None]
        if missing:
            fresh: dict[str, bytes] = {}
            for publish in await load(missing):
                rendered = publish_out(publish).SerializeToString()
                self.put(PublishVersion(publish.id, publish.revision), rendered)
                fresh[publish.id] = rendered
            found = [message or fresh.get(version.id) for version, message in zip(versions, found, strict=True)]
        for message in found:
            if message is not None:
                into.add().MergeFromString(message)
