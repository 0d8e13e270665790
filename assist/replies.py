"""Suggested replies: an intent's template filled from the profile and the retrieved text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assist.models import Suggestion
from core.models import Hit
from core.templates import FALLBACKS, fill_placeholders, gist
from prompts.guard import ComplianceGuard

EXTRA_FALLBACKS = {
    "案件阶段": "处理中",
    "依据": "保险条款的相关约定",
    "要点": "需要结合条款和具体情况判断",
    "权益": "道路救援",
}


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
    text = fill_placeholders(template, values)
    cleaned, report = guard.sanitize(text)
    return Suggestion(
        text=cleaned,
        citations=[h.citation for h in cited],
        source="template",
        rewritten=not report.compliant,
    )
