"""Pure presentation helpers for the console (no streamlit import, unit-tested)."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~:$<])")


def escape_markdown(text: str) -> str:
    """Escape characters Streamlit markdown would interpret."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def highlight_segments(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """Split text into (segment, is_match) pieces, matching the longest terms first.

    Args:
        text: the passage text.
        terms: words to highlight.

    Returns:
        Consecutive segments whose concatenation is the text.
    """
    wanted = sorted({t for t in terms if t}, key=len, reverse=True)
    if not wanted:
        return [(text, False)] if text else []
    pattern = re.compile("|".join(re.escape(t) for t in wanted))
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            segments.append((text[position : match.start()], False))
        segments.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def highlight_markdown(text: str, terms: list[str]) -> str:
    """Markdown with matched terms on a highlighted background, everything else escaped."""
    return "".join(
        f":orange-background[{escape_markdown(seg)}]" if hit else escape_markdown(seg)
        for seg, hit in highlight_segments(text, terms)
    ).replace("\n", "  \n")
