"""The live-call console, driven with AppTest against the demo index, customers and models."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from accounts.authority import AuthorityAction
from accounts.models import Role
from audit.log import AuditFilter
from calls.approvals import ApprovalState
from core.settings import PROJECT_ROOT
from customers.store import customers as customers_table
from services.root import Services
from tests.ui.conftest import DEMO_AGENT, ensure_account, logged_in

pytestmark = pytest.mark.integration

PAGE = str(PROJECT_ROOT / "ui" / "pages" / "console.py")
AGENT = DEMO_AGENT


@pytest.fixture
def console(demo_pages: Services) -> Services:
    return demo_pages


def _open(services: Services) -> AppTest:
    """The console in a new browser session, logged in as the agent."""
    app = logged_in(AppTest.from_file(PAGE, default_timeout=90), services, AGENT).run()
    assert not app.exception, app.exception
    return app


def _click(app: AppTest, label: str) -> AppTest:
    button = next(b for b in app.button if b.label == label)
    button.click()
    app = app.run()
    assert not app.exception, app.exception
    return app


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown]
    for group in (app.caption, app.info, app.success, app.warning, app.error):
        parts.extend(str(e.value) for e in group)
    return "\n".join(parts)


def _say(app: AppTest, text: str, speaker: str = "customer") -> AppTest:
    app.radio(key="speaker").set_value(speaker)
    app.text_area(key="turn_text").input(text)
    app = _click(app, "添加")
    return app


def _start_with_customer(app: AppTest, plate: str) -> AppTest:
    app.text_input(key="customer_query").input(plate)
    app = app.run()
    options = app.selectbox(key="customer").options
    assert len(options) >= 2, options  # anonymous + the match
    app.selectbox(key="customer").select_index(1)
    app = app.run()
    return _click(app, "开始新通话")


def _raw_customer(services: Services) -> tuple[str, str, str, str]:
    with services.engine.connect() as conn:
        row = conn.execute(select(customers_table).order_by(customers_table.c.id)).first()
    assert row is not None
    plate = services.customers.profile(row.id).vehicles[0].plate
    return row.id, row.phone, row.id_number, plate


def test_replaying_the_angry_refusal_alerts_and_shows_cards(console: Services) -> None:
    app = _open(console)
    app.selectbox(key="demo_call").set_value("02_angry_refusal.jsonl")
    app = _click(app, "载入回放")
    app = _click(app, "播放下一句")
    texts = _texts(app)
    assert "凭什么不赔" in "\n".join(m.value for m in app.chat_message[0].markdown)
    assert "愤怒" in texts or "不满" in texts  # the mood banner
    assert "情绪提醒" in texts and "安抚话术" in texts
    assert any(m.value.startswith("**1.") for m in app.markdown), "no clause card"
    app = _click(app, "播放全部")
    assert len(app.chat_message) > 3
    assert not any(b.label == "播放下一句" for b in app.button)  # nothing left to replay


def test_known_customer_gets_a_filled_masked_reply_and_a_live_compliance_check(
    console: Services,
) -> None:
    customer_id, phone, id_number, plate = _raw_customer(console)
    app = _start_with_customer(_open(console), plate)
    app = _say(app, "我的车昨晚在地下车库被水泡了，这个能赔吗")
    texts = _texts(app)
    profile = console.customers.profile(customer_id)
    suggestion = app.success[0].value.removeprefix("**建议回复**：")
    assert profile.salutation in suggestion
    assert "依据" in texts
    assert phone not in texts and id_number not in texts  # identifiers only masked
    assert profile.phone in texts  # the masked phone is shown in the profile tab
    usage = console.privilege_service.usage(customer_id).items
    assert usage and all(u.display in texts for u in usage)  # privileges with used/left
    app = _click(app, "采用建议回复")
    assert app.session_state["draft"] == suggestion
    app.session_state["draft"] = "您放心，这种情况肯定全赔。"  # typed (live_text_area)
    app = app.run()
    warnings = " ".join(w.value for w in app.warning)
    assert "承诺全额赔付" in warnings and "promise-full-payout" not in warnings
    assert any(":red-background[" in m.value for m in app.markdown)
    assert app.button(key="send_draft").disabled  # a red line cannot go into the call
    app = _click(app, "采用建议说法")
    assert "全赔" not in str(app.session_state["draft"])
    assert not app.button(key="send_draft").disabled


def test_card_feedback_is_stored_for_trainers(console: Services) -> None:
    before = len(console.feedback.votes(include_reviewed=True))
    app = _click(_open(console), "开始新通话")
    app = _say(app, "车被偷了怎么办")
    down = next(b for b in app.button if b.label == "👎")
    down.click()
    app = app.run()
    assert not app.exception
    votes = console.feedback.votes(include_reviewed=True)
    assert len(votes) == before + 1
    assert votes[0].helpful is False and votes[0].question == "车被偷了怎么办"
    assert votes[0].agent == AGENT  # the logged-in agent, not a typed name
    assert "已记录反馈" in _texts(app)


def test_wrap_up_saves_summary_and_disposition_to_history(console: Services) -> None:
    customer_id, _, _, plate = _raw_customer(console)
    before = len(console.customers.profile(customer_id).interactions)
    app = _start_with_customer(_open(console), plate)
    app = _say(app, "我想问下我的理赔进度，等了好久了")
    app = _click(app, "生成小结")
    summary = app.text_area(key="summary_text").value
    assert summary and "理赔进度" in summary
    app.selectbox(key="disposition").set_value("需回访")
    app = _click(app, "保存到客户历史")
    history = console.customers.profile(customer_id).interactions
    assert len(history) == before + 1
    latest = max(history, key=lambda i: i.at)
    assert latest.disposition == "需回访" and "理赔进度" in latest.summary
    assert latest.agent == AGENT


def test_blank_turn_is_refused_with_a_message(console: Services) -> None:
    app = _click(_open(console), "开始新通话")
    app = _say(app, "   ")
    assert any("无法添加" in e.value for e in app.error)
    assert not app.chat_message


def test_two_browser_sessions_do_not_share_a_call(console: Services) -> None:
    first = _click(_open(console), "开始新通话")
    first = _say(first, "我要投诉你们的理赔员")
    second = _open(console)
    assert not second.chat_message
    assert any("开始新通话" in i.value for i in second.info)
    assert first.chat_message  # the first agent's call is still there


def test_english_switch(console: Services) -> None:
    app = logged_in(AppTest.from_file(PAGE, default_timeout=90), console, AGENT)
    app.session_state["lang"] = "en"
    app = app.run()
    assert not app.exception
    assert app.header[0].value == "Live-call assistant"
    assert any(b.label == "Start a new call" for b in app.button)


def test_only_a_supervisor_reveals_a_full_number_with_a_reason_and_it_is_audited(
    console: Services,
) -> None:
    customer_id, phone, _, plate = _raw_customer(console)
    agent = _start_with_customer(_open(console), plate)
    assert not any(e.label.startswith("查看完整号码") for e in agent.expander)

    ensure_account(console, "s007", [Role.SUPERVISOR])
    app = logged_in(AppTest.from_file(PAGE, default_timeout=90), console, "s007").run()
    app = _start_with_customer(app, plate)
    app.text_input(key="reveal_reason").input("")
    app = _click(app, "查看")
    assert any("reason" in e.value or "原因" in e.value for e in app.error)
    assert phone not in _texts(app)
    app.text_input(key="reveal_reason").input("客户来电更换了手机号，需回拨核实")
    app = _click(app, "查看")
    assert phone in [c.value for c in app.code]
    (entry,) = console.audit.entries(AuditFilter(action="customer.reveal", target=customer_id))
    assert entry.actor == "s007" and "回拨核实" in entry.detail and phone not in entry.detail


def test_the_agent_requests_approval_beyond_their_level_on_the_current_call(
    console: Services,
) -> None:
    app = _click(_open(console), "开始新通话")
    call_id = app.session_state["contact_id"]
    app.session_state["draft"] = "这个8000的我直接给您快赔。"  # typed (live_text_area)
    app = app.run()
    assert "无权承诺小额快赔" in _texts(app)  # the draft check knows the agent's level
    assert app.button(key="send_draft").disabled

    app.selectbox(key="approval_action").set_value(AuthorityAction.FAST_TRACK)
    app.number_input(key="approval_amount").set_value(8000.0)
    app.text_input(key="approval_reason").input("客户急需修车款，定损已完成")
    app = _click(app, "提交申请")
    assert "已提交，等待主管审批" in _texts(app)
    (approval,) = console.approvals.for_call(console.accounts.get(AGENT), call_id)
    assert approval.state is ApprovalState.PENDING and approval.amount == 8000
    assert f"#{approval.id}" in _texts(app) and "待审批" in _texts(app)
