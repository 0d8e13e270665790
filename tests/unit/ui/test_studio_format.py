"""Pure helpers of the studio pages: list and line parsing, split points, error messages."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ui.format import (
    FormInputError,
    describe_error,
    excerpt,
    mark_spans,
    signed,
    split_lines,
    split_list,
    split_offset,
)


def test_lists_split_on_chinese_and_latin_separators_once_each() -> None:
    assert split_list("t-1、t-2, t-3；t-1\nt-4") == ["t-1", "t-2", "t-3", "t-4"]
    assert split_list("  ") == []


def test_lines_keep_commas_and_spaces_inside_an_entry() -> None:
    assert split_lines(" 全赔，包赔|保证 赔\n\n  (不能|无法)保证 \n") == [
        "全赔，包赔|保证 赔",
        "(不能|无法)保证",
    ]
    assert split_lines("  \n") == []


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
