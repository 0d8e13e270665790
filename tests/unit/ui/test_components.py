from __future__ import annotations

import pytest

from ui.components import typed_text


def test_a_report_over_the_current_version_carries_its_text() -> None:
    assert typed_text({"text": "车被水淹了", "version": 3}, 3) == "车被水淹了"
    assert typed_text({"text": "", "version": 0}, 0) == ""


@pytest.mark.parametrize(
    "reported",
    [
        None,  # no report yet (and always under AppTest)
        {"text": "旧的", "version": 2},  # typed over a text the app has since replaced
        {"text": 5, "version": 3},
        {"version": 3},
        "车被水淹了",
    ],
)
def test_anything_else_is_no_text(reported: object) -> None:
    assert typed_text(reported, 3) is None


def test_a_box_too_low_to_type_in_is_refused() -> None:
    from ui.components import live_text_area

    with pytest.raises(ValueError, match="not 12"):
        live_text_area("回复草稿", key="draft", height=12)
