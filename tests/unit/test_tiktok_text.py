"""A TikTok caption: the spec's count (characters: Unicode code points) decides what is taken;
TikTok's count (UTF-16 code units) decides what is sent as the title and what goes to the
description; a title is cut between the grapheme clusters the TextSegmenter port finds, never
inside one. The cut's arithmetic is pinned with simple segmenters; Unicode's clusters (joined
emoji, flags, skin tones, combining accents) with the real one, server.adapters.text."""

from __future__ import annotations

import pytest

from server.adapters.text import GraphemeSegmenter
from server.domain.tiktok_text import (
    CAPTION_OVER_TITLE_LIMIT,
    ELLIPSIS,
    TikTokText,
    tiktok_text,
    tiktok_text_violations,
    title_cut,
    utf16_units,
)
from tests.fakes import CodePointSegmenter

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people, three joiners: 11 units
FLAG = "\U0001f1eb\U0001f1f7"  # two regional letters: 4 units
THUMB = "\U0001f44d\U0001f3fd"  # a thumb and a skin tone: 4 units
ACCENTED = "e\u0301"  # e and a combining acute accent: 2 units, one character on screen
LEAF = "🍂"

GRAPHEMES = GraphemeSegmenter()
CODE_POINTS = CodePointSegmenter()


class Chunks:
    """Clusters of `size` code points: a segmenter whose boundaries no Unicode rule explains,
    so a cut that keeps them whole can only have asked."""

    def __init__(self, size: int) -> None:
        self.size = size

    def graphemes(self, text: str) -> list[str]:
        return [text[i:i + self.size] for i in range(0, len(text), self.size)]


def test_characters_count_as_tiktok_counts_them() -> None:
    assert [utf16_units(t) for t in ("a", "é", "中", LEAF, THUMB, FLAG, FAMILY)] == [1, 1, 1, 2, 4, 4, 11]


@pytest.mark.parametrize("caption", [LEAF * 90, "a" * 90, FAMILY * 12 + "ab", ""])
def test_every_caption_of_at_most_90_characters_is_taken(caption: str) -> None:
    assert len(caption) <= 90
    assert tiktok_text_violations(caption, "", caption_must_fit_title=False) == []


def test_a_caption_of_91_characters_is_refused_saying_how_it_is_counted() -> None:
    [violation] = tiktok_text_violations("a" * 89 + LEAF * 2, "", caption_must_fit_title=False)
    assert violation.field == "caption"
    assert violation.description == "must be at most 90 characters (Unicode code points); got 91"


def test_a_caption_the_title_holds_is_sent_as_the_title() -> None:
    caption = "a" * 88 + LEAF  # 90 units
    assert tiktok_text(caption, "More below", GRAPHEMES) == TikTokText(caption, "More below")


def test_90_emoji_go_whole_into_the_description_under_a_title_that_fits() -> None:
    caption = LEAF * 90  # 90 characters, 180 units
    sent = tiktok_text(caption, "", GRAPHEMES)
    assert sent.fitted == CAPTION_OVER_TITLE_LIMIT
    assert sent.description == caption
    assert sent.title == LEAF * 44 + ELLIPSIS
    assert utf16_units(sent.title) == 89  # an emoji more would be 91 with the ellipsis
    assert "180 UTF-16 units" in sent.explained(caption) and "whole caption is the description" in (
        sent.explained(caption))


def test_the_caller_description_follows_the_whole_caption_after_a_blank_line() -> None:
    caption = "Autumn " + LEAF * 50
    sent = tiktok_text(caption, "Shot in the Black Forest", GRAPHEMES)
    assert sent.description == f"{caption}\n\nShot in the Black Forest"
    assert sent.title.startswith("Autumn " + LEAF) and sent.title.endswith(ELLIPSIS)
    assert utf16_units(sent.title) <= 90


@pytest.mark.parametrize(
    "cluster",
    [
        FAMILY,
        FLAG,
        THUMB,
        ACCENTED,
        "\u0915\u094d\u0937",  # a Devanagari conjunct: consonant, virama, consonant
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # a woman with a skin tone, a joiner, a laptop: 7 units
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland's flag: tags, 14 units
        "1\ufe0f\u20e3",  # a keycap: digit, variation selector, enclosing keycap
        "a\u0301\u0323",  # two combining accents
        "\u1100\u1161\u11a8",  # a Hangul syllable of three jamo
    ],
    ids=["family", "flag", "skin-tone", "accent", "conjunct", "zwj-skin-tone", "tag-flag", "keycap", "accents",
         "jamo"],
)
def test_a_title_is_cut_between_grapheme_clusters_never_inside_one(cluster: str) -> None:
    for lead in range(15):  # every position of the cut against the cluster's parts
        text = "x" * lead + cluster * 40
        title = title_cut(text, 90, GRAPHEMES)
        assert utf16_units(title) <= 90
        body = title.removesuffix(ELLIPSIS)[lead:]
        assert body == cluster * (len(body) // len(cluster)), (lead, title)
        title.encode("utf-8")  # no lone surrogate either


def test_a_cut_leaves_no_space_before_the_ellipsis() -> None:
    assert title_cut("a" * 88 + " " + LEAF * 10, 90, GRAPHEMES) == "a" * 88 + ELLIPSIS
    assert title_cut("a" * 88 + " " + LEAF * 10, 90, CODE_POINTS) == "a" * 88 + ELLIPSIS


def test_an_operator_can_refuse_a_caption_the_title_cannot_hold() -> None:
    caption = LEAF * 46  # 46 characters, 92 units
    assert tiktok_text_violations(caption, "", caption_must_fit_title=False) == []
    [violation] = tiktok_text_violations(caption, "", caption_must_fit_title=True)
    assert violation.field == "caption"
    assert violation.description.startswith("must be at most 90 UTF-16 code units, as TikTok counts its title (")
    assert "got 92" in violation.description
    assert "DISTRIBUTION_TIKTOK_REQUIRE_CAPTION_FITS_TITLE" in violation.description
    assert tiktok_text_violations(FAMILY * 8, "", caption_must_fit_title=True) == []  # 88 units


def test_the_description_is_counted_as_tiktok_counts_it() -> None:
    [violation] = tiktok_text_violations("", LEAF * 2001, caption_must_fit_title=False)
    assert violation.field == "description"
    assert violation.description.startswith("must be at most 4000 UTF-16 code units, as TikTok counts (")
    assert violation.description.endswith("; got 4002")


def test_a_description_that_would_not_fit_behind_the_whole_caption_is_refused_naming_its_room() -> None:
    caption = LEAF * 50  # 100 units: goes into the description
    room = 4000 - 100 - 2
    assert tiktok_text_violations(caption, "d" * room, caption_must_fit_title=False) == []
    assert utf16_units(tiktok_text(caption, "d" * room, GRAPHEMES).description) == 4000
    [violation] = tiktok_text_violations(caption, "d" * (room + 1), caption_must_fit_title=False)
    assert violation.field == "description"
    assert violation.description.startswith(f"must be at most {room} UTF-16 code units with this caption")
    # A caption the title holds leaves the description's whole 4000 to the caller.
    assert tiktok_text_violations("short", "d" * 4000, caption_must_fit_title=False) == []


# --- the cut's arithmetic, with simple segmenters --------------------------------------------


def test_a_title_is_the_longest_run_of_whole_clusters_that_leaves_room_for_the_ellipsis() -> None:
    assert title_cut("a" * 100, 90, CODE_POINTS) == "a" * 89 + ELLIPSIS
    assert title_cut("a" * 100, 10, CODE_POINTS) == "a" * 9 + ELLIPSIS
    assert title_cut("a" * 100, 1, CODE_POINTS) == ELLIPSIS  # no room but for the ellipsis
    assert title_cut("ab" * 50, 90, Chunks(2)) == "ab" * 44 + ELLIPSIS  # 88 units: the next pair would be 90


@pytest.mark.parametrize("size", [2, 3, 5, 7])
def test_a_title_never_splits_a_cluster_the_segmenter_gives(size: int) -> None:
    segmenter = Chunks(size)
    for lead in range(size):
        text = "x" * lead + "abcdefg" * 20
        title = title_cut(text, 90, segmenter).removesuffix(ELLIPSIS)
        clusters = segmenter.graphemes(text)
        assert title in {"".join(clusters[:n]) for n in range(len(clusters) + 1)}, (size, lead)
        assert utf16_units(title) <= 89
        assert utf16_units(title) + size > 89  # the next cluster would not have fitted


@pytest.mark.parametrize("lead", range(4))
def test_a_surrogate_pair_is_never_split_even_by_a_segmenter_that_knows_no_clusters(lead: int) -> None:
    # A Python string holds code points: an emoji outside the BMP is one, whatever the
    # segmenter, so the cut can never leave half of its UTF-16 pair.
    title = title_cut("x" * lead + LEAF * 90, 90, CODE_POINTS)
    assert utf16_units(title) <= 90
    assert title.removesuffix(ELLIPSIS)[lead:] == LEAF * ((89 - lead) // 2)
    title.encode("utf-16-le")  # strict: a lone surrogate would raise


def test_the_segmenter_decides_where_a_joined_emoji_may_be_cut() -> None:
    text = "aaa" + FAMILY * 9  # 102 units; "aaa" and 7 families are 80, leaving 9 of the 89 before the ellipsis
    by_code_points = title_cut(text, 90, CODE_POINTS)
    assert by_code_points.removesuffix(ELLIPSIS) == "aaa" + FAMILY * 7 + FAMILY[:6]  # 89 units, a broken family
    assert title_cut(text, 90, GRAPHEMES) == "aaa" + FAMILY * 7 + ELLIPSIS


def test_the_text_sent_for_a_caption_the_title_holds_never_asks_the_segmenter() -> None:
    class Refusing:
        def graphemes(self, text: str) -> list[str]:
            raise AssertionError("a caption the title holds is not cut")

    assert tiktok_text(FAMILY * 8, "d", Refusing()) == TikTokText(FAMILY * 8, "d")


# --- Unicode's clusters, with the real segmenter ---------------------------------------------


@pytest.mark.parametrize("cluster", [FAMILY, FLAG, THUMB, ACCENTED, LEAF])
def test_a_caption_of_clusters_too_long_for_the_title_gets_a_title_of_whole_ones(cluster: str) -> None:
    caption = (cluster * 90)[:90]  # at most 90 characters: the spec takes it
    for lead in ("", "x", "xy"):
        text = lead + caption[: 90 - len(lead)]
        sent = tiktok_text(text, "", GRAPHEMES)
        if not sent.fitted:
            continue  # the title holds it as it is
        assert sent.description == text
        kept = GRAPHEMES.graphemes(sent.title.removesuffix(ELLIPSIS))
        assert kept == GRAPHEMES.graphemes(text)[: len(kept)], (cluster, lead)  # whole clusters, from the start
        assert utf16_units(sent.title) <= 90
