"""A TikTok photo post's caption: how the spec counts it, how TikTok counts it, and what is
sent so that both hold.

The spec takes a caption of up to 90 characters, counted as Unicode code points. TikTok
takes the caption as `post_info.title`, up to 90 UTF-16 code units, and a
`post_info.description` of up to 4000 (docs/platforms.md, "TikTok caption length"): an
emoji outside the Basic Multilingual Plane is one character but two units, so a caption the
spec takes can be too long for TikTok's title. Such a caption is sent whole as the
description, with a title cut from it to fit, at a grapheme cluster boundary (a joined emoji,
a flag or a letter with its accents is never split), unless the operator asked for the
strict refusal instead (`caption_must_fit_title`). Where those boundaries lie is the
TextSegmenter port's to say: the functions here take it as an argument and stay pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import FieldViolation
from server.domain.limits import TIKTOK
from server.domain.ports import TextSegmenter

# What a title cut from a longer caption ends with: the reader sees it goes on (in the
# description). One UTF-16 unit.
ELLIPSIS = "\u2026"
# Between the caption and a description the caller gave, when both go into the description.
SEPARATOR = "\n\n"
# Why the text sent differs from the caption and description the caller sent.
CAPTION_OVER_TITLE_LIMIT = "CAPTION_OVER_TITLE_LIMIT"

# How TikTok's count reads to a person: what a character costs in UTF-16 code units.
_UTF16_COUNTING = "a letter counts 1, most emoji 2, a joined emoji more (the family emoji 👨‍👩‍👧‍👦 counts 11)"


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as TikTok (and JavaScript's String.length) count: a
    character outside the Basic Multilingual Plane (most emoji) counts 2, and an emoji joined
    from several (with zero-width joiners, skin tones) counts all of its parts."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


@dataclass(frozen=True)
class TikTokText:
    """What is sent as post_info.title and post_info.description. `fitted` says why they
    differ from the caption and description of the request (empty: sent as given)."""

    title: str
    description: str
    fitted: str = ""

    def explained(self, caption: str) -> str:
        """The reason in words, for the publish's timeline (empty when nothing was changed)."""
        if not self.fitted:
            return ""
        return (
            f"the caption is {utf16_units(caption)} UTF-16 units and TikTok's title takes "
            f"{TIKTOK.title_max_utf16}, so the title is its first {utf16_units(self.title)} units and the "
            "whole caption is the description"
        )


def tiktok_text(caption: str, description: str, segmenter: TextSegmenter) -> TikTokText:
    """The title and description to send for a caption the spec takes (at most 90 code
    points) and an optional description. A caption TikTok's title holds is sent as it is.
    A longer one is sent whole as the description, ahead of the caller's own description
    (after a blank line): nothing the caller wrote is dropped. Its title is the caption cut
    at the last grapheme cluster boundary (as `segmenter` finds them) that leaves room for an
    ellipsis."""
    if fits_title(caption):
        return TikTokText(caption, description)
    return TikTokText(
        title_cut(caption, TIKTOK.title_max_utf16, segmenter),
        description_sent(caption, description),
        CAPTION_OVER_TITLE_LIMIT,
    )


def fits_title(caption: str) -> bool:
    """Whether TikTok's title holds the caption (90 UTF-16 units)."""
    return utf16_units(caption) <= TIKTOK.title_max_utf16


def description_sent(caption: str, description: str) -> str:
    """What is sent as the description: the caller's, behind the whole caption when the
    title cannot hold the caption."""
    if fits_title(caption):
        return description
    return f"{caption}{SEPARATOR}{description}" if description else caption


def title_cut(text: str, limit: int, segmenter: TextSegmenter) -> str:
    """`text` cut to at most `limit` UTF-16 units, ellipsis included, between the grapheme
    clusters `segmenter` finds (so never inside a surrogate pair, a joined emoji, a flag or
    a combined letter), without the spaces the cut leaves at its end."""
    room = limit - utf16_units(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for cluster in segmenter.graphemes(text):
        units = utf16_units(cluster)
        if used + units > room:
            break
        kept.append(cluster)
        used += units
    return "".join(kept).rstrip() + ELLIPSIS


def tiktok_text_violations(caption: str, description: str, *, caption_must_fit_title: bool) -> list[FieldViolation]:
    """The caption's limit as the spec counts it (90 code points); the description's as
    TikTok counts it (4000 UTF-16 units, with the caption ahead of it when the caption goes
    there too). With `caption_must_fit_title` (an operator's opt-in), a caption longer than
    TikTok's title is refused instead of sent as the description."""
    violations = []
    characters = len(caption)
    if characters > TIKTOK.caption_max_chars:
        violations.append(
            FieldViolation(
                "caption",
                f"must be at most {TIKTOK.caption_max_chars} characters (Unicode code points); got {characters}",
            )
        )
    elif caption_must_fit_title and not fits_title(caption):
        violations.append(
            FieldViolation(
                "caption",
                f"must be at most {TIKTOK.title_max_utf16} UTF-16 code units, as TikTok counts its title "
                f"({_UTF16_COUNTING}); got {utf16_units(caption)}. This service is set to refuse such a caption "
                "(DISTRIBUTION_TIKTOK_REQUIRE_CAPTION_FITS_TITLE) rather than send it as the description",
            )
        )
    units = utf16_units(description)
    if units > TIKTOK.description_max_utf16:
        violations.append(
            FieldViolation(
                "description",
                f"must be at most {TIKTOK.description_max_utf16} UTF-16 code units, as TikTok counts "
                f"({_UTF16_COUNTING}); got {units}",
            )
        )
    elif not violations and utf16_units(description_sent(caption, description)) > TIKTOK.description_max_utf16:
        room = TIKTOK.description_max_utf16 - utf16_units(caption + SEPARATOR)
        violations.append(
            FieldViolation(
                "description",
                f"must be at most {room} UTF-16 code units with this caption: the caption "
                f"({utf16_units(caption)} units) is longer than TikTok's title takes "
                f"({TIKTOK.title_max_utf16}), so it goes whole at the head of the description, which TikTok "
                f"limits to {TIKTOK.description_max_utf16}; got {units}",
            )
        )
    return violations
