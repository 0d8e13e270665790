"""Counting evaluation messages whose text also occurs in the training data."""

from __future__ import annotations

from chatbot.understanding import ChatIntent
from evaluation.routing_bench import shared_with
from evaluation.routing_eval import RoutingExample


def _example(number: int, text: str) -> RoutingExample:
    return RoutingExample(
        id=f"t-{number:03d}", text=text, route="bot", intent=ChatIntent.OTHER, reasons=[]
    )


def test_texts_are_compared_without_white_space_and_punctuation() -> None:
    known = {"谢谢", "人工"}
    examples = [_example(1, "谢谢！"), _example(2, " 人 工 "), _example(3, "谢谢你")]
    assert shared_with(examples, known) == 2


def test_nothing_is_shared_with_an_empty_training_set() -> None:
    assert shared_with([_example(1, "好的")], set()) == 0
