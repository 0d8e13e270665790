"""Suggested replies: an intent's template filled from the profile and the retrieved text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assist.models import Suggestion
from core.models import Hit
from prompts.guard import ComplianceGuard
from sentiment.scripts import FALLBACKS

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_FIRST_SENTENCE = re.compile(r"^(.+?[。；;])")
EXTRA_FALLBACKS = {
    "案件阶段": "处理中",
    "依据": "保险条款的相关约定",
    "要点": "需要结合条款和具体情况判断",
    "权益": "道路救援",
}


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


def suggest(
    template: str,
    profile: Mapping[str, str],
    hits: Sequence[Hit],
    privileges: Sequence[str],
    guard: ComplianceGuard,
) -> Suggestion:
    """Fill a reply template and pass it through the guard (pure apart from the guard's rules).

    Args:
        template: the intent's reply with placeholders.
        profile: placeholder values from the customer profile.
        hits: retrieved clauses and FAQ answers, best first (the reply cites the top two).
        privileges: the member's privileges.
        guard: the compliance guard.

    Returns:
        The suggestion; offending sentences are replaced by the rule's compliant wording.
    """
    cited = list(hits[:2])
    values = dict(FALLBACKS) | EXTRA_FALLBACKS | {k: v for k, v in profile.items() if v}
    if cited:
        values["依据"] = "、".join(h.citation for h in cited)
        values["要点"] = gist(cited[0])
    if privileges:
        values["权益"] = "、".join(privileges)
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1).strip(), ""), template)
    cleaned, report = guard.sanitize(text)
    return Suggestion(
        text=cleaned,
        citations=[h.citation for h in cited],
        source="template",
        rewritten=not report.compliant,
    )
