"""Counting evaluation messages whose text also occurs in the training data."""

from __future__ import annotations

from chatbot.routing_sets import RoutingExample
from conversation.intents import Intent
from evaluation.routing_bench import cross_author_lines, shared_with


def _example(number: int, text: str) -> RoutingExample:
    return RoutingExample(
        id=f"t-{number:03d}", text=text, route="bot", intent=Intent.OTHER, reasons=[]
    )


def test_texts_are_compared_without_white_space_and_punctuation() -> None:
    known = {"谢谢", "人工"}
    examples = [_example(1, "谢谢！"), _example(2, " 人 工 "), _example(3, "谢谢你")]
    assert shared_with(examples, known) == 2


def test_nothing_is_shared_with_an_empty_training_set() -> None:
    assert shared_with([_example(1, "好的")], set()) == 0


def test_the_cross_author_table_lists_every_author_set_and_the_total() -> None:
    metrics = {
        "auc": 0.98,
        "authors.messages": 30.0,
        "authors.human_recall": 0.9,
        "authors.needless_handoff_rate": 0.1,
        "author.a.jsonl.messages": 10.0,
        "author.a.jsonl.human_recall": 1.0,
        "author.a.jsonl.needless_handoff_rate": 0.0,
        "author.b.jsonl.messages": 20.0,
        "author.b.jsonl.human_recall": 0.85,
        "author.b.jsonl.needless_handoff_rate": 0.125,
    }
    lines = cross_author_lines(metrics)
    assert "| a.jsonl | 10 | 1.000 | 0.000 |" in lines
    assert "| b.jsonl | 20 | 0.850 | 0.125 |" in lines
    assert "| all | 30 | 0.900 | 0.100 |" in lines


def test_no_author_sets_no_table() -> None:
    assert cross_author_lines({"auc": 0.98}) == []
