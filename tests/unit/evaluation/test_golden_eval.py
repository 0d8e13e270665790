"""Golden-set scoring, run comparison and run orchestration (pure, with in-memory stores)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pytest

from core.errors import PolicyDeskError
from core.models import Hit, PassageKind, SearchRequest, SearchResult
from studio.golden_eval import (
    LIVE_LABEL,
    EvalReport,
    Search,
    compare,
    evaluate,
    run_golden_eval,
    search_in_batches,
    search_with,
)


@dataclass(frozen=True)
class Q:
    id: int
    question: str
    expected_ids: list[str]


QUESTIONS = [
    Q(1, "车被水淹了", ["a"]),
    Q(2, "车被偷了", ["b", "c"]),
    Q(3, "玻璃碎了", ["d"]),
    Q(4, "退保", ["e"]),
]
RANKINGS = [
    ["a", "x", "y"],  # rank 1
    ["x", "y", "c", "b"],  # rank 3 (c is the first expected id found)
    ["x", "y", "z", "w", "v", "u", "d"],  # rank 7: a miss at k=5 but counts for MRR@10
    ["x"] * 10 + ["e"],  # rank 11: beyond MRR@10
]


# --- evaluate -----------------------------------------------------------------------------


def test_recall_and_mrr_by_hand() -> None:
    report = evaluate(QUESTIONS, RANKINGS)
    assert report.ks == [1, 3, 5]
    assert report.recall == {1: 0.25, 3: 0.5, 5: 0.5}
    assert report.mrr == pytest.approx((1 + 1 / 3 + 1 / 7 + 0) / 4)
    assert [r.rank for r in report.results] == [1, 3, 7, None]
    assert report.questions == 4


def test_misses_are_questions_outside_the_largest_k_with_what_came_instead() -> None:
    report = evaluate(QUESTIONS, RANKINGS, citations={"x": "条款第一条", "y": "条款第二条"})
    assert [m.question_id for m in report.misses] == [3, 4]
    miss = report.misses[0]
    assert miss.question == "玻璃碎了" and miss.expected_ids == ["d"] and miss.rank == 7
    assert [(p.id, p.citation) for p in miss.top] == [
        ("x", "条款第一条"),
        ("y", "条款第二条"),
        ("z", ""),
        ("w", ""),
        ("v", ""),
    ]


def test_empty_ranking_is_a_miss_with_nothing_instead() -> None:
    report = evaluate([Q(1, "q", ["a"])], [[]])
    assert report.recall == {1: 0.0, 3: 0.0, 5: 0.0} and report.mrr == 0.0
    assert report.misses[0].rank is None and report.misses[0].top == []


def test_all_found_first_is_perfect() -> None:
    report = evaluate(QUESTIONS, [["a"], ["b"], ["d"], ["e"]])
    assert report.recall == {1: 1.0, 3: 1.0, 5: 1.0} and report.mrr == 1.0
    assert report.misses == []


def test_ks_are_sorted_deduplicated_and_set_the_miss_depth_and_top_size() -> None:
    report = evaluate(QUESTIONS, RANKINGS, ks=(10, 1, 10))
    assert report.ks == [1, 10]
    assert report.recall == {1: 0.25, 10: 0.75}
    assert [m.question_id for m in report.misses] == [4]
    assert len(report.results[3].top) == 10


def test_beyond_ten_the_rank_follows_the_largest_k() -> None:
    report = evaluate(QUESTIONS, RANKINGS, ks=(20,))
    assert report.results[3].rank == 11
    assert report.mrr == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)  # MRR stays @10


@pytest.mark.parametrize(
    ("questions", "rankings", "ks", "message"),
    [
        ([], [], (1,), "no golden questions"),
        (QUESTIONS, RANKINGS[:3], (1,), "3 rankings for 4 questions"),
        (QUESTIONS, RANKINGS, (0, 1), "at least 1"),
        (QUESTIONS, RANKINGS, (), "at least 1"),
    ],
)
def test_bad_input_is_refused(
    questions: list[Q], rankings: list[list[str]], ks: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(questions, rankings, ks=ks)


def test_report_round_trips_through_json() -> None:
    report = evaluate(QUESTIONS, RANKINGS, citations={"a": "条款第一条"})
    again = EvalReport.model_validate_json(report.model_dump_json())
    assert again == report and again.recall[1] == 0.25


# --- compare ------------------------------------------------------------------------------


def test_no_previous_run_means_no_baseline() -> None:
    delta = compare(None, evaluate(QUESTIONS, RANKINGS))
    assert not delta.has_baseline
    assert delta.recall == {} and delta.mrr is None
    assert delta.newly_fixed == [] and delta.newly_broken == []


def test_same_run_changes_nothing() -> None:
    report = evaluate(QUESTIONS, RANKINGS)
    delta = compare(report, report)
    assert delta.has_baseline
    assert delta.recall == {1: 0.0, 3: 0.0, 5: 0.0} and delta.mrr == 0.0
    assert delta.newly_fixed == delta.newly_broken == []
    assert delta.added_questions == delta.removed_questions == []


def test_fixed_broken_and_unchanged_questions() -> None:
    before = evaluate(QUESTIONS, RANKINGS)
    after = evaluate(
        QUESTIONS,
        [
            ["x", "y", "z", "w", "v", "a"],  # was rank 1, now 6: broken
            ["b"],  # was rank 3, now 1: better but was already a hit, so not "fixed"
            ["d"],  # was rank 7, now 1: fixed
            ["x"],  # still missing
        ],
        citations={"x": "条款第九条"},
    )
    delta = compare(before, after)
    assert [(c.question_id, c.rank_before, c.rank_after) for c in delta.newly_fixed] == [(3, 7, 1)]
    assert [(c.question_id, c.rank_before, c.rank_after) for c in delta.newly_broken] == [(1, 1, 6)]
    broken = delta.newly_broken[0]
    assert broken.question == "车被水淹了" and not broken.expected_changed
    assert broken.top[0].id == "x" and broken.top[0].citation == "条款第九条"
    assert delta.recall == {1: 0.25, 3: 0.0, 5: 0.0}
    assert delta.mrr == pytest.approx(after.mrr - before.mrr)


def test_added_removed_and_edited_questions() -> None:
    before = evaluate(QUESTIONS[:3], RANKINGS[:3])
    edited = Q(3, "玻璃碎了", ["x"])  # a trainer changed the expected passage
    after = evaluate([QUESTIONS[0], edited, QUESTIONS[3]], [["a"], ["x"], ["e"]])
    delta = compare(before, after)
    assert delta.added_questions == [4] and delta.removed_questions == [2]
    assert [(c.question_id, c.expected_changed) for c in delta.newly_fixed] == [(3, True)]


def test_hits_are_judged_by_the_current_runs_largest_k() -> None:
    before = evaluate(QUESTIONS, RANKINGS, ks=(1, 10))  # question 3 (rank 7) is a hit at 10
    after = evaluate(QUESTIONS, RANKINGS)  # and a miss at 5
    delta = compare(before, after)
    assert delta.newly_fixed == delta.newly_broken == []  # same ranks, same verdict
    assert delta.recall == {1: 0.0}  # only the k both runs measured


# --- run_golden_eval ----------------------------------------------------------------------


@dataclass
class _Run:
    report: EvalReport
    actor: str
    label: str


@dataclass
class _Runs:
    recorded: list[_Run] = field(default_factory=list)

    def latest(self, label: str | None = None) -> _Run | None:
        matching = [r for r in self.recorded if label is None or r.label == label]
        return matching[-1] if matching else None

    def record(
        self, report: EvalReport, actor: str, label: str, at: datetime | None = None
    ) -> _Run:
        self.recorded.append(_Run(report, actor, label))
        return self.recorded[-1]


@dataclass
class _Golden:
    questions: list[Q]

    def list(self) -> list[Q]:
        return self.questions


def _hit(pid: str) -> Hit:
    return Hit(id=pid, kind=PassageKind.CLAUSE, title=pid, citation=f"引{pid}", text=pid, score=1)


def _search(answers: dict[str, list[str]]) -> Search:
    def search(questions: Sequence[str]) -> list[tuple[int, list[Hit]]]:
        # answered last question first: a search may answer in any order
        return [
            (i, [_hit(pid) for pid in answers.get(q, [])])
            for i, q in reversed(list(enumerate(questions)))
        ]

    return search


def test_run_scores_records_and_compares_with_the_last_live_run() -> None:
    golden, runs = _Golden(QUESTIONS[:2]), _Runs()
    search = _search({"车被水淹了": ["x", "a"], "车被偷了": ["b"]})
    report, delta = run_golden_eval(golden, runs, search, "trainer1", LIVE_LABEL)
    assert report.recall[1] == 0.5 and report.results[0].top[0].citation == "引x"
    assert not delta.has_baseline
    assert [(r.actor, r.label) for r in runs.recorded] == [("trainer1", "live")]

    better = _search({"车被水淹了": ["a"], "车被偷了": ["b"]})
    draft, draft_delta = run_golden_eval(golden, runs, better, "trainer1", "draft preview")
    assert draft.recall[1] == 1.0
    assert draft_delta.recall[1] == 0.5 and draft_delta.newly_fixed == []  # rank 2 → 1

    # a second live run compares with the first live run, not with the draft preview
    _, live_delta = run_golden_eval(golden, runs, search, "trainer2", LIVE_LABEL)
    assert live_delta.recall[1] == 0.0
    assert len(runs.recorded) == 3


def test_run_can_compare_with_the_latest_run_of_any_label() -> None:
    golden, runs = _Golden(QUESTIONS[:1]), _Runs()
    run_golden_eval(golden, runs, _search({}), "t", "draft preview")
    _, delta = run_golden_eval(
        golden,
        runs,
        _search({"车被水淹了": ["a"]}),
        "t",
        "draft preview",
        baseline_label=None,
    )
    assert [c.question_id for c in delta.newly_fixed] == [1]


def test_empty_golden_set_is_an_error() -> None:
    with pytest.raises(PolicyDeskError, match="golden question set is empty"):
        run_golden_eval(_Golden([]), _Runs(), _search({}), "t", LIVE_LABEL)


def test_progress_is_told_once_per_question_with_increasing_counts() -> None:
    told: list[tuple[int, int]] = []
    report, _ = run_golden_eval(
        _Golden(QUESTIONS),
        _Runs(),
        _search({"车被水淹了": ["a"], "退保": ["e"]}),
        "t",
        LIVE_LABEL,
        progress=lambda done, total: told.append((done, total)),
    )
    assert told == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # answered in reverse, scored in the set's order
    assert [r.question_id for r in report.results] == [1, 2, 3, 4]
    assert [r.rank for r in report.results] == [1, None, None, 1]


@pytest.mark.parametrize(
    "answered",
    [[0, 0], [0], [0, 5]],
    ids=["twice", "one missing", "out of range"],
)
def test_a_search_that_does_not_answer_each_question_once_is_refused(answered: list[int]) -> None:
    def search(questions: Sequence[str]) -> list[tuple[int, list[Hit]]]:
        return [(i, [_hit("a")]) for i in answered]

    with pytest.raises(ValueError, match="answered"):
        run_golden_eval(_Golden(QUESTIONS[:2]), _Runs(), search, "t", LIVE_LABEL)


class _Encoder:
    """Each text's vector is [its length, 1]; records the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_search_in_batches_embeds_even_batches_shortest_first_and_ranks_each_with_its_vector() -> (
    None
):
    questions = ["一二三四五", "一", "一二三", "一二", "一二三四", "一二三四五六七"]
    encoder = _Encoder()
    search = search_in_batches(
        encoder.embed_queries, lambda q, v: [_hit(f"{q}:{int(v[0])}")], batch=4
    )
    answers = list(search(questions))
    assert encoder.batches == [
        ["一", "一二", "一二三"],
        ["一二三四", "一二三四五", "一二三四五六七"],
    ]
    assert sorted(i for i, _ in answers) == list(range(len(questions)))
    assert all(hits[0].id == f"{questions[i]}:{len(questions[i])}" for i, hits in answers)
    assert list(search([])) == []
    with pytest.raises(ValueError, match="at least 1"):
        search_in_batches(encoder.embed_queries, lambda q, v: [], batch=0)


def test_search_with_adapts_a_retriever_and_its_encoder() -> None:
    class Retriever:
        def __init__(self) -> None:
            self.calls: list[tuple[SearchRequest, np.ndarray | None]] = []

        def validate_query(self, query: str) -> str:
            return query.strip()

        def search(
            self, request: SearchRequest, query_vector: np.ndarray | None = None
        ) -> SearchResult:
            self.calls.append((request, query_vector))
            return SearchResult(query=request.query, hits=[_hit("a")])

    retriever, encoder = Retriever(), _Encoder()
    answers = list(search_with(retriever, encoder)([" 车被水淹了", "退保"]))
    assert sorted(i for i, _ in answers) == [0, 1]
    assert all([h.id for h in hits] == ["a"] for _, hits in answers)
    assert encoder.batches == [["退保", "车被水淹了"]]  # validated, one call, shortest first
    request, vector = retriever.calls[1]
    assert request.k == 10 and request.query == " 车被水淹了"
    assert vector is not None and list(vector) == [5.0, 1.0]  # the question's own vector
