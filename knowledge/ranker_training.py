"""Training the learned ranker from our labelled questions and calls (``data/retrieval/``).

Every example is replayed exactly as the live path sees it: a question is a one-turn
conversation, a call's caller turns update its topic state one by one. Each author's data is
held out whole in the cross-validation, and the nearest-question features of an example never
see its own author's questions (they would be a lookup of the answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.files import read_jsonl
from ml.ranking import fit_candidate_model
from retrieval.conversation_search import ConversationSearch
from retrieval.ranker import (
    FEATURES,
    LearnedRanker,
    QuestionBank,
    RankerManifest,
    fallback_scores,
    feature_rows,
)
from retrieval.retriever import Ranking
from retrieval.topics import TopicQuery, TopicState


class LabelledQuestion(BaseModel):
    """One labelled single question (``docs/retrieval_labelling.md``)."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1, max_length=2000)
    gold: list[str] = Field(min_length=1)
    topic: str = ""
    style: str = ""
    author: str = Field(min_length=1)


class LabelledTurn(BaseModel):
    """One turn of a labelled call; caller turns carry the labels."""

    speaker: Speaker
    text: str = Field(min_length=1, max_length=2000)
    gold: list[str] = Field(default_factory=list)
    need: bool = False
    context_only: bool = False


class LabelledCall(BaseModel):
    """One labelled call."""

    id: str = Field(min_length=1)
    author: str = Field(min_length=1)
    style: str = ""
    title: str = ""
    turns: list[LabelledTurn] = Field(min_length=1)


def load_questions(paths: Sequence[Path]) -> list[LabelledQuestion]:
    """Every question of the files.

    Raises:
        PolicyDeskError: an unreadable file or an invalid record, naming the line.
    """
    return [q for path in paths for q in read_jsonl(path, LabelledQuestion)]


def load_calls(paths: Sequence[Path]) -> list[LabelledCall]:
    """Every call of the files.

    Raises:
        PolicyDeskError: an unreadable file or an invalid record, naming the line.
    """
    return [c for path in paths for c in read_jsonl(path, LabelledCall)]


@dataclass
class Example:
    """One labelled moment of a conversation, replayed: its searches and their rankings."""

    author: str
    source: str  # "question" or "call"
    context_only: bool
    gold: list[str]
    state: TopicState
    queries: list[TopicQuery]
    rankings: list[Ranking]
    vectors: np.ndarray  # the searches' vectors
    turn_vector: np.ndarray
    pool: list[str] = field(default_factory=list)  # candidate ids (``_base``)
    base: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES))))

    @property
    def bank_vector(self) -> np.ndarray:
        """What the question bank keeps of this moment: a question as asked; a call turn as
        its topic's search (what the turn means in its call)."""
        for query, vector in zip(self.queries, self.vectors, strict=True):
            if query.values and self.source == "call":
                return vector
        return self.turn_vector


def replay(
    search: ConversationSearch,
    questions: Sequence[LabelledQuestion],
    calls: Sequence[LabelledCall],
    embed: Callable[[Sequence[str]], np.ndarray],
    progress: Callable[[str], None] | None = None,
) -> list[Example]:
    """Every labelled moment replayed through the conversation search's topic state and
    retriever.

    Filler moments (no need) are not examples: they have no gold.
    """
    moments: list[tuple[str, str, bool, list[str], TopicState, str]] = []
    for q in questions:
        state = search.update(TopicState(), q.question, 0)
        moments.append((q.author, "question", False, q.gold, state, q.question))
    for call in calls:
        state = TopicState()
        for index, turn in enumerate(call.turns):
            if turn.speaker is not Speaker.CUSTOMER:
                continue
            state = search.update(state, turn.text, index)
            if turn.need and turn.gold:
                moments.append(
                    (call.author, "call", turn.context_only, turn.gold, state, turn.text)
                )
    texts = [m[5] for m in moments]
    queries = [search.tracker.queries(m[4], m[5]) for m in moments]
    started = time.perf_counter()
    turn_vectors = embed(texts)
    examples: list[Example] = []
    flat = [q.text for qs in queries for q in qs]
    query_vectors = iter(embed(flat)) if flat else iter(())
    for moment, qs, turn_vector in zip(moments, queries, turn_vectors, strict=True):
        rows = [next(query_vectors) for _ in qs]
        vectors = np.vstack(rows) if rows else np.zeros((0, len(turn_vector)), np.float32)
        rankings = search.rankings(qs, vectors)
        examples.append(
            Example(
                moment[0],
                moment[1],
                moment[2],
                moment[3],
                moment[4],
                qs,
                rankings,
                vectors,
                turn_vector,
            )
        )
    if progress:
        progress(f"replayed {len(moments)} moments in {time.perf_counter() - started:.0f} s")
    return examples


_KNN = (FEATURES.index("knn_max"), FEATURES.index("knn_votes"))


def _base(search: ConversationSearch, examples: Sequence[Example]) -> None:
    """Each example's candidate pool and features but the nearest-question ones (which depend
    on the bank, so on the fold), computed once."""
    for ex in examples:
        if not ex.queries:
            ex.pool, ex.base = [], np.zeros((0, len(FEATURES)), dtype=np.float32)
            continue
        pool, matrix = feature_rows(
            ex.rankings, ex.state, ex.queries[0].own, search.profiles, ({}, {})
        )
        ex.pool, ex.base = [c.passage.id for c in pool], matrix


def _matrix(
    examples: Sequence[Example], bank: QuestionBank
) -> tuple[list[np.ndarray], list[list[str]]]:
    """The examples' features with the nearest-question ones read from ``bank``."""
    feats: list[np.ndarray] = []
    for ex in examples:
        matrix = ex.base.copy()
        if len(matrix):
            nearest, votes = bank.scores(np.vstack([ex.vectors, ex.turn_vector]))
            matrix[:, _KNN[0]] = [nearest.get(pid, 0.0) for pid in ex.pool]
            matrix[:, _KNN[1]] = [votes.get(pid, 0.0) for pid in ex.pool]
        feats.append(matrix)
    return feats, [ex.pool for ex in examples]


def hit_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> bool:
    """True when one of the first ``k`` ranked ids is gold."""
    return bool(set(ranked[:k]) & set(gold))


def _fit(
    features: Sequence[np.ndarray], ids: Sequence[list[str]], examples: Sequence[Example]
) -> Any:
    x = np.vstack([f for f in features if len(f)])
    y = np.concatenate(
        [
            np.array([pid in ex.gold for pid in pids], dtype=np.int8)
            for pids, ex in zip(ids, examples, strict=True)
            if pids
        ]
    )
    return fit_candidate_model(x, y)


def _score(scores: np.ndarray, pids: list[str], ex: Example, k: int = 3) -> bool:
    order = np.argsort(-scores, kind="stable")
    return hit_at([pids[i] for i in order], ex.gold, k)


def train_ranker(
    search: ConversationSearch,
    questions: Sequence[LabelledQuestion],
    calls: Sequence[LabelledCall],
    encoder: str,
    embed: Callable[[Sequence[str]], np.ndarray],
    progress: Callable[[str], None] | None = None,
) -> tuple[LearnedRanker, np.ndarray, list[list[str]]]:
    """Cross-validate by author, then train on everything.

    Returns:
        The ranker (with its manifest and cross-validation figures), and the question bank's
        vectors and gold to save with it.

    Raises:
        PolicyDeskError: fewer than two authors (nothing to hold out).
    """
    say = progress or (lambda _m: None)
    examples = replay(search, questions, calls, embed, say)
    bank_vectors = np.vstack([ex.bank_vector for ex in examples])
    _base(search, examples)
    authors = sorted({ex.author for ex in examples})
    if len(authors) < 2:
        raise PolicyDeskError("the ranker needs data from at least two authors to validate")
    gold = [ex.gold for ex in examples]

    def bank_without(*excluded: str) -> QuestionBank:
        rows = [i for i, ex in enumerate(examples) if ex.author not in excluded]
        return QuestionBank(bank_vectors[rows], [gold[i] for i in rows])

    def training_rows(
        part: Sequence[Example], also_excluded: tuple[str, ...] = ()
    ) -> tuple[list[np.ndarray], list[list[str]], list[Example]]:
        """Each author's rows with nearest-moment features that never see that author (as
        served, a new conversation is by nobody in the bank)."""
        feats: list[np.ndarray] = []
        ids: list[list[str]] = []
        ordered: list[Example] = []
        for author in sorted({ex.author for ex in part}):
            mine = [ex for ex in part if ex.author == author]
            f, p = _matrix(mine, bank_without(author, *also_excluded))
            feats += f
            ids += p
            ordered += mine
        return feats, ids, ordered

    tallies: dict[str, list[bool]] = {}
    for held in authors:
        test = [ex for ex in examples if ex.author == held]
        model = _fit(*training_rows([ex for ex in examples if ex.author != held], (held,)))
        test_feats, test_ids = _matrix(test, bank_without(held))
        for matrix, pids, ex in zip(test_feats, test_ids, test, strict=True):
            key = (
                "question"
                if ex.source == "question"
                else ("call_context" if ex.context_only else "call_own")
            )
            learned = bool(len(matrix)) and _score(model.predict_proba(matrix)[:, 1], pids, ex)
            fused = bool(len(matrix)) and _score(fallback_scores(matrix), pids, ex)
            tallies.setdefault(f"{key}_learned", []).append(learned)
            tallies.setdefault(f"{key}_fused", []).append(fused)
        say(f"held out {held}: {len(test)} examples")
    cv = {k: round(float(np.mean(v)), 4) for k, v in sorted(tallies.items())}
    say(f"cross-validation hit@3 by author: {cv}")
    model = _fit(*training_rows(examples))
    manifest = RankerManifest(
        encoder=encoder,
        features=list(FEATURES),
        questions=len(questions),
        call_turns=sum(1 for ex in examples if ex.source == "call"),
        authors=authors,
        cross_validation=cv,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    ranker = LearnedRanker(model, QuestionBank(bank_vectors, gold), manifest)
    return ranker, bank_vectors, gold
