"""Counting what the chatbot did with messages, and scoring unknown-intent bars (pure)."""

from __future__ import annotations

import pytest

from chatbot.confidence import AnswerBar
from chatbot.models import BotAnswer
from chatbot.routing_sets import RoutingExample
from chatbot.understanding import MessageRules
from core.models import Hit, PassageKind
from core.settings import PROJECT_ROOT
from evaluation.chat_fallback import (
    CONFIDENCE_GRID,
    MATCHED_TERMS_GRID,
    BarExample,
    bar_examples,
    chat_outcomes,
    outcome,
    score_bar,
    sweep,
)
from studio.questions import DevQuestion

NOT_FOUND = "知识库里没有找到"


def _answer(**values: object) -> BotAnswer:
    fields: dict[str, object] = {
        "session_id": "once",
        "text": "q",
        "route": "bot",
        "intent": "clause_query",
        "answer": "a",
    }
    return BotAnswer.model_validate(fields | values)


def _hits(pid: str, dense: float, terms: int = 1) -> list[Hit]:
    hit = Hit(
        id=pid,
        kind=PassageKind.FAQ,
        title="t",
        citation=pid,
        text="x",
        score=1.0,
        dense_score=dense,
        matched_terms=["词"] * terms,
    )
    return [hit]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"route": "human", "citations": ["c"]}, "human"),
        ({"citations": ["c"], "intent": "other"}, "knowledge"),
        ({"intent": "other", "answer": NOT_FOUND}, "fallback"),
        ({"intent": "renewal_change", "answer": NOT_FOUND}, "fallback"),
        ({"intent": "claim_progress", "answer": "请发送保单号"}, "template"),
        ({"intent": "other", "answer": "您好，我是车险智能客服。"}, "template"),  # a greeting
    ],
)
def test_an_answer_is_one_outcome(values: dict[str, object], expected: str) -> None:
    assert outcome(_answer(**values), {NOT_FOUND}) == expected


def test_outcomes_are_counted_with_their_messages() -> None:
    replies = {
        "充电桩能保吗": _answer(intent="other", citations=["c"]),
        "天气": _answer(intent="other", answer=NOT_FOUND),
    }
    result = chat_outcomes(replies.__getitem__, ["充电桩能保吗", "天气"], {NOT_FOUND})
    assert result.total == 2
    assert result.counts == {"knowledge": 1, "fallback": 1, "template": 0, "human": 0}
    assert result.examples["fallback"] == ["天气"]


def test_a_bar_is_scored_on_what_it_answers() -> None:
    examples = [
        BarExample(text="充电桩", answerable=True, gold=["nev-pile-1"]),
        BarExample(text="电池", answerable=True, gold=["nev-9"]),
        BarExample(text="限行", answerable=False),
        BarExample(text="天气", answerable=False),
    ]
    hits = [
        _hits("nev-pile-1", 0.90),
        _hits("svc-1", 0.88),
        _hits("svc-2", 0.88),
        _hits("svc-3", 0.85, terms=0),
    ]
    score = score_bar(AnswerBar(min_confidence=0.7, min_matched_terms=1), examples, hits)
    assert (score.answered, score.wrongly_answered) == (2, 1)
    assert (score.answerable, score.unanswerable) == (2, 2)
    assert score.precision == pytest.approx(2 / 3) and score.recall == 1.0
    assert score.f_beta == pytest.approx(1.25 * (2 / 3) / (0.25 * (2 / 3) + 1))
    assert (score.cites_gold, score.with_gold) == (1, 2)  # the battery answer cites svc-1

    strict = score_bar(AnswerBar(min_confidence=1.0), examples, hits)
    assert (strict.answered, strict.wrongly_answered, strict.f_beta) == (1, 0, pytest.approx(5 / 6))
    ranked = sweep(examples, hits)
    assert len(ranked) == len(CONFIDENCE_GRID) * len(MATCHED_TERMS_GRID)
    assert ranked[0].f_beta == max(s.f_beta for s in ranked)
    # ties go to the stricter bar
    assert ranked[0].bar == AnswerBar(min_confidence=1.0, min_matched_terms=1)


def test_bar_examples_are_the_dev_messages_with_no_topic_the_bot_answers() -> None:
    rules = MessageRules.load(PROJECT_ROOT / "data" / "chatbot" / "routing_rules.yaml")
    questions = [
        DevQuestion(id="dq-1", question="新能源车的充电桩能保吗", gold=["nev-pile-1"]),
        DevQuestion(id="dq-2", question="车损险赔不赔玻璃", gold=["cm2020-1"]),
    ]

    def labelled(number: int, text: str, intent: str, route: str = "bot") -> RoutingExample:
        return RoutingExample.model_validate(
            {"id": f"rt-{number}", "text": text, "route": route, "intent": intent}
        )

    routing = [
        labelled(1, "出国自驾的话国内车险管用吗", "clause_query"),
        labelled(2, "今天天气怎么样", "other"),
        labelled(3, "你好", "other"),  # a greeting is greeted, not searched
        labelled(4, "你们这是什么破服务", "other", route="human"),
        labelled(5, "请问你是机器人还是人工啊", "to_human"),
    ]
    examples = bar_examples(rules, questions, routing)
    assert [(e.text, e.answerable, e.gold) for e in examples] == [
        ("新能源车的充电桩能保吗", True, ["nev-pile-1"]),
        ("出国自驾的话国内车险管用吗", True, []),
        ("今天天气怎么样", False, []),
    ]
