"""Reading identity claims and filling the bot's answer templates (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answers import AnswerBook, grounded
from chatbot.confidence import retrieval_confidence
from chatbot.identity import read_identity
from core.errors import ConfigurationError
from core.models import Hit, PassageKind
from core.templates import fill_placeholders as fill


@pytest.mark.parametrize(
    ("text", "number", "last4"),
    [
        ("P2026000010 1234", "P2026000010", "1234"),
        ("保单号：p2026000010，手机尾号5678", "P2026000010", "5678"),
        ("案件号RC20260424000050 尾号 0042", "RC20260424000050", "0042"),
        ("ｐ２０２６０００００１ 尾号１２３４", "P202600000１".replace("１", "1"), "1234"),
    ],
)
def test_identity_claims_are_read(text: str, number: str, last4: str) -> None:
    claim = read_identity(text)
    assert claim is not None and (claim.number, claim.last4) == (number, last4)


@pytest.mark.parametrize("text", ["我想查进度", "P2026000010", "尾号1234", "13812345678"])
def test_incomplete_identity_claims_are_none(text: str) -> None:
    assert read_identity(text) is None


def _hit(text: str, citation: str, dense: float | None = 0.9) -> Hit:
    return Hit(
        id=citation,
        kind=PassageKind.FAQ,
        title="t",
        citation=citation,
        text=text,
        score=1.0,
        dense_score=dense,
    )


def test_grounded_answer_quotes_the_best_passage_and_cites_two() -> None:
    hits = [_hit("涉水后强行启动导致发动机损坏的不赔。其他内容。", "第九条"), _hit("x", "第十条")]
    text, citations = grounded("{要点}（依据：{依据}）", hits, {})
    assert text == "涉水后强行启动导致发动机损坏的不赔（依据：第九条、第十条）"
    assert citations == ["第九条", "第十条"]
    assert fill("{客户称呼}，{未知}好", {"客户称呼": "王先生"}) == "王先生，好"


def test_confidence_follows_the_best_cosine() -> None:
    assert retrieval_confidence([]) == 0.0
    assert retrieval_confidence([_hit("a", "c", dense=None)]) == 0.0
    assert retrieval_confidence([_hit("a", "c", dense=0.80)]) == 0.0
    assert retrieval_confidence([_hit("a", "c", dense=0.95)]) == 1.0
    middle = retrieval_confidence([_hit("a", "c", dense=0.865)])
    assert 0.3 < middle < 0.7


def test_a_missing_template_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "answers.yaml"
    bad.write_text("greeting: 你好\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"answers\.yaml"):
        AnswerBook.load(bad)
