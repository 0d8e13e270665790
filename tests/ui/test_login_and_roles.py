"""Login, logout and role gating, driven with AppTest (temp data dir, fake embedder)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from services.root import Services
from studio.feedback import NewFeedback
from studio.items import ItemKind, PassageContent
from tests.ui.conftest import APP, click, logged_in, page, password, run, texts
from ui.auth import USER
from ui.navigation import CHAT, visible_pages

pytestmark = pytest.mark.integration

FAILED = "登录失败：用户名或密码不正确。"


def _login(app: AppTest, username: str, secret: str) -> AppTest:
    app.text_input(key="login_username").input(username)
    app.text_input(key="login_password").input(secret)
    next(b for b in app.button if b.label == "登录").click()
    return run(app)


def _headers(app: AppTest) -> list[str]:
    return [h.value for h in app.header]


def test_before_login_only_the_login_page_and_the_customer_chat(
    studio_services: Services,
) -> None:
    app = run(AppTest.from_file(APP, default_timeout=60))
    assert _headers(app) == ["登录 PolicyDesk"]
    assert "自助客服" in texts(app)
    app.switch_page("ui/pages/chat.py")  # the customer channel needs no login
    app = run(app)
    assert "车险智能客服" in _headers(app)


def test_an_agent_logs_in_to_the_console_and_logs_out(studio_services: Services) -> None:
    app = _login(run(AppTest.from_file(APP, default_timeout=60)), "alan", password("alan"))
    assert app.session_state[USER].username == "alan"
    assert _headers(app) == ["来电助手"]
    assert "alan" in texts(app)
    state = app.session_state
    assert "login_password" not in state or state["login_password"] == ""  # not kept after use
    app = click(app, "logout")
    assert USER not in app.session_state
    assert _headers(app) == ["登录 PolicyDesk"]


def test_a_trainer_lands_in_the_studio(studio_services: Services) -> None:
    app = _login(run(AppTest.from_file(APP, default_timeout=60)), "tina", password("tina"))
    assert _headers(app) == ["知识库维护"]
    assert "培训师" in texts(app)


@pytest.mark.parametrize(
    ("username", "secret"), [("alan", "wrong-password"), ("nobody", "whatever-password")]
)
def test_a_failed_login_says_only_that_it_failed(
    studio_services: Services, username: str, secret: str
) -> None:
    app = _login(run(AppTest.from_file(APP, default_timeout=60)), username, secret)
    assert [e.value for e in app.error] == [FAILED]  # the same words for both failures
    assert USER not in app.session_state
    assert _headers(app) == ["登录 PolicyDesk"]


def test_thirty_wrong_supervisor_passwords_then_the_right_one_do_not_log_in(
    studio_services: Services,
) -> None:
    app = run(AppTest.from_file(APP, default_timeout=60))
    for _ in range(30):
        app = _login(app, "sam", "Wrong-Guess-26")
        assert USER not in app.session_state
    app = _login(app, "sam", password("sam"))
    assert USER not in app.session_state  # throttled: not even tried
    (error,) = [e.value for e in app.error]
    assert "登录失败次数过多" in error
    actions = {e.action for e in studio_services.audit.entries() if e.target == "sam"}
    assert {"auth.login_failed", "auth.refused_delay"} <= actions


def test_the_console_warns_while_a_demo_password_is_unchanged(studio_services: Services) -> None:
    app = run(AppTest.from_file(APP, default_timeout=60))
    assert not any("演示密码" in w.value for w in app.warning)
    studio_services.accounts.add("demo01", "policydesk-demo", ["agent"], demo=True)
    app = run(app)
    (banner,) = [w.value for w in app.warning if "演示密码" in w.value]
    assert "demo01" in banner
    studio_services.accounts.set_password("demo01", "Changed-Pass-26")
    app = run(app)
    assert not any("演示密码" in w.value for w in app.warning)


def test_a_deactivated_account_is_logged_out_at_the_next_click(studio_services: Services) -> None:
    app = _login(run(AppTest.from_file(APP, default_timeout=60)), "alan", password("alan"))
    studio_services.accounts.deactivate("alan")
    app = run(app)
    assert USER not in app.session_state
    assert _headers(app) == ["登录 PolicyDesk"]


def test_pages_need_a_login(studio_services: Services) -> None:
    for name in ("console", "knowledge_search", "studio_kb", "audit"):
        app = run(AppTest.from_file(page(name), default_timeout=60))
        assert [w.value for w in app.warning] == ["请先在左侧边栏登录。"], name


@pytest.mark.parametrize(
    "name",
    [
        "studio_kb",
        "studio_import",
        "studio_review",
        "studio_eval",
        "studio_feedback",
        "studio_routing",
    ],
)
def test_an_agent_cannot_open_the_studio(studio_services: Services, name: str) -> None:
    app = run(logged_in(AppTest.from_file(page(name), default_timeout=60), studio_services, "alan"))
    assert app.error and "需要以下角色之一" in app.error[0].value
    assert "培训师" in app.error[0].value or "审核员" in app.error[0].value
    assert not app.button and not app.text_input and not app.file_uploader


@pytest.mark.parametrize("name", ["audit", "users"])
def test_only_a_supervisor_opens_the_admin_pages(studio_services: Services, name: str) -> None:
    app = run(logged_in(AppTest.from_file(page(name), default_timeout=60), studio_services, "tina"))
    assert app.error and "主管" in app.error[0].value
    app = run(logged_in(AppTest.from_file(page(name), default_timeout=60), studio_services, "sam"))
    assert not app.error


def test_a_trainer_sees_the_review_queue_but_cannot_publish(studio_services: Services) -> None:
    studio = studio_services.studio
    tina = studio_services.accounts.get("tina")
    content = PassageContent(
        kind=ItemKind.CLAUSE, title="第九条", text="自用充电桩起火造成的损失，保险人负责赔偿。"
    )
    item = studio.create(tina, ItemKind.CLAUSE, content, item_id="t-9")
    studio.submit(tina, item.id)
    app = run(
        logged_in(
            AppTest.from_file(page("studio_review"), default_timeout=60), studio_services, "tina"
        )
    )
    assert "t-9" in texts(app)
    assert not any(b.key == "publish-t-9" for b in app.button)
    assert "此操作需要审核员、主管角色。" in texts(app)
    # the reviewer gets the buttons
    app = run(
        logged_in(
            AppTest.from_file(page("studio_review"), default_timeout=60), studio_services, "rita"
        )
    )
    assert any(b.key == "publish-t-9" for b in app.button)


def test_a_reviewer_cannot_edit_but_may_roll_back(studio_services: Services) -> None:
    app = logged_in(
        AppTest.from_file(page("studio_kb"), default_timeout=60), studio_services, "rita"
    )
    app = run(app)
    app.selectbox(key="kb_item").set_value("t-1")
    app = run(app)
    assert "此操作需要培训师、主管角色。" in texts(app)  # the edit tab
    assert not any(b.label == "保存为新版本" for b in app.button)
    assert "没有可回滚的已发布版本。" in texts(app)  # only v1, and it is live


@pytest.mark.parametrize("username", ["alan", "tina", "rita", "sam"])
def test_every_page_a_role_sees_opens_through_the_app(
    studio_services: Services, username: str
) -> None:
    studio_services.feedback.record(
        NewFeedback(
            passage_id="t-1",
            citation="测试条款第一条",
            kind="clause",
            question="地库被淹",
            helpful=True,
        )
    )
    user = studio_services.accounts.get(username)
    app = run(logged_in(AppTest.from_file(APP, default_timeout=60), studio_services, username))
    for spec in visible_pages(user):
        if spec is CHAT:
            continue  # the chatbot needs the real encoder (test_chat_page covers it)
        app.switch_page(spec.path)
        app = run(app)
        assert not app.error, (spec.path, [e.value for e in app.error])
        assert app.header, spec.path
