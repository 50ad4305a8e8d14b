"""TikTok's caption and description lengths, counted as TikTok counts them (UTF-16 code
units), and a message that says how: a joined emoji counts all of its parts."""

from __future__ import annotations

from server.domain.validation import tiktok_text_violations, utf16_units

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people, three joiners


def test_characters_count_as_tiktok_counts_them() -> None:
    assert [utf16_units(t) for t in ("a", "é", "中", "🍂", "👍🏽", "🇫🇷", FAMILY)] == [1, 1, 1, 2, 4, 4, 11]


def test_eight_family_emoji_fit_a_caption_and_nine_do_not() -> None:
    assert tiktok_text_violations(FAMILY * 8, "") == []
    [violation] = tiktok_text_violations(FAMILY * 9, "")
    assert violation.field == "caption"
    assert violation.description == (
        "must be at most 90 UTF-16 code units, as TikTok counts (a letter counts 1, most emoji 2, "
        f"a joined emoji more (the family emoji {FAMILY} counts 11)); got 99"
    )


def test_the_description_is_counted_the_same_way() -> None:
    [violation] = tiktok_text_violations("", "🍂" * 2001)
    assert violation.field == "description"
    assert violation.description.startswith("must be at most 4000 UTF-16 code units, as TikTok counts (")
    assert violation.description.endswith("; got 4002")
