"""Filling ``{placeholders}`` in trainer-written templates (replies, scripts, answers), pure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.models import Hit

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_FIRST_SENTENCE = re.compile(r"^(.+?[。；;])")

# What a placeholder says when the profile does not know the value: still a natural sentence.
FALLBACKS: dict[str, str] = {
    "客户称呼": "您",
    "案件号": "您的案件",
    "车牌": "您的车辆",
    "保单号": "您的保单",
    "坐席工号": "我",
}


def fill_placeholders(
    template: str, values: Mapping[str, str], fallbacks: Mapping[str, str] | None = None
) -> str:
    """Replace each ``{name}`` with its value, else its fallback, else nothing.

    Never leaves a raw brace in front of a customer: an unknown placeholder becomes empty.

    Args:
        template: text with placeholders such as ``{客户称呼}``.
        values: known values (blank values count as unknown).
        fallbacks: what to say for a name without a value.

    Returns:
        The filled text.
    """
    spare = fallbacks or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        return values.get(name, "").strip() or spare.get(name, "")

    return PLACEHOLDER.sub(value, template)


BARE_ANSWER_CHARS = 4
"""A first sentence this short ("可以的。", "有的。") says nothing alone: the next one joins it."""


def gist(hit: Hit, limit: int = 80) -> str:
    """The first sentence of a passage, trimmed: what the clause says, in its own words.

    A bare yes ("可以的。") takes the next sentence along ("可以的，发生保险事故后…").
    """
    text = " ".join(hit.text.split())
    found = _FIRST_SENTENCE.match(text)
    sentence = found.group(1) if found else text
    if found and len(sentence.rstrip("。；;")) <= BARE_ANSWER_CHARS:
        following = _FIRST_SENTENCE.match(text[found.end() :].lstrip())
        rest = following.group(1) if following else text[found.end() :].strip()
        if rest:
            sentence = sentence.rstrip("。；;") + "，" + rest
    sentence = sentence.rstrip("。；;")
    return sentence if len(sentence) <= limit else sentence[:limit] + "…"
