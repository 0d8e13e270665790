"""``live_text_area`` under AppTest, which runs no component: the wrapper returns the session's
text, a page test types by assigning it, and a report from the browser (simulated by its widget
state) counts only when it was typed over the text the box last showed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.settings import PROJECT_ROOT
from tests.e2e.live_text_page import ECHO, KEY, SUGGESTION
from tests.ui.conftest import run

PAGE = str(PROJECT_ROOT / "tests" / "e2e" / "live_text_page.py")
REPORT = f"{KEY}.live"  # the component's widget key: what the browser reports lands there


def echo(app: AppTest) -> str:
    return next(str(m.value) for m in app.markdown if str(m.value).startswith(ECHO))


def sent(app: AppTest) -> dict[str, Any]:
    """The args the page sent to the browser in its last run."""
    (component,) = app.get("component_instance")
    args: dict[str, Any] = json.loads(component.proto.json_args)
    return args


@pytest.fixture
def app() -> AppTest:
    return run(AppTest.from_file(PAGE))


def test_the_first_run_sends_the_empty_text_at_version_zero(app: AppTest) -> None:
    assert echo(app) == ECHO
    args = sent(app)
    assert (args["label"], args["value"], args["version"]) == ("回复草稿", "", 0)
    assert args["height"] == 120 and args["placeholder"] == "在此输入回复"


def test_a_page_test_types_by_assigning_the_session_text(app: AppTest) -> None:
    app.session_state[KEY] = "车被水淹了能赔吗"
    run(app)
    assert echo(app) == ECHO + "车被水淹了能赔吗"
    # an assignment is a new text for the box: the browser must replace what it shows
    assert (sent(app)["value"], sent(app)["version"]) == ("车被水淹了能赔吗", 1)
    run(app)  # a rerun alone changes nothing
    assert sent(app)["version"] == 1 and echo(app) == ECHO + "车被水淹了能赔吗"


def test_a_report_typed_over_the_current_text_is_the_text(app: AppTest) -> None:
    app.session_state[REPORT] = {"text": "请问涉水", "version": 0}
    run(app)
    assert echo(app) == ECHO + "请问涉水"
    assert app.session_state[KEY] == "请问涉水"
    # the browser already shows it: no replacement is sent
    assert sent(app)["version"] == 0


def test_a_text_the_app_puts_in_overtakes_an_older_report(app: AppTest) -> None:
    app.session_state[REPORT] = {"text": "请问涉水", "version": 0}
    run(app)
    app.button[0].click()  # 填入建议话术: the page assigns the suggestion
    run(app)
    assert echo(app) == ECHO + SUGGESTION
    assert (sent(app)["value"], sent(app)["version"]) == (SUGGESTION, 1)
    run(app)  # the stale report (version 0) is still the widget's value: it stays dropped
    assert echo(app) == ECHO + SUGGESTION
    app.session_state[REPORT] = {"text": SUGGESTION + "请稍等", "version": 1}
    run(app)
    assert echo(app) == ECHO + SUGGESTION + "请稍等"
