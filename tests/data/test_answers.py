"""The shipped chatbot answers (data/chatbot/answers.yaml) against the shipped compliance rules."""

from __future__ import annotations

from chatbot.answers import AnswerBook
from core.settings import PROJECT_ROOT
from core.templates import fill_placeholders as fill
from prompts.guard import ComplianceGuard

ANSWERS = PROJECT_ROOT / "data" / "chatbot" / "answers.yaml"


def test_every_shipped_answer_passes_the_guard() -> None:
    book = AnswerBook.load(ANSWERS)
    guard = ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")
    texts = [v for k, v in book.model_dump().items() if isinstance(v, str)]
    texts += list(book.stages.values()) + list(book.agent_openers.values())
    for text in texts:
        filled = fill(text, {"客户称呼": "王先生", "要点": "条款约定", "依据": "第九条"})
        assert guard.check(filled).compliant, (text, guard.check(filled).rules)
    assert book.opener(["bot_failed", "injury_emergency"]) == book.agent_openers["bot_failed"]
    assert "人工" in book.opener(["unknown"])
