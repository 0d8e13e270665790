"""Hybrid retrieval: dense (e5 in Chroma) + BM25 (jieba), fused by reciprocal rank, cited."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from core.files import clean_text
from core.models import (
    Hit,
    Passage,
    PassageKind,
    RetrievalMode,
    SearchFilters,
    SearchRequest,
    SearchResult,
)
from retrieval.bm25 import BM25Index
from retrieval.chroma_index import ChromaChunkIndex
from retrieval.embedder import Embedder
from retrieval.fusion import apply_priors, reciprocal_rank_fusion
from retrieval.synonyms import TermMap
from retrieval.text import DEFAULT_STOPWORDS, InsuranceTokenizer

RRF_K = 60


@dataclass(frozen=True)
class Candidate:
    """One passage a query ranked, with its scores in each ranking (None: not in it)."""

    passage: Passage
    fused: float  # reciprocal-rank fusion with the priors, 1.0 = first in every ranking
    fused_rank: int
    dense_rank: int | None
    lexical_rank: int | None
    dense_score: float | None  # cosine of the best chunk
    lexical_score: float | None  # BM25


@dataclass
class Ranking:
    """Every candidate of one query, best fused first, and the query's term expansions."""

    candidates: list[Candidate]
    expansions: list[str]
    top_lexical: float  # the best BM25 score (to normalise the others)

    def get(self, passage_id: str) -> Candidate | None:
        """The candidate of a passage, or None when this query did not rank it."""
        return self._by_id.get(passage_id)

    @cached_property
    def _by_id(self) -> dict[str, Candidate]:
        return {c.passage.id: c for c in self.candidates}


def matching_terms(terms: Sequence[str], text: str) -> list[str]:
    """The terms (2+ characters, or non-stopwords) that occur in the text, longest first, unique."""
    found: list[str] = []
    for term in sorted(set(terms), key=len, reverse=True):
        if len(term) < 2 and term in DEFAULT_STOPWORDS:
            continue
        if len(term) >= 2 and term in text and not any(term in longer for longer in found):
            found.append(term)
    return found


class HybridRetriever:
    """Answers search requests over a fixed snapshot of published passages."""

    def __init__(
        self,
        passages: Sequence[Passage],
        index: ChromaChunkIndex,
        collection: str,
        embedder: Embedder,
        tokenizer: InsuranceTokenizer,
        term_map: TermMap,
        candidates: int = 50,
        max_query_chars: int = 2000,
        expansion_weight: float = 0.5,
        case_weight: float = 0.9,
    ) -> None:
        self._passages = list(passages)
        self._by_id = {p.id: i for i, p in enumerate(self._passages)}
        self._index = index
        self._collection = collection
        self._embedder = embedder
        self._tokenizer = tokenizer
        self._terms = term_map
        self._candidates = candidates
        self._max_chars = max_query_chars
        self._expansion_weight = expansion_weight
        self._prior = {p.id: case_weight for p in self._passages if p.kind is PassageKind.CASE}
        self._bm25 = BM25Index(
            [tokenizer.tokens(f"{p.heading()}\n{p.text}") for p in self._passages]
        )

    @property
    def size(self) -> int:
        """Number of passages searchable."""
        return len(self._passages)

    def passage(self, passage_id: str) -> Passage | None:
        """A passage by id, or None."""
        i = self._by_id.get(passage_id)
        return self._passages[i] if i is not None else None

    def validate_query(self, query: str) -> str:
        """The stripped query.

        Raises:
            InvalidQueryError: empty or longer than the configured limit.
        """
        return clean_text(query, self._max_chars, "query")

    def embed_query(self, query: str) -> np.ndarray:
        """The query vector, so a caller can reuse it (e.g. for caller emotion)."""
        return self._embedder.embed_queries([self.validate_query(query)])[0]

    def passages(self) -> list[Passage]:
        """Every searchable passage."""
        return list(self._passages)

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """The vectors of several queries in one pass (rows in order).

        Raises:
            InvalidQueryError: an empty or over-long query.
        """
        return self._embedder.embed_queries([self.validate_query(q) for q in queries])

    def words(self, query: str) -> list[str]:
        """The query's words and term-map expansions: what a card's matched terms are."""
        return self._tokenizer.words(query) + self._terms.expand(query)

    def search(
        self, request: SearchRequest, query_vector: np.ndarray | None = None
    ) -> SearchResult:
        """Retrieve the best passages for a request.

        Args:
            request: query, k and filters.
            query_vector: the query's embedding when the caller already has it.

        Returns:
            Up to ``k`` hits, best first, each passage at most once.

        Raises:
            InvalidQueryError: empty or over-long query.
        """
        query = self.validate_query(request.query)
        ranked = self.rank(query, request.filters, request.mode, query_vector)
        words = self._tokenizer.words(query) + ranked.expansions
        hits = [self.hit(c, words) for c in ranked.candidates[: request.k]]
        return SearchResult(query=query, hits=hits, expansions=ranked.expansions)

    def rank(
        self,
        query: str,
        filters: SearchFilters,
        mode: RetrievalMode = RetrievalMode.HYBRID,
        query_vector: np.ndarray | None = None,
    ) -> Ranking:
        """Every candidate of both rankings, fused, with each one's scores and ranks.

        Args:
            query: a validated query.
            filters: kinds, products and edition date admitted.
            mode: both rankings, or one of them.
            query_vector: the query's embedding when the caller already has it.
        """
        expansions = self._terms.expand(query)
        admitted = self._admitted(filters)
        lexical: list[tuple[str, float]] = []
        dense: list[str] = []
        similarity: dict[str, float] = {}
        if mode is not RetrievalMode.DENSE:
            lexical = self._lexical_ranking(query, expansions, admitted)
        if mode is not RetrievalMode.LEXICAL:
            vector = query_vector if query_vector is not None else self.embed_query(query)
            dense, similarity = self._dense_ranking(vector, filters)
        rankings = [r for r in (dense, [pid for pid, _ in lexical]) if r]
        fused = reciprocal_rank_fusion(rankings, k=RRF_K) if rankings else []
        fused = apply_priors(fused, self._prior)
        lexical_scores = dict(lexical)
        dense_rank = {pid: r for r, pid in enumerate(dense, start=1)}
        lexical_rank = {pid: r for r, (pid, _) in enumerate(lexical, start=1)}
        best = max(len(rankings), 1) / (RRF_K + 1)  # a passage ranked first everywhere scores 1
        candidates = [
            Candidate(
                passage=self._passages[self._by_id[pid]],
                fused=score / best,
                fused_rank=rank,
                dense_rank=dense_rank.get(pid),
                lexical_rank=lexical_rank.get(pid),
                dense_score=similarity.get(pid),
                lexical_score=lexical_scores.get(pid),
            )
            for rank, (pid, score) in enumerate(fused, start=1)
        ]
        top_lexical = lexical[0][1] if lexical else 0.0
        return Ranking(candidates=candidates, expansions=expansions, top_lexical=top_lexical)

    @staticmethod
    def hit(candidate: Candidate, words: Sequence[str], score: float | None = None) -> Hit:
        """The card of a candidate: its passage, citation, scores and the query words it holds.

        Args:
            candidate: a ranked candidate.
            words: the query's words (and expansions) whose matches are shown.
            score: the score shown (default: the fused score).
        """
        passage = candidate.passage
        dense, lexical = candidate.dense_score, candidate.lexical_score
        return Hit.from_passage(
            passage,
            round(candidate.fused if score is None else score, 4),
            matched_terms=matching_terms(words, f"{passage.title}\n{passage.text}"),
            dense_rank=candidate.dense_rank,
            lexical_rank=candidate.lexical_rank,
            dense_score=round(dense, 4) if dense is not None else None,
            lexical_score=round(lexical, 4) if lexical is not None else None,
        )

    def _admitted(self, filters: SearchFilters) -> np.ndarray | None:
        if not (filters.kinds or filters.products or filters.as_of):
            return None
        return np.array([filters.admits(p) for p in self._passages], dtype=bool)

    def _lexical_ranking(
        self, query: str, expansions: list[str], admitted: np.ndarray | None
    ) -> list[tuple[str, float]]:
        weights: dict[str, float] = dict(Counter(self._tokenizer.tokens(query)))
        for term in expansions:
            for token in self._tokenizer.tokens(term):
                weights[token] = weights.get(token, 0.0) + self._expansion_weight
        scores = self._bm25.scores(weights)
        if admitted is not None:
            scores = np.where(admitted, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[: self._candidates]
        return [(self._passages[i].id, float(scores[i])) for i in top if scores[i] > 0]

    def _dense_ranking(
        self, vector: np.ndarray, filters: SearchFilters
    ) -> tuple[list[str], dict[str, float]]:
        matches = self._index.query(
            self._collection, vector, n=self._candidates * 3, filters=filters
        )
        order: list[str] = []
        similarity: dict[str, float] = {}
        for match in matches:
            if match.passage_id not in self._by_id:
                continue
            if match.passage_id not in similarity:
                order.append(match.passage_id)
                similarity[match.passage_id] = match.similarity
        return order[: self._candidates], similarity
