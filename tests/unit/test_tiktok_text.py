"""A TikTok caption: the spec's count (characters: Unicode code points) decides what is taken;
TikTok's count (UTF-16 code units) decides what is sent as the title and what goes to the
description; a title is cut between grapheme clusters, never inside a joined emoji."""

from __future__ import annotations

import pytest

from server.domain.tiktok_text import (
    CAPTION_OVER_TITLE_LIMIT,
    ELLIPSIS,
    TikTokText,
    tiktok_text,
    tiktok_text_violations,
    title_cut,
    utf16_units,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people, three joiners: 11 units
FLAG = "\U0001f1eb\U0001f1f7"  # two regional letters: 4 units
THUMB = "\U0001f44d\U0001f3fd"  # a thumb and a skin tone: 4 units
ACCENTED = "e\u0301"  # e and a combining acute accent: 2 units, one character on screen
LEAF = "🍂"


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
    assert tiktok_text(caption, "More below") == TikTokText(caption, "More below")


def test_90_emoji_go_whole_into_the_description_under_a_title_that_fits() -> None:
    caption = LEAF * 90  # 90 characters, 180 units
    sent = tiktok_text(caption, "")
    assert sent.fitted == CAPTION_OVER_TITLE_LIMIT
    assert sent.description == caption
    assert sent.title == LEAF * 44 + ELLIPSIS
    assert utf16_units(sent.title) == 89  # an emoji more would be 91 with the ellipsis
    assert "180 UTF-16 units" in sent.explained(caption) and "whole caption is the description" in (
        sent.explained(caption))


def test_the_caller_description_follows_the_whole_caption_after_a_blank_line() -> None:
    caption = "Autumn " + LEAF * 50
    sent = tiktok_text(caption, "Shot in the Black Forest")
    assert sent.description == f"{caption}\n\nShot in the Black Forest"
    assert sent.title.startswith("Autumn " + LEAF) and sent.title.endswith(ELLIPSIS)
    assert utf16_units(sent.title) <= 90


@pytest.mark.parametrize("cluster", [FAMILY, FLAG, THUMB, ACCENTED, "\u0915\u094d\u0937"])
def test_a_title_is_cut_between_grapheme_clusters_never_inside_one(cluster: str) -> None:
    for lead in range(12):  # every position of the cut against the cluster's parts
        text = "x" * lead + cluster * 40
        title = title_cut(text, 90)
        assert utf16_units(title) <= 90
        body = title.removesuffix(ELLIPSIS)[lead:]
        assert body == cluster * (len(body) // len(cluster)), (lead, title)
        title.encode("utf-8")  # no lone surrogate either


def test_a_cut_leaves_no_space_before_the_ellipsis() -> None:
    assert title_cut("a" * 88 + " " + LEAF * 10, 90) == "a" * 88 + ELLIPSIS


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
    assert utf16_units(tiktok_text(caption, "d" * room).description) == 4000
    [violation] = tiktok_text_violations(caption, "d" * (room + 1), caption_must_fit_title=False)
    assert violation.field == "description"
    assert violation.description.startswith(f"must be at most {room} UTF-16 code units with this caption")
    # A caption the title holds leaves the description's whole 4000 to the caller.
    assert tiktok_text_violations("short", "d" * 4000, caption_must_fit_title=False) == []
