"""The demo history: a deterministic plan, recorded through the live stores, and the dashboard's
figures tied out to their drill-downs on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Role
from calls.store import CallStore
from conversation.models import Speaker
from core.errors import PolicyDeskError
from customers.demo import CHINA, generate
from db.schema import contacts_table
from quality.kpis import METRICS, KpiFilter, value
from quality.models import ContactKind, ContactRecord, ContactTurn, QaResult
from quality.store import ContactStore
from services.demo_history import (
    DEMO_AGENT,
    DEMO_PREFIX,
    TEMPLATE_PREFIX,
    HistorySummary,
    HistoryTemplate,
    demo_customer_ids,
    demo_staff,
    generate_history,
    history_contacts,
    load_scenarios,
    plan_history,
    run_templates,
)
from services.root import Services

pytestmark = pytest.mark.integration

TODAY = date(2025, 3, 3)
"""Far from the other tests' contacts (they record theirs now) in the shared demo database."""
DAYS, AGENTS = 14, 3


# ----- the plan, on synthetic templates (no model) -------------------------------------------


def _template(kind: ContactKind, matter: str, quality: str, score: float | None) -> HistoryTemplate:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    turns = [
        ContactTurn(speaker=Speaker.CUSTOMER, text="我想问一下理赔进度", at=start),
        ContactTurn(
            speaker=Speaker.AGENT if kind is ContactKind.AGENT else Speaker.BOT,
            text="好的，请稍等",
            at=start,
        ),
    ]
    qa = QaResult(scorecard="t", items=[], score=score, redlines=0, scored_at=start)
    contact = ContactRecord(
        id=f"t-{matter}-{quality}",
        kind=kind,
        channel="console" if kind is ContactKind.AGENT else "chat",
        matter=matter,
        started_at=start,
        ended_at=start,
        handle_s=0,
        turns=turns,
        qa=qa if kind is ContactKind.AGENT else None,
    )
    return HistoryTemplate(
        scenario=contact.id,
        kind=kind,
        quality=quality,
        weight=1,
        disposition="已解答" if kind is ContactKind.AGENT else "",
        contact=contact,
    )


SYNTHETIC = [
    _template(ContactKind.AGENT, "claim_progress", "exemplary", 100.0),
    _template(ContactKind.AGENT, "claim_progress", "no_empathy", 60.0),
    _template(ContactKind.AGENT, "complaint", "redline", 40.0),
    _template(ContactKind.BOT, "claim_materials", "bot", None),
]


def test_the_same_seed_and_day_give_the_same_history_and_another_seed_another() -> None:
    first = history_contacts(TODAY, DAYS, AGENTS, 7, SYNTHETIC)
    again = history_contacts(TODAY, DAYS, AGENTS, 7, SYNTHETIC)
    other = history_contacts(TODAY, DAYS, AGENTS, 8, SYNTHETIC)
    assert [c.model_dump() for c in first] == [c.model_dump() for c in again]
    assert [c.model_dump() for c in first] != [c.model_dump() for c in other]
    assert len({c.id for c in first}) == len(first)
    assert all(c.id.startswith(DEMO_PREFIX) for c in first)
    assert {c.local_day(CHINA) for c in first} <= {
        TODAY - timedelta(days=d) for d in range(1, DAYS + 1)
    }


def test_agents_work_more_on_weekdays_and_customers_come_back() -> None:
    contacts = history_contacts(TODAY, 28, 8, 7, SYNTHETIC)
    staff = demo_staff(8)
    assert staff[0].username == DEMO_AGENT
    assert {s.team for s in staff} == {"一组", "二组", "三组"}
    calls = [c for c in contacts if c.kind is ContactKind.AGENT]
    weekday = [c for c in calls if c.local_day(CHINA).weekday() < 5]
    weekend = [c for c in calls if c.local_day(CHINA).weekday() >= 5]
    assert len(weekday) / 20 > 3 * len(weekend) / 8  # per day: 3-7 against 0-2 per agent
    assert {c.agent for c in calls} == {s.username for s in staff}
    assert any(c.repeated for c in contacts)
    assert all(c.kind is ContactKind.BOT for c in contacts if not c.agent)
    assert all(c.acw_s > 0 and c.disposition for c in calls)
    # a skilled agent's calls score higher than a struggling one's
    best = max(staff, key=lambda s: s.skill)
    worst = min(staff, key=lambda s: s.skill)

    def mean(agent: str) -> float:
        scores = [c.qa.score for c in calls if c.agent == agent and c.qa and c.qa.score]
        return sum(scores) / len(scores)

    assert mean(best.username) > mean(worst.username)


def test_a_plan_needs_days_templates_and_customers() -> None:
    staff = demo_staff(2)
    with pytest.raises(PolicyDeskError, match="at least one day"):
        plan_history(TODAY, 0, staff, 7, SYNTHETIC, ["C00001"])
    with pytest.raises(PolicyDeskError, match="call and chat templates"):
        plan_history(TODAY, 3, staff, 7, SYNTHETIC[:1], ["C00001"])
    with pytest.raises(PolicyDeskError, match="customers seed"):
        plan_history(TODAY, 3, staff, 7, SYNTHETIC, [])
    with pytest.raises(PolicyDeskError, match="at least one agent"):
        demo_staff(0)


def test_the_scenarios_are_valid_and_span_the_matters_and_slips() -> None:
    calls, chats = load_scenarios()
    assert 25 <= len(calls) <= 35 and 8 <= len(chats) <= 12
    assert all(6 <= len(c.turns) <= 14 for c in calls)
    assert {c.quality for c in calls} >= {
        "exemplary",
        "no_greeting",
        "no_identity",
        "no_empathy",
        "redline",
        "no_next_step",
        "no_closing",
    }
    assert {c.ends for c in chats} == {"handoff", "thanks"}
    assert len(demo_customer_ids()) == len(generate()["cust_customers"])


# ----- recorded through the live services (real models) --------------------------------------


@pytest.fixture(scope="module")
def services(demo_services: Services) -> Services:
    if not demo_services.customers.count():
        demo_services.customers.load_records(generate(40))
    if DEMO_AGENT not in {u.username for u in demo_services.accounts.list()}:
        demo_services.accounts.add(DEMO_AGENT, "demo-password-1", [Role.AGENT], "坐席 王小青")
    return demo_services


@pytest.fixture(scope="module")
def templates(services: Services) -> list[HistoryTemplate]:
    return run_templates(services)


@pytest.fixture(scope="module")
def history(services: Services, templates: list[HistoryTemplate]) -> HistorySummary:
    return generate_history(
        services, TODAY, days=DAYS, agents=AGENTS, replace=True, templates=templates
    )


PERIOD = KpiFilter(start=TODAY - timedelta(days=DAYS), end=TODAY - timedelta(days=1))


def test_every_scenario_ran_once_and_left_nothing_behind(
    services: Services, templates: list[HistoryTemplate]
) -> None:
    calls, chats = load_scenarios()
    assert len(templates) == len(calls) + len(chats)
    assert all(t.contact.qa is not None for t in templates if t.kind is ContactKind.AGENT)
    assert any(t.contact.handoff for t in templates if t.kind is ContactKind.BOT)
    assert any(t.survey_turns for t in templates if t.kind is ContactKind.BOT)
    store = ContactStore(services.engine)
    assert not store.count(contacts_table.c.id.startswith(TEMPLATE_PREFIX))


def test_the_history_is_recorded_through_the_stores(
    services: Services, history: HistorySummary
) -> None:
    assert history.contacts == history.calls + history.chats > 0
    assert history.handoffs > 0 and history.surveys > 0
    rows = services.quality.contacts(PERIOD, limit=10_000)
    ours = [r for r in rows if r.id.startswith(DEMO_PREFIX)]
    assert len(ours) == history.contacts
    calls = CallStore(services.engine)
    for row in ours:
        if row.kind == ContactKind.AGENT:
            call = calls.get(row.id)
            assert call.agent == row.agent and call.ended_at is not None
            assert call.finals() and all(s.assist is not None for s in call.finals())
        else:
            conversation, _ = services.conversations.load(row.id)
            assert conversation.turns and conversation.created_at == row.started_at
    agents = {r.agent for r in ours if r.agent}
    assert DEMO_AGENT in agents and len(agents) == AGENTS
    assert {r.team for r in ours if r.agent} == {s.team for s in demo_staff(AGENTS)}


def test_the_stored_history_is_the_generated_one(
    services: Services, history: HistorySummary, templates: list[HistoryTemplate]
) -> None:
    customers = [c.id for c in services.customers.list(limit=services.customers.count())]
    expected = history_contacts(TODAY, DAYS, AGENTS, 7, templates, customers)
    assert len(expected) == history.contacts
    store = ContactStore(services.engine)
    keys = ("agent", "team", "customer_id", "matter", "started_at", "ended_at", "disposition")
    for want in expected:
        got = store.get(want.id)
        assert {k: getattr(got, k) for k in keys} == {k: getattr(want, k) for k in keys}
        assert (got.survey, got.repeated, got.handoff, got.resolved) == (
            want.survey,
            want.repeated,
            want.handoff,
            want.resolved,
        )
        assert got.acw_s == pytest.approx(want.acw_s)
        assert (got.qa.score if got.qa else None) == (want.qa.score if want.qa else None)


def test_a_second_run_does_nothing_unless_asked(
    services: Services, history: HistorySummary
) -> None:
    again = generate_history(services, TODAY, days=DAYS, agents=AGENTS)
    assert again.skipped and again.contacts == history.contacts


@pytest.mark.parametrize("scope", ["centre", "team", "agent"])
def test_every_figure_ties_out_to_its_drill_down(
    services: Services, history: HistorySummary, scope: str
) -> None:
    staff = demo_staff(AGENTS)
    view = PERIOD.model_copy(
        update={
            "team": staff[1].team if scope == "team" else None,
            "agent": DEMO_AGENT if scope == "agent" else None,
        }
    )
    report = services.quality.kpis(view)
    for m in METRICS:
        rows = services.quality.drill(view, m.name, limit=None)
        figure = report.metrics[m.name]
        assert figure.n == len(rows), m.name
        total = sum(r.amount or 0.0 for r in rows)
        assert figure.value == value(m, len(rows), total), m.name
    if scope == "centre":
        dashboard = services.quality.dashboard(view)
        assert dashboard.report.metrics["fcr"].n == history.contacts
        assert sum(f["fcr"].n for _, f in dashboard.daily) == history.contacts


def test_agents_card_votes_come_with_the_history_and_a_replace_does_not_double_them(
    services: Services, history: HistorySummary, templates: list[HistoryTemplate]
) -> None:
    helpful = services.quality.kpis(PERIOD).metrics["card_helpfulness"]
    assert helpful.n > 0 and helpful.value is not None and 0.5 < helpful.value < 1.0
    again = generate_history(
        services, TODAY, days=DAYS, agents=AGENTS, replace=True, templates=templates
    )
    assert again.contacts == history.contacts
    assert services.quality.kpis(PERIOD).metrics["card_helpfulness"] == helpful
