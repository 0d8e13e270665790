"""The bar an answer from the knowledge base must clear (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.confidence import AnswerBar
from core.errors import ConfigurationError
from core.models import Hit, PassageKind


def _hit(dense: float | None, terms: list[str]) -> Hit:
    return Hit(
        id="nev-pile-1",
        kind=PassageKind.CLAUSE,
        title="t",
        citation="c",
        text="x",
        score=1.0,
        dense_score=dense,
        matched_terms=terms,
    )


def test_a_bar_needs_both_the_confidence_and_the_matched_terms() -> None:
    bar = AnswerBar(min_confidence=0.7, min_matched_terms=1)
    assert not bar.clears([])
    assert not bar.clears([_hit(None, ["充电桩"])])  # no dense score: no confidence
    assert not bar.clears([_hit(0.87, ["充电桩"])])  # confidence 0.6
    assert not bar.clears([_hit(0.90, [])])  # near in embedding space only
    assert bar.clears([_hit(0.875, ["充电桩"])])  # confidence exactly 0.7
    assert bar.clears([_hit(0.90, ["充电桩"]), _hit(0.5, [])])  # the best hit decides
    assert AnswerBar(min_confidence=0.0).clears([_hit(None, [])])


@pytest.mark.parametrize("values", ["min_confidence: 1.5\n", "min_confidence: 0.7\nextra: 1\n"])
def test_a_bad_bar_is_a_configuration_error_naming_the_file(tmp_path: Path, values: str) -> None:
    path = tmp_path / "unknown_intent.yaml"
    path.write_text(values, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"unknown_intent\.yaml"):
        AnswerBar.load(path)
