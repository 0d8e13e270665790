"""The supervisor's floor (坐席监控) and what its notes do on the agent's console, with AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from accounts.models import Role
from audit.log import AuditFilter
from calls.models import NewCall, NewSegment
from conversation.models import Speaker
from core.settings import PROJECT_ROOT
from services.root import Services
from tests.ui.conftest import DEMO_AGENT, ensure_account, logged_in, run

pytestmark = pytest.mark.integration

FLOOR = str(PROJECT_ROOT / "ui" / "pages" / "floor.py")
CONSOLE = str(PROJECT_ROOT / "ui" / "pages" / "console.py")
SUPERVISOR = "s071"


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown]
    for group in (app.caption, app.info, app.success, app.warning, app.error):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)


def test_an_agent_cannot_open_the_floor(demo_pages: Services) -> None:
    app = run(logged_in(AppTest.from_file(FLOOR, default_timeout=90), demo_pages, DEMO_AGENT))
    assert app.error and "主管" in app.error[0].value
    assert not app.metric


def test_a_supervisor_watches_a_live_call_and_whispers_to_its_agent(
    demo_pages: Services,
) -> None:
    ensure_account(demo_pages, SUPERVISOR, [Role.SUPERVISOR])
    started = demo_pages.calls.start(NewCall(caller_number="19900006666", agent=DEMO_AGENT))
    call_id = started.call_id
    demo_pages.calls.add_segment(
        call_id,
        NewSegment(seq=0, speaker=Speaker.CUSTOMER, text="凭什么不赔？我要投诉你们！", final=True),
    )

    floor = run(logged_in(AppTest.from_file(FLOOR, default_timeout=90), demo_pages, SUPERVISOR))
    assert call_id in _texts(floor) and DEMO_AGENT in _texts(floor)
    floor.button(key=f"watch-{call_id}").click()
    floor = run(floor)
    assert "凭什么不赔" in "\n".join(m.value for c in floor.chat_message for m in c.markdown)
    floor.text_input(key="whisper_text").input("先安抚情绪，再解释拒赔依据")
    floor = run(_submit(floor))
    assert "提示已发送" in _texts(floor)
    floor.button(key="flag_takeover").click()
    floor = run(floor)

    console = run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), demo_pages, DEMO_AGENT))
    shown = _texts(console)  # the new phone call opened by itself (screen pop)
    assert call_id in shown
    assert "先安抚情绪，再解释拒赔依据" in shown and SUPERVISOR in shown
    actions = {
        e.action for e in demo_pages.audit.entries(AuditFilter(actor=SUPERVISOR, target=call_id))
    }
    assert {"call.watch", "call.whisper", "call.flag_takeover"} <= actions


def _submit(app: AppTest) -> AppTest:
    """Submit the whisper form (its submit button is the form's only one)."""
    (submit,) = [b for b in app.button if b.label in {"发送提示", "Send the note"}]
    submit.click()
    return app
