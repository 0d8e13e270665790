from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.routing_sets import RoutingExample, load_routing_set, split_routing
from chatbot.understanding import Reason
from conversation.intents import Intent
from core.errors import PolicyDeskError
from evaluation.routing_eval import format_scores, score_routing


def _example(
    number: int,
    route: str,
    intent: str = "other",
    reasons: list[str] | None = None,
    text: str | None = None,
) -> RoutingExample:
    return RoutingExample.model_validate(
        {
            "id": f"rm-{number:03d}",
            "text": text or f"message {number}",
            "route": route,
            "intent": intent,
            "reasons": reasons or [],
            "hard": False,
        }
    )


def _write(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return path


def test_load_reads_typed_examples(tmp_path: Path) -> None:
    record = {
        "id": "rm-007",
        "text": "转人工",
        "route": "human",
        "intent": "to_human",
        "reasons": ["explicit_request"],
        "hard": True,
    }
    [example] = load_routing_set(_write(tmp_path, [record]))
    assert example.number == 7
    assert example.intent is Intent.TO_HUMAN
    assert example.reasons == [Reason.EXPLICIT_REQUEST]


@pytest.mark.parametrize(
    ("field", "value"),
    [("route", "agent"), ("intent", "chit_chat"), ("reasons", ["bored"]), ("id", "rm-x")],
)
def test_load_names_the_bad_line(tmp_path: Path, field: str, value: object) -> None:
    good: dict[str, object] = {
        "id": "rm-001",
        "text": "你好",
        "route": "bot",
        "intent": "other",
        "reasons": [],
    }
    bad = {**good, "id": "rm-002", field: value}
    path = _write(tmp_path, [good, bad])
    with pytest.raises(PolicyDeskError, match="line 2"):
        load_routing_set(path)


def test_split_holds_out_every_third_id() -> None:
    examples = [_example(n, "bot") for n in range(1, 10)]
    dev, heldout = split_routing(examples)
    assert [e.number for e in heldout] == [3, 6, 9]
    assert [e.number for e in dev] == [1, 2, 4, 5, 7, 8]


def test_scores_against_a_scripted_router() -> None:
    examples = [
        _example(1, "human", "complaint", ["complaint"], text="h1"),
        _example(2, "human", "to_human", ["explicit_request", "account_specific"], text="h2"),
        _example(4, "bot", "clause_query", text="b1"),
        _example(5, "bot", "other", ["injection_attempt"], text="b2"),
        _example(7, "bot", "renewal_change", text="b3"),
        _example(8, "bot", "value_added", text="b4"),
    ]
    answers = {
        "h1": ("human", "complaint", ["complaint"]),
        "h2": ("bot", "to_human", ["account_specific"]),
        "b1": ("human", "clause_query", ["low_confidence"]),
        "b2": ("bot", "other", []),
        "b3": ("bot", "clause_query", []),
        "b4": ("bot", "value_added", []),
    }
    scores = score_routing(examples, lambda text: answers[text])
    assert scores.total == 6
    assert scores.human_recall == pytest.approx(1 / 2)
    assert scores.human_precision == pytest.approx(1 / 2)
    assert scores.needless_handoff_rate == pytest.approx(1 / 4)
    assert scores.route_accuracy == pytest.approx(4 / 6)
    assert scores.intent_accuracy == pytest.approx(5 / 6)
    assert scores.reason_recall == {
        "account_specific": 1.0,
        "complaint": 1.0,
        "explicit_request": 0.0,
        "injection_attempt": 0.0,
    }
    assert scores.reason_support["explicit_request"] == 1
    assert [e.id for e in scores.errors] == ["rm-002", "rm-004", "rm-007"]
    wrong_intent = scores.errors[2]
    assert wrong_intent.text == "b3"
    assert wrong_intent.expected.intent == "renewal_change"
    assert wrong_intent.got.intent == "clause_query"


def test_a_perfect_router_has_no_errors_and_no_needless_handoffs() -> None:
    examples = [_example(1, "human", "to_human", ["upset"]), _example(2, "bot", "other")]
    labels = {e.text: (e.route, e.intent.value, [r.value for r in e.reasons]) for e in examples}
    scores = score_routing(examples, lambda text: labels[text])
    assert scores.errors == []
    assert scores.human_recall == scores.human_precision == scores.intent_accuracy == 1.0
    assert scores.needless_handoff_rate == 0.0


def test_no_bot_labelled_messages_means_no_needless_handoffs() -> None:
    scores = score_routing([_example(1, "human")], lambda _: ("human", "other", []))
    assert scores.needless_handoff_rate == 0.0


def test_empty_sets_and_unknown_routes_are_refused() -> None:
    with pytest.raises(ValueError, match="no routing examples"):
        score_routing([], lambda _: ("bot", "other", []))
    with pytest.raises(ValueError, match="rm-001"):
        score_routing([_example(1, "bot")], lambda _: ("agent", "other", []))


def test_report_lists_figures_and_errors() -> None:
    scores = score_routing([_example(1, "human", text="救命")], lambda _: ("bot", "other", []))
    lines = format_scores("dev", scores)
    assert lines[0] == "dev: 1 messages"
    assert "human recall 0.000" in lines[1]
    assert any("rm-001" in line and "救命" in line for line in lines)
