"""The contacts table on a real database: repeats kept right in both directions, every KPI tied
out with the contacts behind it, reviews' agreement, disputes and coaching cases."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from core.errors import PolicyDeskError
from quality.kpis import METRICS, KpiFilter, metric, value
from quality.models import (
    ContactKind,
    ContactRecord,
    Evidence,
    ItemScore,
    Outcome,
    QaResult,
    Survey,
)
from quality.store import ContactNotFoundError, ContactStore, mark_repeats

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _contact(
    cid: str,
    at: datetime,
    customer: str | None = "C1",
    matter: str = "claim_progress",
    **kw: object,
) -> ContactRecord:
    fields: dict[str, object] = {
        "id": cid,
        "kind": ContactKind.AGENT,
        "channel": "phone",
        "agent": "amy",
        "team": "一组",
        "customer_id": customer,
        "matter": matter,
        "started_at": at,
        "ended_at": at + timedelta(minutes=4),
        "handle_s": 240.0,
        **kw,
    }
    return ContactRecord.model_validate(fields)


def _qa(score: float | None, redlines: int = 0) -> QaResult:
    item = ItemScore(item="closing", label="结束语", outcome=Outcome.PASS, weight=1.0)
    return QaResult(scorecard="t/1", items=[item], score=score, redlines=redlines, scored_at=T0)


def test_a_contact_on_the_same_matter_within_seven_days_marks_the_earlier_one_repeated(
    migrated_engine: Engine,
) -> None:
    store = ContactStore(migrated_engine)
    store.record(_contact("a", T0))
    store.record(_contact("other-matter", T0 + timedelta(days=1), matter="renewal_change"))
    store.record(_contact("b", T0 + timedelta(days=6)))
    store.record(_contact("late", T0 + timedelta(days=20)))
    assert store.get("a").repeated and not store.get("b").repeated
    assert not store.get("other-matter").repeated and not store.get("late").repeated

    # recorded out of order (a history loaded late): the earlier one learns of the later one
    store.record(_contact("x", T0 + timedelta(days=40), customer="C2"))
    store.record(_contact("w", T0 + timedelta(days=38), customer="C2"))
    assert store.get("w").repeated and not store.get("x").repeated

    # recording the same contact again (its wrap-up saved) keeps one row and the flag
    store.record(store.get("a").model_copy(update={"disposition": "已解答"}))
    assert store.get("a").repeated and store.count() == 6


def test_mark_repeats_agrees_with_the_store() -> None:
    contacts = [
        _contact("a", T0),
        _contact("b", T0 + timedelta(days=7)),
        _contact("c", T0 + timedelta(days=15)),
        _contact("anon", T0, customer=None),
    ]
    marked = {c.id: c.repeated for c in mark_repeats(contacts)}
    assert marked == {"a": True, "b": False, "c": False, "anon": False}


def _history(n: int = 300, seed: int = 3) -> list[ContactRecord]:
    rng = random.Random(seed)
    out: list[ContactRecord] = []
    for i in range(n):
        at = T0 + timedelta(hours=rng.randrange(0, 24 * 30))
        bot = rng.random() < 0.3
        upset = rng.random() < 0.3
        scored = not bot and rng.random() < 0.9
        out.append(
            _contact(
                f"c{i}",
                at,
                customer=rng.choice(["C1", "C2", "C3", "C4", None]),
                matter=rng.choice(["claim_progress", "report_claim", "complaint"]),
                kind=ContactKind.BOT if bot else ContactKind.AGENT,
                agent="" if bot else rng.choice(["amy", "bo", "cy"]),
                team="" if bot else rng.choice(["一组", "二组"]),
                handle_s=float(rng.randrange(30, 900)),
                acw_s=float(rng.randrange(0, 120)),
                upset=upset,
                recovered=(rng.random() < 0.6) if upset else None,
                handoff=bot and rng.random() < 0.4,
                escalated=not bot and rng.random() < 0.1,
                complaint=rng.random() < 0.1,
                resolved=rng.random() < 0.8,
                qa=_qa(float(rng.randrange(40, 101)), rng.choice([0, 0, 0, 1, 2]))
                if scored
                else None,
                survey=Survey(
                    nps=rng.randrange(0, 11) if rng.random() < 0.4 else None,
                    csat=rng.randrange(1, 6) if rng.random() < 0.4 else None,
                ),
            )
        )
    return mark_repeats(out)


@pytest.mark.parametrize(
    "view",
    [
        KpiFilter(start=date(2026, 11, 1), end=date(2026, 12, 6)),
        KpiFilter(start=date(2026, 11, 5), end=date(2026, 11, 20), team="二组"),
        KpiFilter(start=date(2026, 11, 1), end=date(2026, 12, 6), agent="amy"),
    ],
    ids=["centre", "team", "agent"],
)
def test_every_figure_ties_out_with_the_contacts_behind_it(
    migrated_engine: Engine, view: KpiFilter
) -> None:
    store = ContactStore(migrated_engine)
    history = _history()
    assert store.record_many(history) == len(history)
    figures = store.figures(view)
    in_view = [
        c
        for c in history
        if view.start <= c.day <= view.end
        and (view.team is None or c.team == view.team)
        and (view.agent is None or c.agent == view.agent)
    ]
    for m in METRICS:
        rows = store.drill(view, m.name, limit=None)
        assert figures[m.name].n == len(rows), m.name
        assert figures[m.name].value == value(m, len(rows), sum(r.amount or 0 for r in rows)), (
            m.name
        )
        assert {r.id for r in rows} <= {c.id for c in in_view}
    # and against the records themselves, for figures any reader can check by hand
    assert figures["complaint_rate"].n == len(in_view)
    complaints = sum(c.complaint for c in in_view)
    assert figures["complaint_rate"].value == (
        round(complaints / len(in_view), 4) if in_view else None
    )
    repeats = [c for c in in_view if c.customer_id is not None]
    assert figures["repeat_contact_7d"].n == len(repeats)
    promoters = sum(1 for c in in_view if c.survey.nps is not None and c.survey.nps >= 9)
    detractors = sum(1 for c in in_view if c.survey.nps is not None and c.survey.nps <= 6)
    answered = sum(1 for c in in_view if c.survey.nps is not None)
    if answered:
        assert figures["nps"].value == round(100 * (promoters - detractors) / answered, 1)
    per_day = store.series(view, "day")
    assert sum(f["fcr"].n for _, f in per_day) == figures["fcr"].n


def test_a_bad_view_or_metric_is_a_clear_error(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        KpiFilter(start=date(2026, 12, 6), end=date(2026, 12, 1))
    with pytest.raises(PolicyDeskError, match="unknown metric 'speed'; known: fcr"):
        metric("speed")
    store = ContactStore(migrated_engine)
    with pytest.raises(PolicyDeskError, match="cannot group by 'hour'"):
        store.series(KpiFilter(start=date(2026, 12, 1), end=date(2026, 12, 6)), "hour")
    with pytest.raises(ContactNotFoundError, match="no finished contact 'nope'"):
        store.get("nope")


def test_agreement_counts_the_first_review_of_each_item(migrated_engine: Engine) -> None:
    store = ContactStore(migrated_engine)
    store.record(_contact("a", T0, qa=_qa(80.0)))
    store.record(_contact("b", T0, qa=_qa(80.0)))
    store.add_review("a", "closing", Outcome.PASS, Outcome.PASS, "sue", "")
    store.add_review("b", "closing", Outcome.PASS, Outcome.FAIL, "sue", "没有结束语")
    store.add_review("b", "closing", Outcome.FAIL, Outcome.FAIL, "sue", "again")  # a re-check
    [closing] = store.agreement()
    assert (closing.item, closing.reviewed, closing.agreed, closing.rate) == ("closing", 2, 1, 0.5)


def test_disputes_and_coaching_cases_keep_their_state(migrated_engine: Engine) -> None:
    store = ContactStore(migrated_engine)
    store.record(_contact("a", T0, qa=_qa(80.0)))
    dispute = store.add_dispute("a", "closing", "amy", "我说了再见")
    assert [d.id for d in store.disputes("open", agent="amy")] == [dispute.id]
    decided = store.decide_dispute(dispute.id, "upheld", "sue", "属实")
    assert (decided.state, decided.decided_by) == ("upheld", "sue")
    with pytest.raises(PolicyDeskError, match="already upheld"):
        store.decide_dispute(dispute.id, "rejected", "sue", "")
    case = store.add_coaching(
        "a", "reply", "肯定全赔", "", [Evidence(turn=1, span="全赔", source="guard:x")], "sue"
    )
    assert [c.id for c in store.coaching()] == [case.id] and case.evidence[0].span == "全赔"
    store.mark_coaching_reviewed(case.id)
    assert store.coaching() == [] and len(store.coaching(include_reviewed=True)) == 1
