"""The customer chat page and the console's handoff inbox, driven with AppTest."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from chatbot.handoff import HandoffState, NewHandoff
from conversation.models import Speaker, Turn
from core.settings import PROJECT_ROOT
from services.root import Services
from tests.conftest import reporting_customer
from tests.ui.conftest import DEMO_AGENT, logged_in

pytestmark = pytest.mark.integration

CHAT = str(PROJECT_ROOT / "ui" / "pages" / "chat.py")
CONSOLE = str(PROJECT_ROOT / "ui" / "pages" / "console.py")
AGENT = DEMO_AGENT


@pytest.fixture
def pages(demo_pages: Services) -> Services:
    return demo_pages


def _run(app: AppTest) -> AppTest:
    app = app.run()
    assert not app.exception, app.exception
    return app


def _send(app: AppTest, text: str) -> AppTest:
    app.chat_input[0].set_value(text)
    return _run(app)


def _captions(app: AppTest) -> str:
    return "\n".join(str(c.value) for c in app.caption)


def test_the_bot_answers_with_citations(pages: Services) -> None:
    app = _run(AppTest.from_file(CHAT, default_timeout=90))
    app = _send(app, "挡风玻璃被石子打碎了，车损险管不管")
    assistant = [m for m in app.chat_message if m.name == "assistant"]
    assert len(assistant) == 2  # the greeting and the answer
    assert "依据" in _captions(app)
    app = _send(app, " ")
    assert app.error and "empty" in app.error[0].value


def test_an_injury_is_handed_over_and_an_agent_takes_it_from_the_inbox(pages: Services) -> None:
    chat = _run(AppTest.from_file(CHAT, default_timeout=90))
    chat = _send(chat, "我们撞车了，副驾驶的人头在流血，现在怎么办")
    assert "已转人工" in _captions(chat)
    waiting = [h for h in pages.handoffs.list(HandoffState.WAITING) if h.priority == 0]
    handoff = next(h for h in waiting if "头在流血" in h.transcript[0].text)

    console = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    assert any(b.key == f"accept-{handoff.id}" for b in console.button)
    console.button(key=f"accept-{handoff.id}").click()
    console = _run(console)
    assert pages.handoffs.get(handoff.id).accepted_by == AGENT  # the logged-in agent
    assert console.session_state["draft"] == handoff.suggested_reply
    assert "头在流血" in "\n".join(m.value for c in console.chat_message for m in c.markdown)
    assert "转人工原因" in _captions(console)

    # another agent's tab
    second = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    assert not any(b.key == f"accept-{handoff.id}" for b in second.button)

    console.button(key="finish_contact").click()
    console = _run(console)
    assert pages.handoffs.get(handoff.id).state is HandoffState.RESOLVED


def test_a_handoff_only_the_model_wanted_is_marked_for_the_agent(pages: Services) -> None:
    handoff = pages.handoffs.submit(
        NewHandoff(
            session_id="S-model",
            transcript=[Turn(speaker=Speaker.CUSTOMER, text="这单理赔能不能先给我垫一部分")],
            intent="claim_progress",
            intent_label="理赔进度",
            reasons=["needs_decision"],
            reason_text=["需要人工判断或审批"],
            suggested_reply="您好，我是人工客服。",
            learned_only=True,
        )
    )
    console = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    assert "需要人工判断或审批 · 模型判断" in _captions(console)
    console.button(key=f"accept-{handoff.id}").click()
    console = _run(console)
    assert "仅由学习模型判断" in _captions(console)
    console.button(key="finish_contact").click()
    _run(console)


def test_the_agent_replies_in_the_customers_chat(pages: Services) -> None:
    chat = _run(AppTest.from_file(CHAT, default_timeout=90))
    chat = _send(chat, "帮我转人工，我的理赔一直没人联系")
    handoff = next(
        h
        for h in pages.handoffs.list(HandoffState.WAITING)
        if "一直没人联系" in h.transcript[0].text
    )
    console = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    console.button(key=f"accept-{handoff.id}").click()
    console = _run(console)
    assert "回复会直接发到客户的聊天窗口" in _captions(console)

    console.session_state["draft"] = "您放心，一定全赔。"  # typed (live_text_area)
    console = _run(console)
    assert console.button(key="send_draft").disabled  # a red line cannot be sent
    warnings = " ".join(w.value for w in console.warning)
    assert "承诺全额赔付" in warnings and "建议改为" in warnings  # a reason and a rewording
    assert "promise-full-payout" not in warnings
    assert console.session_state["draft"] == "您放心，一定全赔。"  # kept for correcting
    turns = pages.chatbot().conversation(handoff.session_id).turns
    assert not any(t.author for t in turns)

    console.session_state["draft"] = "您好，我是人工客服，马上帮您联系理赔员。"
    console = _run(console)
    console.button(key="send_draft").click()
    console = _run(console)
    chat = _run(chat)  # the customer's page refreshes
    said = "\n".join(m.value for c in chat.chat_message for m in c.markdown)
    assert "马上帮您联系理赔员" in said
    assert f"人工客服 {AGENT}" in _captions(chat)

    chat = _send(chat, "好的，我等电话")
    console = _run(console)  # the live view re-reads the chat by itself (no fetch button)
    assert "好的，我等电话" in "\n".join(m.value for c in console.chat_message for m in c.markdown)

    # a reload loses the browser session: the agent reopens the handoff they hold
    reloaded = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    (held,) = [c for c in pages.calls.calls_of(AGENT) if c.handoff_id == handoff.id]
    reloaded.button(key=f"open-{held.id}").click()  # listed under the agent's open contacts
    reloaded = _run(reloaded)
    said = "\n".join(m.value for c in reloaded.chat_message for m in c.markdown)
    assert "一直没人联系" in said and "好的，我等电话" in said
    reloaded.button(key="finish_contact").click()
    reloaded = _run(reloaded)
    assert pages.handoffs.get(handoff.id).state is HandoffState.RESOLVED
    assert held.id not in {c.id for c in pages.calls.calls_of(AGENT)}  # no longer open


def test_what_a_customer_wrote_is_shown_as_text_never_as_markdown(pages: Services) -> None:
    tracking = (
        "![看这里](http://track.example.com/pixel.png) [官方客服](http://evil.example.com) "
        "我要投诉，转人工客服"
    )
    chat = _run(AppTest.from_file(CHAT, default_timeout=90))
    chat = _send(chat, tracking)
    customer = next(m for m in chat.chat_message if m.name == "user")
    (shown,) = [m.value for m in customer.markdown]
    assert "!\\[看这里\\]" in shown and "http\\://" in shown  # escaped: no image, no link

    waiting = pages.handoffs.list(HandoffState.WAITING)
    handoff = next(h for h in waiting if "pixel.png" in h.transcript[0].text)
    console = _run(logged_in(AppTest.from_file(CONSOLE, default_timeout=90), pages, AGENT))
    inbox = [c.value for c in console.caption if "pixel" in str(c.value)]
    assert inbox and all("!\\[" in text and "](http" not in text for text in inbox)
    console.button(key=f"accept-{handoff.id}").click()
    console = _run(console)
    said = [m.value for c in console.chat_message for m in c.markdown if "pixel" in m.value]
    assert said and all("!\\[看这里\\]" in text for text in said)


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, format="JPEG")
    return out.getvalue()


def _said(app: AppTest, name: str) -> list[str]:
    return [m.value for c in app.chat_message if c.name == name for m in c.markdown]


def _send_files(app: AppTest, files: list[tuple[str, bytes, str]]) -> AppTest:
    """Pick the files in 发送照片/文件 and press its send button."""
    (box,) = app.file_uploader
    assert box.accept_multiple_files
    assert app.button(key="upload_send").disabled  # nothing picked yet
    box.set_value(files)
    app = _run(app)
    app.button(key="upload_send").click()
    return _run(app)


def test_a_report_s_two_photos_go_in_one_message_and_end_on_the_claim(pages: Services) -> None:
    customer = reporting_customer(pages)
    chat = _run(AppTest.from_file(CHAT, default_timeout=90))
    for text in [
        "我要报案",
        customer.identity,
        "刚才",
        "深南大道科技园路口",
        "等红灯被后车追尾，后保险杠凹了",
        "没有人受伤",
        "对方车牌粤B12345",
    ]:
        chat = _send(chat, text)
    assert "请上传至少2张现场照片" in _said(chat, "assistant")[-1]

    chat = _send_files(
        chat,
        [
            ("全景.jpg", _jpeg((200, 30, 30)), "image/jpeg"),
            ("受损.jpg", _jpeg((30, 200, 30)), "image/jpeg"),
        ],
    )
    assert not chat.error
    assert _said(chat, "user")[-1] == "（发送了2个文件）"  # one message carries both
    summary = _said(chat, "assistant")[-1]
    assert "现场照片：2 个文件" in summary and "确认提交吗" in summary
    assert "  \n" in summary  # one answer a line, as the bot wrote it
    (box,) = chat.file_uploader
    assert not box.value  # emptied: the same photos are not sent twice

    chat = _send(chat, "确认")
    claim_no = re.search(r"RC\d+", _said(chat, "assistant")[-1])
    assert claim_no is not None
    photos = pages.uploads.for_claim(claim_no.group())
    assert {p.original_name for p in photos} == {"全景.jpg", "受损.jpg"}
    assert all(p.customer_id == customer.customer_id and p.has_thumbnail for p in photos)


def test_a_refused_file_says_which_and_no_message_is_sent(pages: Services) -> None:
    chat = _run(AppTest.from_file(CHAT, default_timeout=90))
    chat = _send_files(
        chat,
        [
            ("现场.jpg", _jpeg((10, 20, 30)), "image/jpeg"),
            ("说明_v2.exe", b"MZ\x90\x00" + b"\x00" * 500, "application/octet-stream"),
        ],
    )
    (error,) = chat.error
    assert "说明\\_v2\\.exe" in error.value  # named, as text (markdown escaped)
    assert "file type not allowed" in error.value and "消息未发送" in error.value
    assert not chat.exception
    assert _said(chat, "user") == []  # no message
    conversation = pages.chatbot().conversation(chat.session_state["chat_id"])
    assert conversation.turns == []
