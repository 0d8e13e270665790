"""Labelled agent replies: validation, and the sentences training reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from compliance.data import LabelledReply, load_replies, training_units
from core.errors import PolicyDeskError
from prompts.guard import RuleCategory


def reply(**fields: object) -> LabelledReply:
    base: dict[str, object] = {"id": "x-1", "author": "x", "text": "您好。", "compliant": True}
    return LabelledReply.model_validate(base | fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"compliant": True, "categories": ["promise"]}, "compliant reply lists categories"),
        ({"compliant": False}, "names no category"),
        (
            {"compliant": False, "categories": ["promise"], "evidence": "全赔"},
            "is not in the text",
        ),
        ({"compliant": False, "categories": ["rumour"]}, "categories"),
    ],
)
def test_inconsistent_labels_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        reply(**fields)


def test_a_violation_teaches_only_the_sentences_holding_its_evidence() -> None:
    units = training_units(
        [
            reply(
                id="a-1",
                text="您好张先生。您放心，肯定全赔！查勘员稍后联系您。",
                compliant=False,
                categories=["promise", "amount_or_date"],
                evidence="肯定全赔",
            ),
            reply(id="a-2", text="请以定损结果为准。谢谢您。"),
        ]
    )
    assert [(u.text, u.violation, u.category) for u in units] == [
        ("您放心，肯定全赔！", True, RuleCategory.PROMISE),
        ("请以定损结果为准。", False, None),
        ("谢谢您。", False, None),
    ]


def test_a_violation_without_evidence_is_one_unit() -> None:
    [unit] = training_units(
        [reply(text="第一句。第二句。", compliant=False, categories=["disparage"])]
    )
    assert unit.text == "第一句。第二句。" and unit.violation


def test_files_are_read_with_their_line_named_and_ids_kept_unique(tmp_path: Path) -> None:
    good = tmp_path / "a.jsonl"
    good.write_text(
        json.dumps({"id": "a-1", "author": "a", "text": "好的。", "compliant": True}) + "\n"
    )
    twice = tmp_path / "b.jsonl"
    twice.write_text(good.read_text())
    assert len(load_replies([good])) == 1
    with pytest.raises(PolicyDeskError, match="a-1"):
        load_replies([good, twice])
    broken = tmp_path / "c.jsonl"
    broken.write_text('{"id": "c-1"}\n')
    with pytest.raises(PolicyDeskError, match=r"c\.jsonl"):
        load_replies([broken])
