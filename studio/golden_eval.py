"""Scoring the trainers' golden question set: R@k, MRR@10, each miss, and the change since a run.

``evaluate`` and ``compare`` are pure. ``run_golden_eval`` runs a search function (the live
retriever, or a preview retriever over a draft) over the golden set, reporting progress question
by question, compares with the last baseline run and records the new run. The stores live in
``studio.golden``; this module only needs the small protocols below, so it does not import them.

The encoder dominates a run's time, and it is far faster on many questions at once than on one
at a time (see ``search_in_batches``), so a search function takes the whole set and embeds it in a
few batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from core.errors import PolicyDeskError
from core.metrics import first_relevant_rank, mrr_at_k, recall_at_k
from core.models import Hit, SearchRequest, SearchResult

DEFAULT_KS = (1, 3, 5)
MRR_DEPTH = 10
TOP_SHOWN = 5
LIVE_LABEL = "live"
DRAFT_LABEL = "draft preview"  # a run as if every unpublished draft were published
EMBED_BATCH = 48  # the 130 dev questions in three batches: a moving progress bar, at little cost

Search = Callable[[Sequence[str]], Iterable[tuple[int, list[Hit]]]]
"""A retriever under test: questions → (index of a question, its hits best first, at least
``MRR_DEPTH`` of them), once for each question, in any order, as each is answered."""

Progress = Callable[[int, int], None]
"""Told (questions answered so far, questions in the run) after each question."""


class GoldenCase(Protocol):
    """A golden question as scoring needs it (``studio.golden.GoldenQuestion`` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def question(self) -> str: ...

    @property
    def expected_ids(self) -> Sequence[str]: ...


class RankedPassage(BaseModel):
    """One retrieved passage id, with its citation when the search returned one."""

    id: str
    citation: str = ""


class QuestionResult(BaseModel):
    """How one golden question fared."""

    question_id: int
    question: str
    expected_ids: list[str]
    rank: int | None = Field(
        description="1-based rank of the first expected passage within the top MRR_DEPTH, or None"
    )
    top: list[RankedPassage] = Field(description="what the search returned first, best first")


class EvalReport(BaseModel):
    """Retrieval quality over the golden set."""

    ks: list[int]
    recall: dict[int, float] = Field(description="R@k: share of questions answered in the top k")
    mrr: float = Field(description=f"MRR@{MRR_DEPTH}")
    results: list[QuestionResult]

    @property
    def questions(self) -> int:
        """Number of questions scored."""
        return len(self.results)

    def is_hit(self, result: QuestionResult) -> bool:
        """True when an expected passage is within the largest k."""
        return result.rank is not None and result.rank <= max(self.ks)

    @property
    def misses(self) -> list[QuestionResult]:
        """Questions with no expected passage within the largest k, each with what came instead."""
        return [r for r in self.results if not self.is_hit(r)]


class QuestionChange(BaseModel):
    """A question that went from miss to hit, or hit to miss, between two runs."""

    question_id: int
    question: str
    rank_before: int | None
    rank_after: int | None
    expected_changed: bool = Field(description="the expected ids were edited between the runs")
    top: list[RankedPassage] = Field(description="what the current run returned first")


class EvalDelta(BaseModel):
    """What changed since a previous run (empty when there is none)."""

    has_baseline: bool
    recall: dict[int, float] = Field(
        default_factory=dict, description="current R@k − previous, for each k both runs have"
    )
    mrr: float | None = None
    newly_fixed: list[QuestionChange] = Field(default_factory=list)
    newly_broken: list[QuestionChange] = Field(default_factory=list)
    added_questions: list[int] = Field(default_factory=list)
    removed_questions: list[int] = Field(default_factory=list)


class StoredRun(Protocol):
    """A recorded run as ``run_golden_eval`` reads it back."""

    @property
    def report(self) -> EvalReport: ...


class GoldenQuestions(Protocol):
    """Where the golden questions come from (``studio.golden.GoldenSet``)."""

    def list(self) -> Sequence[GoldenCase]: ...


class RunLog(Protocol):
    """Where runs are recorded (``studio.golden.EvaluationRuns``)."""

    def latest(self, label: str | None = None) -> StoredRun | None: ...

    def record(
        self, report: EvalReport, actor: str, label: str, at: datetime | None = None
    ) -> StoredRun: ...


def evaluate(
    questions: Sequence[GoldenCase],
    rankings: Sequence[Sequence[str]],
    ks: Sequence[int] = DEFAULT_KS,
    citations: Mapping[str, str] | None = None,
) -> EvalReport:
    """Score rankings against the golden questions.

    Args:
        questions: the golden questions.
        rankings: for each question, the retrieved passage ids, best first.
        ks: the cut-offs for R@k; a question is a miss when nothing expected is in the top max(ks).
        citations: passage id → citation, to show with what came instead (optional).

    Returns:
        R@k for each k, MRR@10, and every question's rank and top results.

    Raises:
        ValueError: no questions, a ranking count that differs from the question count, or a
            k below 1.
    """
    if not questions:
        raise ValueError("no golden questions to evaluate")
    if len(rankings) != len(questions):
        raise ValueError(f"{len(rankings)} rankings for {len(questions)} questions")
    cutoffs = sorted(set(ks))
    if not cutoffs or cutoffs[0] < 1:
        raise ValueError(f"ks must be whole numbers of at least 1, got {list(ks)}")
    names = citations or {}
    relevant = [set(q.expected_ids) for q in questions]
    depth = max(MRR_DEPTH, cutoffs[-1])
    shown = max(TOP_SHOWN, cutoffs[-1])
    results = [
        QuestionResult(
            question_id=question.id,
            question=question.question,
            expected_ids=list(question.expected_ids),
            rank=first_relevant_rank(ranking[:depth], gold),
            top=[RankedPassage(id=pid, citation=names.get(pid, "")) for pid in ranking[:shown]],
        )
        for question, ranking, gold in zip(questions, rankings, relevant, strict=True)
    ]
    return EvalReport(
        ks=cutoffs,
        recall={k: recall_at_k(rankings, relevant, k) for k in cutoffs},
        mrr=mrr_at_k(rankings, relevant, MRR_DEPTH),
        results=results,
    )


def compare(previous: EvalReport | None, current: EvalReport) -> EvalDelta:
    """The change from a previous run to the current one.

    Questions are matched by id; hit or miss is judged by the current run's largest k for both.

    Args:
        previous: the earlier run, or None when there is none.
        current: the new run.

    Returns:
        Metric deltas (current − previous), the questions newly fixed and newly broken, and the
        ids of questions added to or removed from the set in between.
    """
    if previous is None:
        return EvalDelta(has_baseline=False)
    before = {r.question_id: r for r in previous.results}
    after = {r.question_id: r for r in current.results}
    fixed: list[QuestionChange] = []
    broken: list[QuestionChange] = []
    for qid, now in after.items():
        then = before.get(qid)
        if then is None:
            continue
        hit_then, hit_now = current.is_hit(then), current.is_hit(now)
        if hit_then == hit_now:
            continue
        change = QuestionChange(
            question_id=qid,
            question=now.question,
            rank_before=then.rank,
            rank_after=now.rank,
            expected_changed=set(then.expected_ids) != set(now.expected_ids),
            top=now.top,
        )
        (fixed if hit_now else broken).append(change)
    return EvalDelta(
        has_baseline=True,
        recall={
            k: round(current.recall[k] - previous.recall[k], 6)
            for k in current.ks
            if k in previous.recall
        },
        mrr=round(current.mrr - previous.mrr, 6),
        newly_fixed=fixed,
        newly_broken=broken,
        added_questions=[qid for qid in after if qid not in before],
        removed_questions=[qid for qid in before if qid not in after],
    )


def run_golden_eval(
    golden: GoldenQuestions,
    runs: RunLog,
    search: Search,
    actor: str,
    label: str,
    ks: Sequence[int] = DEFAULT_KS,
    baseline_label: str | None = LIVE_LABEL,
    progress: Progress | None = None,
) -> tuple[EvalReport, EvalDelta]:
    """Run the golden set through a search function, compare with the baseline, record the run.

    Args:
        golden: the golden questions.
        runs: where runs are kept.
        search: the retriever under test (see ``search_with``).
        actor: who started the run.
        label: what was measured, e.g. ``"live"`` or ``"draft preview"``.
        ks: the R@k cut-offs.
        baseline_label: compare with the latest run with this label (by default the latest live
            run, so a draft preview shows its effect against what is published); None compares
            with the latest run of any label.
        progress: called after each question with (answered so far, questions in all), so a
            caller can show how far the run is.

    Returns:
        The new run's report and its change since the baseline.

    Raises:
        PolicyDeskError: an empty golden set, or a search that fails (e.g. no index yet).
        ValueError: a search that does not answer each question exactly once.
    """
    questions = list(golden.list())
    if not questions:
        raise PolicyDeskError("the golden question set is empty: add questions first")
    answers: dict[int, list[Hit]] = {}
    for index, hits in search([question.question for question in questions]):
        if index in answers or not 0 <= index < len(questions):
            what = "twice" if index in answers else f"though there are {len(questions)} questions"
            raise ValueError(f"the search answered question index {index} {what}")
        answers[index] = hits
        if progress is not None:
            progress(len(answers), len(questions))
    if len(answers) != len(questions):
        raise ValueError(f"the search answered {len(answers)} of {len(questions)} questions")
    ordered = [answers[i] for i in range(len(questions))]
    citations = {hit.id: hit.citation for hits in ordered for hit in hits}
    report = evaluate(questions, [[hit.id for hit in hits] for hits in ordered], ks, citations)
    baseline = runs.latest(baseline_label)
    delta = compare(baseline.report if baseline is not None else None, report)
    runs.record(report, actor, label)
    return report, delta


def search_in_batches(
    embed: Callable[[list[str]], np.ndarray],
    rank: Callable[[str, np.ndarray], list[Hit]],
    batch: int = EMBED_BATCH,
) -> Search:
    """A golden-set search function that embeds the questions a batch at a time.

    The encoder batches only texts of the same token count (so a text gets the same vector in
    any batch: ``retrieval.embedder``), and a forward pass over a few texts costs little more
    than over one, so embedding one question at a time costs about three times what batches do.
    The questions go to the encoder shortest first (a batch's questions then share few token
    counts, so few forward passes) and in a few even batches rather than one (so that a progress
    bar moves while the encoder works).

    Args:
        embed: questions → one query vector per question (the retriever's encoder).
        rank: (question, its vector) → the hits, best first.
        batch: at most this many questions per call to ``embed`` (the batches are made even).

    Returns:
        A search function for ``run_golden_eval``; each question's hits are those ``rank`` gives
        for it, whatever the batch.

    Raises:
        ValueError: a batch below 1.
    """
    if batch < 1:
        raise ValueError(f"the batch must be at least 1 question, got {batch}")

    def search(questions: Sequence[str]) -> Iterator[tuple[int, list[Hit]]]:
        order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
        size = math.ceil(len(order) / math.ceil(len(order) / batch)) if order else 1
        for start in range(0, len(order), size):
            part = order[start : start + size]
            vectors = embed([questions[i] for i in part])
            for index, vector in zip(part, vectors, strict=True):
                yield index, rank(questions[index], vector)

    return search


class _Searcher(Protocol):
    def validate_query(self, query: str) -> str: ...

    def search(
        self, request: SearchRequest, query_vector: np.ndarray | None = None
    ) -> SearchResult: ...


class _QueryEncoder(Protocol):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def search_with(
    retriever: _Searcher,
    embedder: _QueryEncoder,
    k: int = MRR_DEPTH,
    batch: int = EMBED_BATCH,
) -> Search:
    """Adapt a retriever (``HybridRetriever``) to a golden-set search function.

    Args:
        retriever: anything with ``validate_query`` and ``search(SearchRequest, query_vector)``.
        embedder: the retriever's own encoder (``Services.embedder``), to embed in batches what
            the retriever would embed one question at a time.
        k: how many hits to take per question (MRR needs ``MRR_DEPTH``).
        batch: questions per encoder call (see ``search_in_batches``).
    """
    return search_in_batches(
        lambda questions: embedder.embed_queries([retriever.validate_query(q) for q in questions]),
        lambda question, vector: retriever.search(SearchRequest(query=question, k=k), vector).hits,
        batch,
    )
