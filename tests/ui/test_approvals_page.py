"""The supervisors' approvals page (审批) with AppTest: pending requests, a refusal needs a note,
an approval takes it off the list; agents cannot open it; the English switch."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from accounts.authority import Level
from calls.approvals import ApprovalState
from calls.models import NewCall
from services.root import Services
from tests.ui.conftest import logged_in, page, run, texts

pytestmark = pytest.mark.integration


def _pending(services: Services) -> int:
    services.staff.set("alan", "坐席 阿兰", "一组", Level.BASIC)
    call_id = services.calls.start(NewCall(caller_number="19900007777", agent="alan")).call_id
    approval = services.approvals.request(
        services.accounts.get("alan"), call_id, "fast_track", 3000, "客户急需修车款"
    )
    assert approval.state is ApprovalState.PENDING
    return approval.id


def test_an_agent_cannot_open_the_approvals_page(studio_services: Services) -> None:
    app = run(logged_in(AppTest.from_file(page("approvals")), studio_services, "alan"))
    assert app.error and "主管" in app.error[0].value


def test_a_supervisor_refuses_with_a_note_and_approves(studio_services: Services) -> None:
    first = _pending(studio_services)
    app = run(logged_in(AppTest.from_file(page("approvals")), studio_services, "sam"))
    shown = texts(app)
    assert f"#{first}" in shown and "小额快赔" in shown and "3000" in shown
    assert "alan" in shown and "基础" in shown and "客户急需修车款" in shown

    app.button(key=f"refuse-{first}").click()  # no note: refused, stays pending
    app = run(app)
    assert "无法处理" in texts(app) and "note" in texts(app)
    assert studio_services.approvals.pending(studio_services.accounts.get("sam"))

    app.text_input(key=f"approval_note_{first}").input("先完成定损")
    app.button(key=f"refuse-{first}").click()
    app = run(app)
    assert f"已处理申请 #{first}" in texts(app)
    assert "暂无待审批" in texts(app)  # decided: off the list

    second = _pending(studio_services)
    app = run(app)
    app.button(key=f"approve-{second}").click()
    app = run(app)
    assert "暂无待审批" in texts(app)
    sam = studio_services.accounts.get("sam")
    states = {a.id: a for a in studio_services.approvals.listing(sam)}
    assert states[first].state is ApprovalState.REFUSED and states[first].note == "先完成定损"
    assert states[second].state is ApprovalState.APPROVED and states[second].decided_by == "sam"


def test_the_page_in_english(studio_services: Services) -> None:
    _pending(studio_services)
    app = logged_in(AppTest.from_file(page("approvals")), studio_services, "sam")
    app.session_state["lang"] = "en"
    app = run(app)
    shown = texts(app)
    assert "Approvals" in app.header[0].value
    assert "Fast-track payment" in shown and "Pending" in shown
    labels = {b.label for b in app.button if str(b.key).startswith(("approve-", "refuse-"))}
    assert labels == {"Approve", "Refuse"}
