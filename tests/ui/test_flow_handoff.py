"""A handoff from the middle of a guided flow shows the agent what the flow gathered."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatbot.handoff import NewHandoff
from conversation.models import Speaker, Turn
from core.settings import PROJECT_ROOT
from services.root import Services
from tests.ui.conftest import DEMO_AGENT, logged_in

pytestmark = pytest.mark.integration

CONSOLE = str(PROJECT_ROOT / "ui" / "pages" / "console.py")


def _run(app: AppTest) -> AppTest:
    app = app.run()
    assert not app.exception, app.exception
    return app


def test_the_agent_sees_what_the_flow_gathered_before_the_handoff(demo_pages: Services) -> None:
    handoff = demo_pages.handoffs.submit(
        NewHandoff(
            session_id="S-flow",
            transcript=[Turn(speaker=Speaker.CUSTOMER, text="对方司机腿在流血")],
            intent="report_claim",
            intent_label="报案",
            reasons=["injury_emergency"],
            reason_text=["涉及人员受伤或紧急情况"],
            suggested_reply="您好，我是人工客服。",
            gathered="【一键报案】客户提到有人受伤\n- 出险时间：12月6日 15:00\n"
            "- 出险地点：南京路停车场出口",
        )
    )
    console = _run(
        logged_in(AppTest.from_file(CONSOLE, default_timeout=90), demo_pages, DEMO_AGENT)
    )
    console.button(key=f"accept-{handoff.id}").click()
    console = _run(console)
    shown = "\n".join(str(i.value) for i in console.info)
    assert "自助流程中已提供" in shown and "南京路停车场出口" in shown
    console.button(key="finish_contact").click()
    _run(console)
