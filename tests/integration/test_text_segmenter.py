"""The text segmenter (server/adapters/text.py, the TextSegmenter port over the `regex`
module's `\\X`): Unicode's extended grapheme clusters, each one whole, joined back to the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.adapters.text import GraphemeSegmenter

SEGMENTER = GraphemeSegmenter()

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people, three joiners
FLAG = "\U0001f1eb\U0001f1f7"  # two regional indicators
THUMB = "\U0001f44d\U0001f3fd"  # a thumb and a skin tone
CODER = "\U0001f469\U0001f3fd\u200d\U0001f4bb"  # a woman with a skin tone, a joiner, a laptop
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag of tag characters
KEYCAP = "1\ufe0f\u20e3"  # a digit, a variation selector, the enclosing keycap
ACCENTS = "a\u0301\u0323"  # a letter with two combining accents
CONJUNCT = "\u0915\u094d\u0937"  # Devanagari: consonant, virama, consonant
JAMO = "\u1100\u1161\u11a8"  # a Hangul syllable of three jamo
LEAF = "🍂"  # outside the Basic Multilingual Plane: a surrogate pair in UTF-16


@pytest.mark.parametrize(
    "cluster",
    [FAMILY, FLAG, THUMB, CODER, SCOTLAND, KEYCAP, ACCENTS, CONJUNCT, JAMO, LEAF, "\r\n", "a"],
    ids=["family", "flag", "skin-tone", "zwj-skin-tone", "tag-flag", "keycap", "accents", "conjunct", "jamo",
         "astral", "crlf", "letter"],
)
def test_what_a_reader_sees_as_one_character_is_one_cluster(cluster: str) -> None:
    assert SEGMENTER.graphemes(cluster) == [cluster]
    assert SEGMENTER.graphemes(cluster * 3) == [cluster] * 3


def test_a_mixed_text_is_split_between_its_characters_and_nowhere_else() -> None:
    text = f"Hi {FAMILY}{FLAG}{THUMB}e\u0301 {LEAF}{LEAF}!"
    assert SEGMENTER.graphemes(text) == ["H", "i", " ", FAMILY, FLAG, THUMB, "e\u0301", " ", LEAF, LEAF, "!"]


def test_two_flags_side_by_side_are_two_clusters_not_a_pair_across_them() -> None:
    germany, france = "\U0001f1e9\U0001f1ea", FLAG
    assert SEGMENTER.graphemes(germany + france) == [germany, france]


def test_empty_text_has_no_clusters() -> None:
    assert SEGMENTER.graphemes("") == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_the_clusters_join_back_to_the_text_and_none_is_empty(text: str) -> None:
    clusters = SEGMENTER.graphemes(text)
    assert "".join(clusters) == text
    assert all(clusters)
