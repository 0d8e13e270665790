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


def stage_track(stages: list[str], current: str) -> str:
    """A claim's progress as one line: done stages ticked, the current one marked.

    Args:
        stages: the claim stages in order (报案 → … → 支付).
        current: the claim's current stage.

    Returns:
        e.g. "✅报案 → ✅查勘 → 🔵定损 → ⚪核赔 → ⚪支付"; every stage unmarked when unknown.
    """
    if current not in stages:
        return " → ".join(f"⚪{s}" for s in stages)
    position = stages.index(current)
    done_all = position == len(stages) - 1
    marks = [
        "✅" if i < position or done_all else "🔵" if i == position else "⚪"
        for i in range(len(stages))
    ]
    return " → ".join(f"{m}{s}" for m, s in zip(marks, stages, strict=True))


def marked_draft(text: str, spans: list[tuple[int, int]]) -> str:
    """Markdown of the agent's draft with the guard's findings on a red background."""
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:
            continue
        pieces.append(escape_markdown(text[position:start]))
        pieces.append(f":red-background[{escape_markdown(text[start:end])}]")
        position = end
    pieces.append(escape_markdown(text[position:]))
    return "".join(pieces)
