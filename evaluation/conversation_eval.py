"""Cards that follow the conversation, measured: single questions (R@k, MRR), calls (hit@3 per
caller turn, the same on context-only turns, cards shown on filler), and per-turn latency.

Everything goes through the shipped path (``Services.conversation_search``): the topic state,
the searches formed from it and the learned ranker, exactly as the console and the chatbot use
them. Sets are files in the labelling guide's format (``docs/retrieval_labelling.md``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from conversation.models import Speaker
from knowledge.ranker_training import LabelledCall, LabelledQuestion, hit_at
from retrieval.conversation_search import ConversationSearch
from retrieval.topics import TopicState

K = 3


def rank_question(search: ConversationSearch, text: str) -> list[str]:
    """The ranked ids for a question asked alone (a one-turn conversation)."""
    state = search.update(TopicState(), text, 0)
    vector = search.retriever.embed_queries([text])[0]
    return [h.id for h in search.cards(state, text, vector).ranked]


def reciprocal_rank(ranked: Sequence[str], gold: Sequence[str], k: int = 10) -> float:
    """1/rank of the first gold id in the first ``k`` (0 when none)."""
    for rank, pid in enumerate(ranked[:k], start=1):
        if pid in gold:
            return 1.0 / rank
    return 0.0


@dataclass
class QuestionFigures:
    """Recall at 1/3/5 and MRR@10 over a question set, with the misses at 3."""

    n: int
    r1: float
    r3: float
    r5: float
    mrr: float
    misses: list[tuple[LabelledQuestion, list[str]]] = field(default_factory=list)


def measure_questions(
    search: ConversationSearch, questions: Sequence[LabelledQuestion]
) -> QuestionFigures:
    """The shipped path on single questions."""
    rankings = [rank_question(search, q.question) for q in questions]
    n = max(len(questions), 1)

    def recall(k: int) -> float:
        return sum(hit_at(r, q.gold, k) for r, q in zip(rankings, questions, strict=True)) / n

    mrr = sum(reciprocal_rank(r, q.gold) for r, q in zip(rankings, questions, strict=True)) / n
    misses = [
        (q, r[:K]) for r, q in zip(rankings, questions, strict=True) if not hit_at(r, q.gold, K)
    ]
    return QuestionFigures(len(questions), recall(1), recall(3), recall(5), mrr, misses)


@dataclass
class CallFigures:
    """Per caller turn: hit@3 on turns with a need, on the context-only ones among them, and
    the filler turns (no need, no topic yet) that showed a card anyway."""

    calls: int
    need_turns: int
    hits: int
    context_turns: int
    context_hits: int
    filler_turns: int
    filler_with_cards: int
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        """hit@3 over need turns."""
        return self.hits / max(self.need_turns, 1)

    @property
    def context_rate(self) -> float:
        """hit@3 over context-only need turns."""
        return self.context_hits / max(self.context_turns, 1)


def measure_calls(search: ConversationSearch, calls: Sequence[LabelledCall]) -> CallFigures:
    """Replay each call turn by turn through the shipped path (the turn's vector computed as the
    live path does, for emotion and the ranker), timing each caller turn."""
    figures = CallFigures(len(calls), 0, 0, 0, 0, 0, 0)
    for call in calls:
        state = TopicState()
        for index, turn in enumerate(call.turns):
            if turn.speaker is not Speaker.CUSTOMER:
                continue
            started = time.perf_counter()
            before = state
            state = search.update(state, turn.text, index)
            vector = search.retriever.embed_queries([turn.text])[0]
            ranked = [h.id for h in search.cards(state, turn.text, vector).ranked]
            figures.latencies_ms.append((time.perf_counter() - started) * 1000)
            if turn.need and turn.gold:
                figures.need_turns += 1
                hit = hit_at(ranked, turn.gold, K)
                figures.hits += hit
                if turn.context_only:
                    figures.context_turns += 1
                    figures.context_hits += hit
                if not hit:
                    figures.misses.append((call.id, turn.text, turn.gold, ranked[:K]))
            elif not turn.need and before.empty and state.empty:
                figures.filler_turns += 1
                figures.filler_with_cards += bool(ranked)
    return figures
