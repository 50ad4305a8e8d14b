"""A simple TextSegmenter: every code point a cluster of its own."""

from __future__ import annotations


class CodePointSegmenter:
    """Knows no joined characters: a family emoji is seven clusters, a flag two. What a rule
    does with it is its own arithmetic, apart from Unicode's segmentation rules (for those,
    the real segmenter, server.adapters.text.GraphemeSegmenter)."""

    def graphemes(self, text: str) -> list[str]:
        return list(text)
