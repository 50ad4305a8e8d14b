"""The text segmenter (the TextSegmenter port): extended grapheme clusters as the `regex`
module's `\\X` finds them, by the Unicode rules of the pinned `regex` release."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


class GraphemeSegmenter:
    def graphemes(self, text: str) -> list[str]:
        return list(_GRAPHEME.findall(text))
