"""Pure helpers of the studio pages: list and data-line parsing, split points, error messages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ui.format import (
    FormInputError,
    describe_error,
    excerpt,
    format_data_lines,
    mark_spans,
    parse_data_lines,
    signed,
    split_list,
    split_offset,
)


def test_lists_split_on_chinese_and_latin_separators_once_each() -> None:
    assert split_list("t-1、t-2, t-3；t-1\nt-4") == ["t-1", "t-2", "t-3", "t-4"]
    assert split_list("  ") == []


def test_data_lines_round_trip_and_accept_a_full_width_colon() -> None:
    data = parse_data_lines("scene: 理赔拒赔\n\nlabel：angry")
    assert data == {"scene": "理赔拒赔", "label": "angry"}
    assert parse_data_lines(format_data_lines(data)) == data


def test_a_bad_data_line_is_named() -> None:
    with pytest.raises(FormInputError, match="line 2 'oops'"):
        parse_data_lines("a: 1\noops")


def test_split_offset_prefers_the_marker() -> None:
    text = "电池包受损的，按修复费用赔偿。第三条 电网故障的，负责赔偿。"
    assert split_offset(text, "第三条", 3) == text.index("第三条")
    assert split_offset(text, " ", 3) == 3
    with pytest.raises(FormInputError, match="第九条"):
        split_offset(text, "第九条", 3)


def test_validation_errors_read_as_field_and_reason() -> None:
    class Form(BaseModel):
        age: int

    with pytest.raises(ValidationError) as caught:
        Form.model_validate({"age": "x"})
    assert describe_error(caught.value).startswith("age: ")
    assert describe_error(caught.value).endswith("(got 'x')")  # the value that was refused
    assert describe_error(FormInputError("bad")) == "bad"


def test_marked_spans_escape_the_rest() -> None:
    assert mark_spans("a*b", [(0, 1)], "green") == ":green-background[a]\\*b"


def test_excerpt_and_signed() -> None:
    assert excerpt("一二三\n四五", 4) == "一二三 …"
    assert excerpt("短", 4) == "短"
    assert signed(0.125) == "+0.125" and signed(-0.05) == "-0.050"


def test_colons_inside_a_value_are_kept() -> None:
    data = parse_data_lines("rewrite: 请您放心：我们会按条款核定\npattern01：全赔：|保证赔")
    assert data == {"rewrite": "请您放心：我们会按条款核定", "pattern01": "全赔：|保证赔"}
    assert parse_data_lines(format_data_lines(data)) == data
