"""Version diffs: changed fields and the side-by-side text (pure)."""

from __future__ import annotations

from datetime import date

from core.models import Emotion
from prompts.guard import ComplianceRule, RuleCategory, Severity
from sentiment.data import LabelledUtterance
from studio.diff import LineOp, char_spans, diff_contents, render_value, side_by_side
from studio.items import ItemKind, PassageContent, RuleContent, UtteranceContent

BASE = PassageContent(
    kind=ItemKind.CLAUSE,
    title="第一条",
    text="因暴雨导致车辆被淹，保险人负责赔偿。\n发动机进水后二次启动的，不负责赔偿。",
    product="commercial",
    tags=["涉水"],
)


def test_identical_contents_have_no_changes() -> None:
    result = diff_contents(BASE, BASE)
    assert not result.changed and result.changed_fields == []
    assert [row.op for row in result.text_rows] == [LineOp.EQUAL, LineOp.EQUAL]
    assert [(r.left_no, r.right_no) for r in result.text_rows] == [(1, 1), (2, 2)]


def test_changed_fields_in_display_order_with_rendered_values() -> None:
    after = BASE.model_copy(
        update={
            "product": "private",
            "effective_date": date(2020, 9, 19),
            "tags": ["涉水", "暴雨"],
            "illustrative": True,
        }
    )
    result = diff_contents(BASE, after)
    assert result.changed_fields == ["product", "effective_date", "tags", "illustrative"]
    by_field = {c.field: c for c in result.changes}
    assert (by_field["effective_date"].before, by_field["effective_date"].after) == (
        "",
        "2020-09-19",
    )
    assert by_field["tags"].after == "涉水、暴雨"
    assert (by_field["illustrative"].before, by_field["illustrative"].after) == ("no", "yes")


def test_a_records_fields_are_compared_field_by_field() -> None:
    said = LabelledUtterance(id="u", text="气死了", label=Emotion.ANGRY, situation="理赔")
    before = UtteranceContent(utterance=said)
    after = UtteranceContent(
        utterance=said.model_copy(update={"label": Emotion.ANXIOUS, "situation": "general"}),
        split="dev",
    )
    changes = {c.field: (c.before, c.after) for c in diff_contents(before, after).changes}
    assert changes == {
        "label": ("angry", "anxious"),
        "split": ("train", "dev"),
        "situation": ("理赔", "general"),
    }


def test_a_rules_reason_is_its_text_and_its_lists_are_fields() -> None:
    rule = ComplianceRule(
        id="r",
        category=RuleCategory.PROMISE,
        severity=Severity.HIGH,
        patterns=["全赔"],
        reason="不得承诺全额赔付。",
        rewrite="以核定为准。",
    )
    before = RuleContent(rule=rule)
    after = RuleContent(
        rule=rule.model_copy(update={"patterns": ["全赔", "包赔"], "reason": "不得承诺全赔。"})
    )
    result = diff_contents(before, after)
    assert result.text_field == "reason" and result.changed_fields == ["reason", "patterns"]
    assert result.changes[1].after == "全赔、包赔"
    assert [row.op for row in result.text_rows] == [LineOp.REPLACE]


def test_a_replaced_line_marks_the_changed_characters() -> None:
    after = BASE.model_copy(update={"text": BASE.text.replace("暴雨", "台风暴雨")})
    result = diff_contents(BASE, after)
    assert result.changed_fields == ["text"]
    first, second = result.text_rows
    assert first.op is LineOp.REPLACE and second.op is LineOp.EQUAL
    assert first.left_spans == [] and first.right_spans == [(1, 3)]
    assert first.right[1:3] == "台风"


def test_inserted_and_deleted_lines_have_one_side_only() -> None:
    rows = side_by_side("甲\n乙\n丙", "甲\n丙\n丁")
    assert [(r.op, r.left_no, r.right_no) for r in rows] == [
        (LineOp.EQUAL, 1, 1),
        (LineOp.DELETE, 2, None),
        (LineOp.EQUAL, 3, 2),
        (LineOp.INSERT, None, 3),
    ]
    assert rows[1].left == "乙" and rows[1].right == ""
    assert rows[3].right == "丁"


def test_an_uneven_replacement_pairs_what_it_can() -> None:
    rows = side_by_side("一\n二", "壹\n贰\n叁")
    assert [r.op for r in rows] == [LineOp.REPLACE, LineOp.REPLACE, LineOp.INSERT]
    assert rows[2].right == "叁" and rows[2].left_no is None


def test_from_empty_text_everything_is_inserted() -> None:
    rows = side_by_side("", "新增一行")
    assert [(r.op, r.right) for r in rows] == [(LineOp.INSERT, "新增一行")]


def test_char_spans_on_both_sides() -> None:
    assert char_spans("满六十天", "满60天") == ([(1, 3)], [(1, 3)])
    assert char_spans("同", "同") == ([], [])


def test_render_value() -> None:
    assert render_value(None) == ""
    assert render_value(["a", "b"]) == "a、b"
    assert render_value(date(2024, 1, 2)) == "2024-01-02"
    assert render_value(False) == "no"
    assert render_value("文本") == "文本"
