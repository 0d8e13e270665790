"""The shipped caller-emotion cue rules (data/sentiment/cues.yaml): each rule fires on what it is
for, and calm questions that share its words raise no escalation."""

from __future__ import annotations

import pytest

from core.models import CueKind
from core.settings import PROJECT_ROOT
from sentiment.cues import CueBook

SHIPPED = PROJECT_ROOT / "data" / "sentiment" / "cues.yaml"


@pytest.fixture(scope="module")
def book() -> CueBook:
    return CueBook.load(SHIPPED)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("再不给我处理我就打12378投诉你们", "regulator"),
        ("我要找媒体曝光你们", "media"),
        ("那我只能起诉了，法院见", "lawsuit"),
        ("叫你们领导来跟我说", "leader"),
        ("这已经是我第三次打电话了", "repeated-calls"),
        ("你们这帮骗子", "profanity"),
        ("救命啊车在冒烟", "urgency"),
    ],
)
def test_shipped_rules_fire(book: CueBook, text: str, rule: str) -> None:
    assert rule in {m.rule for m in book.find(text)}


@pytest.mark.parametrize(
    "text",
    ["请问投诉电话是多少", "12378是什么电话", "律师费保险能报吗", "我的车被撞了，想问下怎么报案"],
)
def test_calm_questions_fire_no_escalation(book: CueBook, text: str) -> None:
    assert not [m for m in book.find(text) if m.kind is CueKind.ESCALATION]
