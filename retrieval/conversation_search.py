"""Cards that follow the conversation: the topic state's searches, ranked by the learned ranker.

One implementation for the console's live call, the chatbot's follow-up questions and the
evaluation of both: a turn updates the state, the state forms the searches, every search's
candidates are pooled and the ranker orders them. Each card says which part of the conversation
it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
from pydantic import BaseModel, Field

from core.models import Hit, PassageKind, SearchFilters
from retrieval.ranker import (
    LearnedRanker,
    PassageProfile,
    fallback_scores,
    feature_rows,
    profile_passages,
)
from retrieval.retriever import Candidate, HybridRetriever, Ranking
from retrieval.topics import TopicLexicon, TopicQuery, TopicState, TopicTracker

ANSWER_KINDS = (PassageKind.CLAUSE, PassageKind.FAQ)


class TurnCards(BaseModel):
    """What the conversation's searches found after one turn."""

    state: TopicState
    queries: list[str] = Field(default_factory=list, description="the searches run")
    ranked: list[Hit] = Field(default_factory=list, description="every kind, best first")

    def answers(self, k: int) -> list[Hit]:
        """The best ``k`` clause and FAQ cards."""
        return [h for h in self.ranked if h.kind in ANSWER_KINDS][:k]

    def cases(self, k: int) -> list[Hit]:
        """The best ``k`` precedent cases."""
        return [h for h in self.ranked if h.kind is PassageKind.CASE][:k]


class ConversationSearch:
    """Searches formed from a conversation over one retriever (one content snapshot)."""

    def __init__(
        self,
        retriever: HybridRetriever,
        lexicon: TopicLexicon,
        ranker: LearnedRanker | None,
        passages_profile: dict[str, PassageProfile] | None = None,
        depth: int = 20,
    ) -> None:
        self.retriever = retriever
        self.tracker = TopicTracker(lexicon)
        self.ranker = ranker
        self.profiles = passages_profile or profile_passages(retriever.passages(), lexicon)
        self._depth = depth

    @property
    def lexicon(self) -> TopicLexicon:
        """The topic lexicon."""
        return self.tracker.lexicon

    def update(self, state: TopicState, text: str, turn: int) -> TopicState:
        """The topic state after a caller turn."""
        return self.tracker.update(state, self.retriever.validate_query(text), turn)

    def cards(
        self,
        state: TopicState,
        text: str,
        turn_vector: np.ndarray | None = None,
        as_of: date | None = None,
        language: str = "zh",
    ) -> TurnCards:
        """The cards for the conversation after a turn whose state is already updated.

        Args:
            state: the topic state after the turn.
            text: the turn.
            turn_vector: the turn's embedding (already computed for emotion), for the
                nearest-question features.
            as_of: the clause editions in force on that date (the customer's policy).
            language: the language of each card's "answers" label.

        Returns:
            No cards when neither the turn nor the state carries a topic (filler alone).
        """
        queries = self.tracker.queries(state, text)
        if not queries:
            return TurnCards(state=state)
        # every search is embedded as formed: the turn as said would carry its filler and
        # incidental words into the dense side (保费 in a complaint finds premium articles)
        vectors = self.retriever.embed_queries([q.text for q in queries])
        rankings = self.rankings(queries, vectors, as_of)
        return self.rank(state, queries, rankings, vectors, turn_vector, language)

    def rankings(
        self, queries: Sequence[TopicQuery], vectors: np.ndarray, as_of: date | None = None
    ) -> list[Ranking]:
        """Each search's hybrid ranking (the vectors are the searches' own, in order)."""
        filters = SearchFilters(as_of=as_of)
        return [
            self.retriever.rank(q.text, filters, query_vector=v)
            for q, v in zip(queries, vectors, strict=True)
        ]

    def rank(
        self,
        state: TopicState,
        queries: Sequence[TopicQuery],
        rankings: Sequence[Ranking],
        vectors: np.ndarray,
        turn_vector: np.ndarray | None = None,
        language: str = "zh",
    ) -> TurnCards:
        """Order the pooled candidates of the searches (the ranker, else fused score)."""
        knn_vectors = vectors if turn_vector is None else np.vstack([vectors, turn_vector])
        knn = self.ranker.bank.scores(knn_vectors) if self.ranker else ({}, {})
        own = queries[0].own if queries else ""
        pool, features = feature_rows(rankings, state, own, self.profiles, knn)
        scores = self.ranker.scores(features) if self.ranker else fallback_scores(features)
        order = np.argsort(-scores, kind="stable")[: self._depth]
        words = [w for q in queries for w in self.retriever.words(q.text)]
        hits = [
            self.retriever.hit(pool[i], words, score=float(scores[i])).model_copy(
                update={"answers": self._answers(pool[i], queries, rankings, language)}
            )
            for i in order
        ]
        return TurnCards(state=state, queries=[q.text for q in queries], ranked=hits)

    def _answers(
        self,
        candidate: Candidate,
        queries: Sequence[TopicQuery],
        rankings: Sequence[Ranking],
        language: str,
    ) -> str:
        """The focus of the search that ranked the candidate best."""
        best: tuple[int, str] | None = None
        for query, ranking in zip(queries, rankings, strict=True):
            c = ranking.get(candidate.passage.id)
            if c is not None and (best is None or c.fused_rank < best[0]):
                best = (c.fused_rank, query.focus(self.lexicon, language))
        return best[1] if best else ""
