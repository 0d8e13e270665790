"""The quality pages with AppTest: the service dashboard, supervisors' quality checks, an agent's
own scorecards and disputes, and cases sent to the trainers' feedback page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from conversation.models import Speaker
from quality.kpis import METRICS
from quality.models import (
    ContactKind,
    ContactRecord,
    ContactTurn,
    Evidence,
    ItemScore,
    Outcome,
    QaResult,
)
from quality.service import weighted_score
from quality.store import ContactStore
from services.root import Services
from tests.ui.conftest import logged_in, page, run, texts
from ui.format import escape_markdown

pytestmark = pytest.mark.integration

SUPERVISOR, AGENT, TRAINER = "sam", "alan", "tina"
SCORED = "c-alan-1"


def _item(item: str, label: str, outcome: Outcome, *evidence: Evidence) -> ItemScore:
    return ItemScore(
        item=item,
        label=label,
        outcome=outcome,
        weight=1.0,
        evidence=list(evidence),
        reason=f"{label}：{outcome.value}",
    )


def _contact(
    contact_id: str,
    days_ago: int,
    agent: str = AGENT,
    team: str = "一组",
    empathy: Outcome = Outcome.FAIL,
) -> ContactRecord:
    """An agent's call, scored 75 (empathy failed) unless told otherwise."""
    started = datetime.now(UTC) - timedelta(days=days_ago, hours=1)
    turns = [
        ContactTurn(speaker=Speaker.AGENT, text="您好，很高兴为您服务。"),
        ContactTurn(
            speaker=Speaker.CUSTOMER, text="我的车理赔拖了一个月了，我要投诉！", upset=True
        ),
        ContactTurn(speaker=Speaker.AGENT, text="请提供身份证后四位。"),
        ContactTurn(speaker=Speaker.CUSTOMER, text="1234"),
        ContactTurn(speaker=Speaker.AGENT, text="感谢您的来电，再见。"),
    ]
    items = [
        _item("greeting_identity", "问候与身份核验", Outcome.PASS),
        _item(
            "empathy",
            "情绪安抚",
            empathy,
            Evidence(
                turn=2, speaker=Speaker.AGENT, span="请提供身份证后四位", source="rule:empathy"
            ),
        ),
        _item("redlines", "无红线", Outcome.PASS),
        _item("closing", "结束语", Outcome.PASS),
    ]
    return ContactRecord(
        id=contact_id,
        kind=ContactKind.AGENT,
        channel="phone",
        agent=agent,
        team=team,
        customer_id=f"cust-{contact_id}",
        matter="claim_status",
        started_at=started,
        ended_at=started + timedelta(minutes=5),
        handle_s=300.0,
        upset=True,
        complaint=True,
        disposition="已解答",
        turns=turns,
        qa=QaResult(
            scorecard="test v1",
            items=items,
            score=weighted_score(items),
            redlines=0,
            scored_at=started,
        ),
    )


def _bot(contact_id: str, days_ago: int, reason: str = "") -> ContactRecord:
    started = datetime.now(UTC) - timedelta(days=days_ago, hours=2)
    return ContactRecord(
        id=contact_id,
        kind=ContactKind.BOT,
        channel="wechat",
        started_at=started,
        ended_at=started + timedelta(minutes=2),
        handle_s=120.0,
        handoff=bool(reason),
        handoff_reason=reason,
        resolved=not reason,
    )


@pytest.fixture
def quality_services(studio_services: Services) -> Iterator[Services]:
    """The studio's services with a few weeks of recorded contacts: two agents in two teams and
    the bot (two handoffs)."""
    quality = studio_services.quality
    quality.record(_contact(SCORED, 1))
    quality.record(_contact("c-alan-2", 10, empathy=Outcome.PASS))
    quality.record(_contact("c-bob-1", 20, agent="bob", team="二组", empathy=Outcome.NA))
    quality.record(_bot("b-1", 3, "客户要求转人工"))
    quality.record(_bot("b-2", 4, "情绪激动"))
    quality.record(_bot("b-3", 5))
    yield studio_services


def _open(services: Services, name: str, username: str) -> AppTest:
    return run(logged_in(AppTest.from_file(page(name), default_timeout=60), services, username))


def _submit(app: AppTest, label: str) -> AppTest:
    (button,) = [b for b in app.button if b.label == label]
    button.click()
    return run(app)


def test_the_dashboard_shows_every_kpi_with_its_n_and_drills_down(
    quality_services: Services,
) -> None:
    app = _open(quality_services, "dashboard", SUPERVISOR)
    tiles = {m.label: m for m in app.metric}
    assert len(tiles) == len(METRICS) + 1  # and the cards' helpfulness
    assert tiles["一次性解决率"].value == "66.7%"  # all but the two handoffs
    assert tiles["平均处理时长"].value == "300 秒"
    assert tiles["转人工率"].value == "66.7%"
    assert "n = 3" in texts(app)  # the bot's contacts, the base of its rates
    assert any("坐席接触从开始到结束" in str(m.proto.help) for m in app.metric)

    drill = app.dataframe[-1].value
    assert "计入分子" in drill.columns and len(drill) == 6
    assert drill["计入分子"].sum() == 4  # the contacts FCR counts

    app.selectbox(key="dash_drill").set_value("handoff_rate")
    app = run(app)
    drill = app.dataframe[-1].value
    assert sorted(drill["接触"]) == ["b-1", "b-2", "b-3"]
    assert drill["计入分子"].sum() == 2

    app.selectbox(key="dash_agent").set_value("bob")  # the agents are from the data
    app = run(app)
    assert {m.label: m.value for m in app.metric}["质检得分"] == "100.0 分"


def test_the_dashboard_speaks_english_and_refuses_a_too_long_period(
    quality_services: Services,
) -> None:
    app = AppTest.from_file(page("dashboard"), default_timeout=60)
    app.session_state["lang"] = "en"
    app = run(logged_in(app, quality_services, SUPERVISOR))
    tiles = {m.label: m for m in app.metric}
    assert tiles["Average handling time"].value == "300 s"
    assert "Seconds from start to end" in str(tiles["Average handling time"].proto.help)

    today = date.today()
    app.date_input(key="dash_period").set_value((today - timedelta(days=800), today))
    app = run(app)
    assert app.error and "two years" in app.error[0].value
    assert not app.metric


def test_an_agent_cannot_open_the_dashboard_or_the_quality_checks(
    quality_services: Services,
) -> None:
    for name in ("dashboard", "quality_review"):
        app = _open(quality_services, name, AGENT)
        assert app.error and "主管" in app.error[0].value
        assert not app.metric and not app.dataframe


def test_a_supervisor_correction_changes_the_score_and_the_agreement(
    quality_services: Services,
) -> None:
    app = _open(quality_services, "quality_review", SUPERVISOR)
    app.selectbox(key="qa_contact").set_value(SCORED)
    app = run(app)
    shown = texts(app)
    assert "得分 75.0" in shown and "请提供身份证后四位" in shown and "rule:empathy" in shown

    app.selectbox(key="qa_review_item").set_value("empathy")
    app.radio(key="qa_review_outcome").set_value(Outcome.PASS)
    app.text_input(key="qa_review_note").input("坐席先致歉了，规则漏看")
    app = _submit(app, "保存更正")
    assert "当前得分 100.0" in texts(app)
    contact = quality_services.quality.find(SCORED)
    assert contact is not None and contact.qa is not None and contact.qa.score == 100.0

    agreement = app.dataframe[0].value
    row = agreement[agreement["评分项"] == "empathy"].iloc[0]
    assert (row["复核数"], row["与自动评分一致"], row["一致率"]) == (1, 0, "0%")


def test_a_wrong_score_range_is_a_message_not_a_traceback(quality_services: Services) -> None:
    app = _open(quality_services, "quality_review", SUPERVISOR)
    app.number_input(key="qa_low").set_value(90.0)
    app.number_input(key="qa_high").set_value(10.0)
    app = run(app)
    assert app.error and "90" in app.error[0].value


def test_an_agent_disputes_an_item_and_a_supervisor_upholds_it(
    quality_services: Services,
) -> None:
    app = _open(quality_services, "my_quality", AGENT)
    assert "c-bob-1" not in texts(app) + str(app.selectbox(key="my_contact").options)
    app.selectbox(key="my_contact").set_value(SCORED)
    app.selectbox(key="my_dispute_item").set_value("empathy")
    app = _submit(app, "提交申诉")  # without a reason: refused, with a message
    assert app.error and "why" in app.error[0].value.lower()

    app.selectbox(key="my_dispute_item").set_value("empathy")
    app.text_area(key="my_dispute_note").input("我第二句就道歉了")
    app = _submit(app, "提交申诉")
    assert "申诉已提交" in texts(app)
    mine = app.dataframe[-1].value
    assert list(mine["状态"]) == ["待处理"]

    supervisor = _open(quality_services, "quality_review", SUPERVISOR)
    (dispute,) = quality_services.quality.disputes(quality_services.accounts.get(SUPERVISOR))
    assert "我第二句就道歉了" in texts(supervisor)
    supervisor.button(key=f"qa_uphold_{dispute.id}").click()
    supervisor = run(supervisor)
    assert "成立" in texts(supervisor)
    contact = quality_services.quality.find(SCORED)
    assert contact is not None and contact.qa is not None and contact.qa.score == 100.0

    again = _open(quality_services, "my_quality", AGENT)
    assert list(again.dataframe[-1].value["状态"]) == ["成立"]
    own = _open(quality_services, "my_quality", SUPERVISOR)  # their own, not the agents'
    assert "您还没有提交申诉" in texts(own) and not own.dataframe


def test_cases_sent_to_training_reach_the_studio_feedback_page(
    quality_services: Services,
) -> None:
    app = _open(quality_services, "quality_review", SUPERVISOR)
    app.selectbox(key="qa_contact").set_value(SCORED)
    app = run(app)
    app.text_input(key="qa_training_note").input("安抚话术辅导")
    app.button(key="qa_send_coaching").click()
    app = run(app)
    assert "已送培训" in texts(app)
    app.selectbox(key="qa_turn_utterance").set_value(1)
    app.button(key="qa_send_utterance").click()
    app = run(app)

    studio = _open(quality_services, "studio_feedback", TRAINER)
    shown = texts(studio)
    assert "辅导案例" in shown and "安抚话术辅导" in shown and "情绪安抚" in shown
    assert "待标注客户语句" in shown and "我要投诉" in shown and SUPERVISOR in shown
    cases = quality_services.quality.coaching()
    assert {c.kind for c in cases} == {"coaching", "utterance"}
    studio.button(key=f"coaching-done-{cases[0].id}").click()
    studio = run(studio)
    assert "质检案例已处理" in texts(studio)
    assert len(quality_services.quality.coaching()) == 1


def test_the_dashboard_reads_the_view_once_however_long_the_history(
    quality_services: Services,
) -> None:
    """A rerun costs the same few statements with 6 contacts or with 90 days of history: every
    figure, series and list is one grouped query, never one per tile, day or agent."""
    app = _open(quality_services, "dashboard", SUPERVISOR)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    def rerun() -> int:
        statements.clear()
        run(app)
        return len(statements)

    event.listen(quality_services.engine, "before_cursor_execute", seen)
    try:
        few = rerun()
        history = [
            _contact(f"h-{day}-{n}", day, agent=("alan", "bob", "carl")[n % 3], team=f"{n % 2}组")
            if n % 4
            else _bot(f"h-b-{day}-{n}", day, "客户要求转人工" if n % 8 == 0 else "")
            for day in range(90)
            for n in range(20)
        ]
        ContactStore(quality_services.engine).record_many(history)
        many = rerun()
    finally:
        event.remove(quality_services.engine, "before_cursor_execute", seen)
    assert few == many <= 16, statements
    assert len(app.dataframe[-1].value) == 500  # the drill-down shows the newest 500


@pytest.mark.parametrize(
    ("name", "username", "header"),
    [
        ("dashboard", SUPERVISOR, "Service dashboard"),
        ("quality_review", SUPERVISOR, "Quality checks: scores and reviews"),
        ("my_quality", AGENT, "My quality checks"),
    ],
)
def test_the_quality_pages_render_in_english(
    quality_services: Services, name: str, username: str, header: str
) -> None:
    app = AppTest.from_file(page(name), default_timeout=60)
    app.session_state["lang"] = "en"
    app = run(logged_in(app, quality_services, username))
    assert app.header[0].value == header
    assert not app.error


def test_a_contact_scored_by_the_shipped_scorecard_shows_its_items_and_evidence(
    quality_services: Services,
) -> None:
    unscored = _contact("c-real-1", 2).model_copy(update={"qa": None})
    scored = quality_services.quality.record(unscored)  # scored on data/quality/scorecard.yaml
    assert scored.qa is not None
    app = _open(quality_services, "quality_review", SUPERVISOR)
    app.selectbox(key="qa_contact").set_value("c-real-1")
    app = run(app)
    shown = texts(app)
    for item in scored.qa.items:
        assert f"`{item.item}`" in shown
    assert escape_markdown(scored.qa.scorecard) in shown
    assert not app.exception and not app.error
