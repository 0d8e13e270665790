"""What a customer contact is about: one taxonomy for calls and chats.

The console reads a caller's need with keyword scores (``assist.intents``, from
``data/assist/intents.yaml``); the chatbot reads a message's intent with topic rules
(``chatbot.understanding``, from ``data/chatbot/routing_rules.yaml``). Both name the same intents,
so that every contact, by phone or by chat, is counted under one reason (KPIs, QA, routing
review). Each channel uses the part it needs: the console tells refusal and amount disputes apart
(the agent's reply differs), while the chatbot hands every dispute over as a complaint (ROUTING.md)
and has ``to_human`` for a customer asking for a person.
"""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """The reason of a contact."""

    CLAUSE_QUERY = "clause_query"
    REPORT_CLAIM = "report_claim"
    CLAIM_PROGRESS = "claim_progress"
    CLAIM_MATERIALS = "claim_materials"
    RENEWAL_CHANGE = "renewal_change"
    VALUE_ADDED = "value_added"
    COMPLAINT = "complaint"
    REFUSAL_DISPUTE = "refusal_dispute"
    AMOUNT_DISPUTE = "amount_dispute"
    TO_HUMAN = "to_human"
    OTHER = "other"


INTENT_LABELS: dict[Intent, str] = {
    Intent.CLAUSE_QUERY: "条款咨询",
    Intent.REPORT_CLAIM: "报案",
    Intent.CLAIM_PROGRESS: "理赔进度",
    Intent.CLAIM_MATERIALS: "理赔材料",
    Intent.RENEWAL_CHANGE: "续保/保单变更",
    Intent.VALUE_ADDED: "增值服务",
    Intent.COMPLAINT: "投诉",
    Intent.REFUSAL_DISPUTE: "拒赔争议",
    Intent.AMOUNT_DISPUTE: "定损争议",
    Intent.TO_HUMAN: "转人工",
    Intent.OTHER: "其他",
}
"""How each intent reads in Chinese (pages, handoffs, summaries)."""


def intent_label(intent: Intent | str) -> str:
    """The Chinese label of an intent; an unknown value is shown as it is."""
    try:
        return INTENT_LABELS[Intent(intent)]
    except ValueError:
        return str(intent)
