"""The golden question set and evaluation runs on real SQLite, and a run over a real index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.errors import PolicyDeskError
from core.settings import PROJECT_ROOT
from services.root import Services
from studio.golden import (
    EvalRunNotFoundError,
    EvaluationRuns,
    GoldenQuestionError,
    GoldenQuestionNotFoundError,
    GoldenSet,
)
from studio.golden_eval import LIVE_LABEL, evaluate, run_golden_eval, search_with
from tests.fakes import FLOOD_ARTICLE, FRONT_MATTER, THEFT_ARTICLE

pytestmark = pytest.mark.integration

DEV_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "dev_questions.jsonl"
HELDOUT_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "heldout_questions.jsonl"


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


@pytest.fixture
def golden(engine: Engine) -> GoldenSet:
    return GoldenSet(engine)


@pytest.fixture
def runs(engine: Engine) -> EvaluationRuns:
    return EvaluationRuns(engine)


# --- the golden set -----------------------------------------------------------------------


def test_add_get_and_list(golden: GoldenSet) -> None:
    first = golden.add(
        "  车在地库\n被水淹了 能赔吗 ", ["cm2020-41", " case-001 ", "cm2020-41"], "", "t1"
    )
    second = golden.add("手机13812345678的车主退保能退多少", ["svc-faq-25"], "退保", "t2")
    assert first.question == "车在地库 被水淹了 能赔吗"
    assert first.expected_ids == ["cm2020-41", "case-001"]
    assert first.author == first.updated_by == "t1"
    assert first.created_at.tzinfo is not None
    assert second.question == "手机138****5678的车主退保能退多少"  # masked like feedback
    assert golden.get(first.id) == first
    assert [q.id for q in golden.list()] == [first.id, second.id]
    assert golden.count() == 2


def test_update_changes_only_the_given_fields(golden: GoldenSet) -> None:
    added = golden.add("车被偷了怎么赔", ["cm2020-20"], "盗抢", "t1")
    later = added.created_at + timedelta(hours=1)
    updated = golden.update(added.id, author="t2", expected_ids=["cm2020-21"], now=later)
    assert updated.expected_ids == ["cm2020-21"]
    assert (updated.question, updated.note, updated.author) == ("车被偷了怎么赔", "盗抢", "t1")
    assert (updated.updated_by, updated.updated_at) == ("t2", later)
    again = golden.update(added.id, author="t1", question="全车被盗怎么赔", note="")
    assert (again.question, again.note) == ("全车被盗怎么赔", "")
    # re-saving a question's own text is not a duplicate of itself
    assert golden.update(added.id, author="t1", question="全车被盗怎么赔").id == added.id


def test_remove(golden: GoldenSet) -> None:
    added = golden.add("玻璃碎了能赔吗", ["rider-glass-1"], "", "t1")
    golden.remove(added.id)
    assert golden.list() == []
    with pytest.raises(GoldenQuestionNotFoundError, match=f"id {added.id}"):
        golden.remove(added.id)


def test_unknown_ids_are_named(golden: GoldenSet) -> None:
    with pytest.raises(GoldenQuestionNotFoundError, match="id 42"):
        golden.get(42)
    with pytest.raises(GoldenQuestionNotFoundError, match="id 42"):
        golden.update(42, author="t1", note="x")


@pytest.mark.parametrize(
    ("question", "expected", "note", "author", "message"),
    [
        ("   ", ["a"], "", "t", "the question is empty"),
        ("问" * 501, ["a"], "", "t", "501 characters; the limit is 500"),
        ("车被淹了", [], "", "t", "at least one expected passage id"),
        ("车被淹了", ["  "], "", "t", "expected passage id '  '"),
        ("车被淹了", ["a b"], "", "t", "without spaces"),
        ("车被淹了", ["a#1"], "", "t", "without spaces or '#'"),
        ("车被淹了", "cm2020-41", "", "t", "not the string 'cm2020-41'"),
        ("车被淹了", ["a"], "注" * 501, "t", "the note has 501 characters"),
        ("车被淹了", ["a"], "", " ", "the author is empty"),
        ("车被淹了", ["a"], "", "x" * 65, "longer than 64"),
    ],
)
def test_invalid_questions_are_refused_naming_the_problem(
    golden: GoldenSet,
    question: str,
    expected: list[str],
    note: str,
    author: str,
    message: str,
) -> None:
    with pytest.raises(GoldenQuestionError, match=message.replace("(", r"\(")):
        golden.add(question, expected, note, author)
    assert golden.count() == 0


def test_a_question_is_in_the_set_once(golden: GoldenSet) -> None:
    first = golden.add("车被淹了能赔吗", ["a"], "", "t1")
    other = golden.add("车被偷了能赔吗", ["b"], "", "t1")
    with pytest.raises(GoldenQuestionError, match=f"already in the set \\(id {first.id}\\)"):
        golden.add(" 车被淹了能赔吗", ["c"], "", "t2")
    with pytest.raises(GoldenQuestionError, match="already in the set"):
        golden.update(other.id, author="t2", question="车被淹了能赔吗")
    with pytest.raises(GoldenQuestionError, match="at least one"):
        golden.update(other.id, author="t2", expected_ids=[])
    assert golden.get(other.id).question == "车被偷了能赔吗"


def test_seed_from_the_dev_questions_happens_once(golden: GoldenSet) -> None:
    loaded = golden.seed_from_jsonl(DEV_QUESTIONS)
    assert loaded == len(DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()) > 100
    first = golden.list()[0]
    assert first.source_id == "dq-001" and first.expected_ids == ["cm2020-41"]
    assert first.note == "暴雨标准" and first.author == "dev-set"
    assert golden.seed_from_jsonl(DEV_QUESTIONS) == 0
    assert golden.count() == loaded


def test_seed_never_overwrites_a_set_trainers_started(golden: GoldenSet) -> None:
    golden.add("车被淹了能赔吗", ["a"], "", "t1")
    assert golden.seed_from_jsonl(DEV_QUESTIONS) == 0
    assert golden.count() == 1


def test_heldout_questions_are_never_seeded(golden: GoldenSet, tmp_path: Path) -> None:
    with pytest.raises(PolicyDeskError, match="held-out questions are never loaded"):
        golden.seed_from_jsonl(HELDOUT_QUESTIONS)
    copy = tmp_path / "Heldout_Questions.jsonl"
    copy.write_text('{"id": "hq-1", "question": "q", "gold": ["a"]}\n', encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="held-out"):
        golden.seed_from_jsonl(copy)
    assert golden.count() == 0


def test_seed_names_a_bad_record(golden: GoldenSet, tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(
        '{"id": "dq-1", "question": "车被淹了", "gold": ["a"]}\n'
        '{"id": "dq-2", "question": "车被偷了", "gold": ["b c"]}\n',
        encoding="utf-8",
    )
    with pytest.raises(GoldenQuestionError, match=r"dev\.jsonl: dq-2: expected passage id"):
        golden.seed_from_jsonl(path)
    assert golden.count() == 0


# --- runs ---------------------------------------------------------------------------------


def test_runs_are_stored_with_their_report(golden: GoldenSet, runs: EvaluationRuns) -> None:
    a = golden.add("车被淹了", ["a"], "", "t1")
    b = golden.add("车被偷了", ["b"], "", "t1")
    report = evaluate([a, b], [["a", "x"], ["x", "y"]], citations={"x": "条款第九条"})
    at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    stored = runs.record(report, "t1", LIVE_LABEL, at=at)
    runs.record(report, "t2", "draft preview", at=at + timedelta(minutes=5))
    again = runs.get(stored.id)
    assert again.report == report and again.at == at
    assert again.report.misses[0].top[0].citation == "条款第九条"
    latest_live = runs.latest(LIVE_LABEL)
    assert latest_live is not None and latest_live.id == stored.id
    latest_any = runs.latest()
    assert latest_any is not None and latest_any.label == "draft preview"
    history = runs.history()
    assert [(h.label, h.actor, h.questions, h.misses) for h in history] == [
        ("draft preview", "t2", 2, 1),
        ("live", "t1", 2, 1),
    ]
    assert history[0].recall == {1: 0.5, 3: 0.5, 5: 0.5} and history[0].ks == [1, 3, 5]
    assert [h.id for h in runs.history(label=LIVE_LABEL)] == [stored.id]
    with pytest.raises(EvalRunNotFoundError, match="id 999"):
        runs.get(999)
    with pytest.raises(GoldenQuestionError, match="label is empty"):
        runs.record(report, "t1", " ")


def test_history_is_the_latest_runs_newest_first(golden: GoldenSet, runs: EvaluationRuns) -> None:
    """The studio's chart plots ``history(label=live)`` reversed: the last n live runs in order."""
    a = golden.add("车被淹了", ["a"], "", "t1")
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    recorded = {}
    # recorded out of time order, one draft among them, two live runs at the same moment
    for minutes, label, ranking in [
        (30, LIVE_LABEL, ["a"]),
        (10, LIVE_LABEL, ["x", "a"]),
        (20, "draft preview", ["a"]),
        (40, LIVE_LABEL, ["x", "y", "a"]),
        (40, LIVE_LABEL, ["x"]),
    ]:
        run = runs.record(
            evaluate([a], [ranking]), "t1", label, at=start + timedelta(minutes=minutes)
        )
        recorded[run.id] = (minutes, label)
    live = runs.history(limit=3, label=LIVE_LABEL)
    assert [recorded[h.id] for h in live] == [(40, LIVE_LABEL), (40, LIVE_LABEL), (30, LIVE_LABEL)]
    assert live[0].id > live[1].id  # same moment: the later record first
    assert [h.mrr for h in live] == [0.0, pytest.approx(1 / 3), 1.0]
    assert [recorded[h.id][0] for h in runs.history()] == [40, 40, 30, 20, 10]


CLAUSES = FRONT_MATTER + "# 第一章 保险责任\n" + FLOOD_ARTICLE + THEFT_ARTICLE

PILE = """---
doc_id: pile
document: 充电桩条款
---
第一条 自用充电桩因火灾、爆炸造成的损失，保险人负责赔偿。
"""


def test_live_runs_record_results_and_report_the_change(
    fake_services: Services, tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    fake_services.ingest.ingest([kb])
    golden, runs = GoldenSet(fake_services.engine), EvaluationRuns(fake_services.engine)
    golden.add("车涉水被水淹的损失", ["t-1"], "", "trainer")
    golden.add("被盗窃六十天", ["t-2"], "", "trainer")
    pile = golden.add("充电桩着火烧坏了能赔吗", ["pile-1"], "新条款", "trainer")

    report, delta = run_golden_eval(
        golden,
        runs,
        search_with(fake_services.retriever(), fake_services.embedder),
        "trainer",
        LIVE_LABEL,
    )
    assert report.recall[1] == pytest.approx(2 / 3)
    assert [m.question_id for m in report.misses] == [pile.id]
    assert report.misses[0].top[0].citation.startswith("测试条款")
    assert not delta.has_baseline
    stored = runs.latest(LIVE_LABEL)
    assert stored is not None and stored.actor == "trainer" and stored.report == report

    # a trainer imports the new clause; the next run shows the question it fixed
    (kb / "pile.md").write_text(PILE, encoding="utf-8")
    fake_services.ingest.ingest([kb])
    report2, delta2 = run_golden_eval(
        golden,
        runs,
        search_with(fake_services.retriever(), fake_services.embedder),
        "trainer",
        LIVE_LABEL,
    )
    assert report2.recall[1] == 1.0 and report2.misses == []
    assert delta2.has_baseline
    assert delta2.recall[1] == pytest.approx(1 / 3)
    assert delta2.mrr is not None and delta2.mrr > 0
    assert [c.question_id for c in delta2.newly_fixed] == [pile.id]
    assert delta2.newly_broken == []
    assert [h.mrr for h in runs.history()] == [report2.mrr, report.mrr]


def test_dev_questions_over_the_demo_knowledge_base(
    demo_services: Services, golden: GoldenSet, runs: EvaluationRuns
) -> None:
    """The seeded set, scored by the real retriever: floors under the benchmarked figures."""
    golden.seed_from_jsonl(DEV_QUESTIONS)
    report, _ = run_golden_eval(
        golden,
        runs,
        search_with(demo_services.retriever(), demo_services.embedder),
        "bench",
        LIVE_LABEL,
    )
    assert report.questions == golden.count()
    assert report.recall[5] >= 0.8 and report.mrr >= 0.65  # benchmarks.md: 0.846 / 0.703
    assert all(m.top and m.top[0].citation for m in report.misses)
