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


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("我就问你们一句，凭什么不赔？", "claim_refused"),
        ("你们就是找借口不赔！", "claim_refused"),
        ("报警了，交警说要等一会儿。这种情况你们赔不赔？", "general"),
        ("这个会不会不赔啊", "general"),
        ("复核要多久？", "general"),
        ("材料交了半个多月了还没到账", "long_wait"),
        ("什么意思？就是只能赔七成？", "amount_dispute"),
        ("我的车不见了！", "theft"),
    ],
)
def test_a_situation_needs_the_scene_not_a_question_about_it(
    book: CueBook, text: str, situation: str
) -> None:
    assert book.situation(text) == situation


def test_situations_are_listed_in_file_order_without_general(book: CueBook) -> None:
    assert book.situations[:2] == ["injury_scene", "nev_fire"]
    assert "claim_refused" in book.situations and "general" not in book.situations


def test_a_situation_is_a_list_of_words_or_words_with_unless() -> None:
    spec = CueFile.model_validate(
        {
            "rules": [],
            "situations": {
                "flood": ["泡水"],
                "claim_refused": {"patterns": ["不赔"], "unless": ["赔不赔"]},
            },
        }
    )
    book = CueBook(spec)
    assert book.situation("车泡水了，你们赔不赔") == "flood"
    assert book.situation("你们赔不赔") == "general"
    assert book.situation("居然不赔") == "claim_refused"


def test_general_cannot_be_a_named_situation() -> None:
    with pytest.raises(ValueError, match="'general'"):
        CueFile.model_validate({"rules": [], "situations": {"general": ["喂"]}})
