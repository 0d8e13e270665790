"""The learned ranker: features of each candidate passage for a conversation, and the model
that scores them (scikit-learn, trained at set-up from our labelled questions and calls).

Features (``FEATURES``): the lexical and dense scores and ranks of each search formed from the
conversation, the passage's kind and article role (coverage, exclusion, procedure), the topic
state's matches in the passage, and how close the searches are to the labelled training
questions whose answer the passage is (a nearest-neighbour score over our own questions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from core.errors import ModelNotReadyError, PolicyDeskError
from core.models import Passage, PassageKind
from retrieval.retriever import Candidate, Ranking
from retrieval.topics import Facet, TopicLexicon, TopicState

ARTEFACT_VERSION = 1
POOL = 30  # candidates taken from each search's fused ranking


class ArticleRole(StrEnum):
    """What an article does in its contract."""

    COVERAGE = "coverage"
    EXCLUSION = "exclusion"
    PROCEDURE = "procedure"
    OTHER = "other"


_ROLES = (
    (ArticleRole.EXCLUSION, re.compile(r"责任免除|免责|不负责赔偿|免赔")),
    (ArticleRole.COVERAGE, re.compile(r"保险责任|保障范围|服务内容|道路救援服务|代为|检测服务")),
    (ArticleRole.PROCEDURE, re.compile(r"赔偿处理|索赔|报案|理赔|通知|义务|支付|期限|材料")),
)


def article_role(passage: Passage) -> ArticleRole:
    """The role of a passage, read from its title (a case or FAQ is judged by its title too)."""
    for role, pattern in _ROLES:
        if pattern.search(passage.title):
            return role
    return ArticleRole.OTHER


@dataclass(frozen=True)
class PassageProfile:
    """What the ranker knows of a passage beyond its scores (computed once per passage)."""

    kind: PassageKind
    role: ArticleRole
    nev: bool
    title_tags: frozenset[tuple[Facet, str]]
    text_tags: frozenset[tuple[Facet, str]]


def profile_passages(
    passages: Sequence[Passage], lexicon: TopicLexicon
) -> dict[str, PassageProfile]:
    """The profile of every passage."""

    def tags(text: str) -> frozenset[tuple[Facet, str]]:
        return frozenset((f, n) for f, names in lexicon.detect(text).items() for n in names)

    return {
        p.id: PassageProfile(
            kind=p.kind,
            role=article_role(p),
            nev=bool(re.search(r"新能源|充电桩|nev", f"{p.document}{p.product}{p.id}{p.title}")),
            title_tags=tags(p.title),
            text_tags=tags(p.text),
        )
        for p in passages
    }


FEATURES = (
    "dense_max",
    "dense_rr",
    "lexical_norm",
    "lexical_rr",
    "fused_max",
    "fused_rr",
    "searches_hit",
    "knn_max",
    "knn_votes",
    "kind_clause",
    "kind_faq",
    "kind_case",
    "role_coverage",
    "role_exclusion",
    "role_procedure",
    "event_title",
    "event_text",
    "usage_match",
    "coverage_title",
    "coverage_text",
    "ask_match",
    "dispute_match",
    "nev_match",
    "nev_mismatch",
    "refusal",
    "refusal_exclusion",
    "refusal_case",
    "coverage_question",
    "coverage_question_exclusion",
    "own_chars",
    "state_size",
)


class QuestionBank:
    """Our labelled training questions as vectors: how close a search is to the questions a
    passage answers (the nearest-neighbour features)."""

    def __init__(self, vectors: np.ndarray, gold: Sequence[Sequence[str]]) -> None:
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._gold = [list(g) for g in gold]
        self._by_passage: dict[str, list[int]] = {}
        for row, ids in enumerate(self._gold):
            for pid in ids:
                self._by_passage.setdefault(pid, []).append(row)

    def __len__(self) -> int:
        return len(self._gold)

    def scores(self, queries: np.ndarray, k: int = 10) -> tuple[dict[str, float], dict[str, float]]:
        """Per passage: the best cosine of a search to a question it answers, and its share of
        the votes of each search's ``k`` nearest questions (best search)."""
        if not len(self._gold) or not len(queries):
            return {}, {}
        sims = np.asarray(queries, dtype=np.float32) @ self._vectors.T  # searches x questions
        best = sims.max(axis=0)
        nearest: dict[str, float] = {
            pid: float(best[rows].max()) for pid, rows in self._by_passage.items()
        }
        votes: dict[str, float] = {}
        for row in sims:
            top = np.argsort(-row)[:k]
            weight = row[top].sum() or 1.0
            tally: dict[str, float] = {}
            for i in top:
                for pid in self._gold[i]:
                    tally[pid] = tally.get(pid, 0.0) + float(row[i]) / float(weight)
            for pid, share in tally.items():
                votes[pid] = max(votes.get(pid, 0.0), share)
        return nearest, votes


def feature_rows(
    rankings: Sequence[Ranking],
    state: TopicState,
    own: str,
    profiles: Mapping[str, PassageProfile],
    knn: tuple[Mapping[str, float], Mapping[str, float]],
) -> tuple[list[Candidate], np.ndarray]:
    """The candidate pool of a turn's searches and its feature matrix (rows in ``FEATURES``
    order).

    Args:
        rankings: each search's ranking.
        state: the topic state after the turn.
        own: what the turn itself says (filler out).
        profiles: every passage's profile.
        knn: the question bank's (nearest, votes) scores of the turn's searches.
    """
    pool: dict[str, Candidate] = {}
    for ranking in rankings:
        for candidate in ranking.candidates[:POOL]:
            pool.setdefault(candidate.passage.id, candidate)
    state_tags = {(v.facet, v.name) for v in state.values}
    events = {t for t in state_tags if t[0] is Facet.EVENT}
    dispute = state.first(Facet.DISPUTE)
    refusal = dispute == "refusal"
    coverage_question = state.first(Facet.ASK) == "coverage_q" and not refusal
    nev_state = state.first(Facet.VEHICLE) == "nev"
    nearest, votes = knn
    rows: list[list[float]] = []
    for pid in pool:
        per_search = [_scores(r, pid) for r in rankings]
        found = [s for s in per_search if s is not None]
        prof = profiles[pid]
        exclusion = prof.role is ArticleRole.EXCLUSION
        tags = prof.title_tags | prof.text_tags

        def matches(facet: Facet, among: frozenset[tuple[Facet, str]]) -> float:
            return float(sum(1 for t in state_tags if t[0] is facet and t in among))

        rows.append(
            [
                max((s[0] for s in found), default=0.0),
                max((s[1] for s in found), default=0.0),
                max((s[2] for s in found), default=0.0),
                max((s[3] for s in found), default=0.0),
                max((s[4] for s in found), default=0.0),
                max((s[5] for s in found), default=0.0),
                len(found) / max(len(rankings), 1),
                nearest.get(pid, 0.0),
                votes.get(pid, 0.0),
                float(prof.kind is PassageKind.CLAUSE),
                float(prof.kind is PassageKind.FAQ),
                float(prof.kind is PassageKind.CASE),
                float(prof.role is ArticleRole.COVERAGE),
                float(exclusion),
                float(prof.role is ArticleRole.PROCEDURE),
                float(len(events & prof.title_tags)),
                float(len(events & prof.text_tags)),
                matches(Facet.USAGE, tags),
                matches(Facet.COVERAGE, prof.title_tags),
                matches(Facet.COVERAGE, prof.text_tags),
                matches(Facet.ASK, tags),
                matches(Facet.DISPUTE, tags),
                float(nev_state and prof.nev),
                float(prof.nev and not nev_state),
                float(refusal),
                float(refusal and exclusion),
                float(refusal and prof.kind is PassageKind.CASE),
                float(coverage_question),
                float(coverage_question and exclusion),
                float(min(len(own), 60)) / 60.0,
                float(len(state.values)),
            ]
        )
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURES))
    return list(pool.values()), matrix


def _scores(ranking: Ranking, pid: str) -> tuple[float, ...] | None:
    candidate = ranking.get(pid)
    if candidate is None:
        return None
    top = ranking.top_lexical
    return (
        candidate.dense_score or 0.0,
        1.0 / candidate.dense_rank if candidate.dense_rank else 0.0,
        (candidate.lexical_score or 0.0) / top if top > 0 else 0.0,
        1.0 / candidate.lexical_rank if candidate.lexical_rank else 0.0,
        candidate.fused,
        1.0 / candidate.fused_rank,
    )


class RankerEncoderError(PolicyDeskError):
    """The ranker's question bank was embedded by another encoder than the one serving."""


class RankerManifest(BaseModel):
    """What an artefact was trained from, and how well it did held out by author."""

    version: int = ARTEFACT_VERSION
    encoder: str = Field(description="the encoder fingerprint of the question-bank vectors")
    features: list[str]
    questions: int
    call_turns: int
    authors: list[str]
    cross_validation: dict[str, float] = Field(default_factory=dict)
    trained_at: str = ""


class LearnedRanker:
    """A trained model over ``FEATURES`` plus the question bank its nearest-neighbour features
    read. Without an artefact the pool is ranked by fused score (``fallback``)."""

    def __init__(self, model: Any, bank: QuestionBank, manifest: RankerManifest) -> None:
        self._model = model
        self.bank = bank
        self.manifest = manifest

    @classmethod
    def load(cls, directory: Path, encoder: str) -> LearnedRanker:
        """Read an artefact.

        Raises:
            ModelNotReadyError: no artefact in the directory.
            RankerEncoderError: trained with another encoder.
            PolicyDeskError: an unreadable artefact or another feature set.
        """
        import joblib

        manifest_file = directory / "manifest.json"
        if not manifest_file.exists():
            raise ModelNotReadyError(directory)
        try:
            manifest = RankerManifest.model_validate_json(manifest_file.read_text("utf-8"))
            model = joblib.load(directory / "model.joblib")
            bank = np.load(directory / "bank.npz", allow_pickle=False)
            gold = json.loads((directory / "bank_gold.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise PolicyDeskError(f"{directory}: not a readable ranker artefact ({exc})") from exc
        if manifest.features != list(FEATURES) or manifest.version != ARTEFACT_VERSION:
            raise PolicyDeskError(
                f"{directory}: the ranker was trained on other features: "
                "run `policydesk train ranker`"
            )
        if manifest.encoder != encoder:
            raise RankerEncoderError(
                f"{directory}: the ranker was trained on another encoder ({manifest.encoder}): "
                "run `policydesk train ranker`"
            )
        return cls(model, QuestionBank(bank["vectors"], gold), manifest)

    def save(self, directory: Path, vectors: np.ndarray, gold: Sequence[Sequence[str]]) -> None:
        """Write the artefact whole into a fresh directory (the caller swaps it in)."""
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self._model, directory / "model.joblib")
        np.savez(directory / "bank.npz", vectors=np.asarray(vectors, dtype=np.float32))
        (directory / "bank_gold.json").write_text(
            json.dumps([list(g) for g in gold], ensure_ascii=False), "utf-8"
        )
        (directory / "manifest.json").write_text(self.manifest.model_dump_json(indent=2), "utf-8")

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The probability that each candidate answers the conversation."""
        if not len(features):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._model.predict_proba(features)[:, 1], dtype=np.float32)


def fallback_scores(features: np.ndarray) -> np.ndarray:
    """Without a trained model: the best fused score of each candidate (plain hybrid order)."""
    return features[:, FEATURES.index("fused_max")] if len(features) else np.zeros(0)
