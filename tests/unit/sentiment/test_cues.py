from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.models import CueKind
from core.settings import PROJECT_ROOT
from sentiment.cues import CueBook, CueFile, CueRule, cue_boost, cue_features

SHIPPED = PROJECT_ROOT / "data" / "sentiment" / "cues.yaml"


@pytest.fixture(scope="module")
def book() -> CueBook:
    return CueBook.load(SHIPPED)


def test_unless_applies_to_its_own_clause_only(book: CueBook) -> None:
    matches = book.find("投诉电话是多少？我要投诉你们")
    assert [m.rule for m in matches] == ["complaint"]
    assert matches[0].text == "投诉" and matches[0].start == 10


def test_spans_point_into_the_text(book: CueBook) -> None:
    text = "你们这是什么垃圾公司，我要去12378"
    for match in book.find(text):
        assert text[match.start : match.end] == match.text


def test_situation_follows_file_order(book: CueBook) -> None:
    assert book.situation("有人受伤了，车也在冒烟") == "injury_scene"
    assert book.situation("拒赔了") == "claim_refused"
    assert book.situation("你好") == "general"


def test_features_and_boost() -> None:
    spec = CueFile(
        rules=[
            CueRule(id="a", kind=CueKind.ESCALATION, weight=0.3, patterns=["投诉"]),
            CueRule(id="b", kind=CueKind.PROFANITY, weight=0.2, patterns=["骗子"]),
        ]
    )
    book = CueBook(spec)
    matches = book.find("投诉！投诉！投诉！骗子")
    assert cue_features(matches, book.rule_ids) == [1.0, 0.5]
    assert cue_boost(matches) == pytest.approx(0.5)  # each rule counts once


def test_bad_rule_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "cues.yaml"
    bad.write_text(
        "rules:\n  - id: x\n    kind: escalation\n    weight: 0.2\n    patterns: ['(']\n"
    )
    with pytest.raises(ConfigurationError, match=r"cues\.yaml"):
        CueBook.load(bad)


def test_a_bad_situation_pattern_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "cues.yaml"
    bad.write_text(
        "rules:\n  - id: x\n    kind: escalation\n    weight: 0.2\n    patterns: ['投诉']\n"
        "situations:\n  long_wait: ['等了(很久']\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"(?s)cues\.yaml.*bad regular expression"):
        CueBook.load(bad)
