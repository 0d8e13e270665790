"""Pure presentation helpers for the console and the studio (no streamlit import, unit-tested)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from pydantic import ValidationError

from core.errors import PolicyDeskError, describe_validation_error
from quality.kpis import METRICS, KpiValue, Shape

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~:$<])")


def local_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (time-zone aware) time in the server's local zone ('—' when absent)."""
    return moment.astimezone().strftime(pattern) if moment is not None else "—"


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
    return mark_spans(text, spans, "red")


# ----- studio forms and messages ----------------------------------------------------------------

PRODUCTS = ["commercial", "rider", "nev", "compulsory", "service"]

_LIST_SEPARATORS = re.compile(r"[,，、;；\s]+")


class FormInputError(PolicyDeskError):
    """A value typed into a studio form that cannot be read; names the value."""


def split_list(text: str) -> list[str]:
    """Entries typed as one line or many, separated by commas, 、, semicolons or whitespace.

    Args:
        text: e.g. "ccic-1, ccic-2" or "涉水、暴雨".

    Returns:
        The non-blank entries in order, each once.
    """
    return list(dict.fromkeys(part for part in _LIST_SEPARATORS.split(text) if part))


def split_lines(text: str) -> list[str]:
    """Entries typed one per line (a rule's patterns, which may hold commas and spaces).

    Returns:
        The non-blank lines, stripped, in order.
    """
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_offset(text: str, marker: str, offset: int) -> int:
    """Where to split an article: before the first occurrence of ``marker`` when one is given,
    otherwise at the character ``offset``.

    Raises:
        FormInputError: the marker does not occur in the text.
    """
    needle = marker.strip()
    if not needle:
        return offset
    found = text.find(needle)
    if found < 0:
        raise FormInputError(f"{needle!r} does not occur in the article")
    return found


def describe_error(exc: Exception) -> str:
    """A one-line message for a refused action: a validation error's fields and reasons, or the
    error's own message."""
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc, limit=3)
    return str(exc)


def mark_spans(text: str, spans: list[tuple[int, int]], colour: str) -> str:
    """Markdown of a text with character ranges on a coloured background, the rest escaped."""
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position:
            continue
        pieces.append(escape_markdown(text[position:start]))
        pieces.append(f":{colour}-background[{escape_markdown(text[start:end])}]")
        position = end
    pieces.append(escape_markdown(text[position:]))
    return "".join(pieces)


def excerpt(text: str, limit: int = 60) -> str:
    """The start of a text on one line, with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def signed(value: float) -> str:
    """A metric change with its sign, e.g. "+0.125" or "-0.050"."""
    return f"{value:+.3f}"


def kpi_text(name: str, figure: KpiValue, units: Mapping[str, str] | None = None) -> str:
    """A KPI's figure as a tile shows it: a share as a percentage, a mean with its unit, NPS with
    its sign, '—' when nothing counts.

    Args:
        name: the metric's name (one not in ``quality.kpis.METRICS`` is a share).
        figure: its value.
        units: how to write a unit in the session's language (e.g. {"秒": "s"}).
    """
    if figure.value is None:
        return "—"
    shape = next((m.shape for m in METRICS if m.name == name), Shape.SHARE)
    v = figure.value
    if shape is Shape.SHARE:
        return f"{100 * v:.1f}%"
    if shape is Shape.NPS:
        return f"{v:+.0f}"
    unit = (units or {}).get(figure.unit, figure.unit)
    number = f"{v:.0f}" if figure.unit == "秒" else f"{v:.1f}"
    return f"{number} {unit}".strip()
