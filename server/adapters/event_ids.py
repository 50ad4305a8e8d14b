"""Event ids that are opaque per workspace (the EventIds port).

A stream position (server/domain/events.py) is two counters shared by every workspace (a
transaction id and a row id): shown as they are, a workspace could tell how many events
happened elsewhere between two of its own. So an id is the position encrypted under a key of
its workspace's own: AES on one 16-byte block (a keyed permutation: ECB's weakness, equal
blocks giving equal output, cannot show on a single block of distinct positions) of the two
counters (7 bytes each) and two zero bytes that let a token from elsewhere, or a garbled one,
be told apart. The workspace keys are derived from the sealing keys (DISTRIBUTION_SECRET_KEYS
or the key file), so every replica issues the same id for the same event, and after a key
rotation ids issued under an older key are still read.

Ids in the form issued before (`evt_` and 32 hex digits: the position in the clear) are still
accepted, so a client holding one resumes from it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from server.domain.events import EventPosition

PREFIX = "evt_"
# What the workspace keys are derived for (TokenCipher.derived_keys).
EVENT_ID_PURPOSE = b"distribution event ids"
_TOKEN = re.compile(r"evt_([a-z2-7]{26})")
_COUNTER_BYTES = 7
_CHECK = b"\0\0"


class EventIdCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("event ids need at least one key")
        self._keys = list(keys)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - a cipher per (key, workspace), kept with the store
    def _cipher(self, key_number: int, workspace_id: str) -> Cipher[modes.ECB]:
        key = hmac.new(self._keys[key_number], workspace_id.encode(), hashlib.sha256).digest()[:16]
        return Cipher(algorithms.AES(key), modes.ECB())  # one block: a keyed permutation

    def token(self, workspace_id: str, position: EventPosition) -> str:
        block = position.xid.to_bytes(_COUNTER_BYTES, "big") + position.id.to_bytes(_COUNTER_BYTES, "big") + _CHECK
        encryptor = self._cipher(0, workspace_id).encryptor()
        sealed = encryptor.update(block) + encryptor.finalize()
        return PREFIX + base64.b32encode(sealed).decode().rstrip("=").lower()

    def well_formed(self, token: str) -> bool:
        return EventPosition.parse(token) is not None or _TOKEN.fullmatch(token) is not None

    def parse(self, workspace_id: str, token: str) -> EventPosition | None:
        legacy = EventPosition.parse(token)
        if legacy is not None:
            return legacy
        matched = _TOKEN.fullmatch(token)
        if matched is None:
            return None
        sealed = base64.b32decode(matched.group(1).upper() + "======")
        for number in range(len(self._keys)):
            decryptor = self._cipher(number, workspace_id).decryptor()
            block = decryptor.update(sealed) + decryptor.finalize()
            if block.endswith(_CHECK):
                return EventPosition(
                    int.from_bytes(block[:_COUNTER_BYTES], "big"),
                    int.from_bytes(block[_COUNTER_BYTES:2 * _COUNTER_BYTES], "big"),
                )
        return None
