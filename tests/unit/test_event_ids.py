"""Event ids opaque per workspace (server/adapters/event_ids.py): a position round-trips in its
own workspace only; ids of the earlier clear form are still read; after a key rotation, ids
issued under the older key are still read; anything else is refused."""

from __future__ import annotations

import pytest

from server.adapters.event_ids import EventIdCipher
from server.domain.events import EventPosition

OLD, NEW = b"o" * 32, b"n" * 32


def test_a_position_round_trips_in_its_workspace_only() -> None:
    ids = EventIdCipher([NEW])
    for position in (EventPosition(0, 1), EventPosition(0, 2), EventPosition(2**40, 2**50 + 7)):
        token = ids.token("w1", position)
        assert token.startswith("evt_") and len(token) == 30 and ids.well_formed(token)
        assert ids.parse("w1", token) == position
        assert ids.parse("w2", token) is None
    # neighbours look unrelated: nothing counts up in the id
    assert ids.token("w1", EventPosition(0, 1))[4:8] != ids.token("w1", EventPosition(0, 2))[4:8]


def test_ids_issued_before_they_were_opaque_are_still_read() -> None:
    ids = EventIdCipher([NEW])
    legacy = EventPosition(0, 42).token()
    assert legacy == "evt_0000000000000000000000000000002a"
    assert ids.parse("any", legacy) == EventPosition(0, 42) and ids.well_formed(legacy)


def test_after_a_key_rotation_older_ids_are_read_and_new_ones_use_the_new_key() -> None:
    before = EventIdCipher([OLD])
    after = EventIdCipher([NEW, OLD])
    issued = before.token("w", EventPosition(5, 9))
    assert after.parse("w", issued) == EventPosition(5, 9)
    assert after.token("w", EventPosition(5, 9)) != issued
    assert EventIdCipher([NEW]).parse("w", issued) is None  # the old key dropped: unknown


@pytest.mark.parametrize("bad", ["", "evt_", "evt_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "evt_" + "1" * 26, "nope", "evt_x"])
def test_anything_else_is_no_event_id(bad: str) -> None:
    ids = EventIdCipher([NEW])
    assert ids.parse("w", bad) is None and not ids.well_formed(bad)


def test_a_garbled_id_of_the_right_form_names_no_event() -> None:
    ids = EventIdCipher([NEW])
    token = ids.token("w", EventPosition(0, 3))
    garbled = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
    assert ids.well_formed(garbled) and ids.parse("w", garbled) is None  # unknown, not malformed


def test_event_ids_need_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        EventIdCipher([])
