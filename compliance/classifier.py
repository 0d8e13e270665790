"""The guard's learned sentence judge: P(a sentence crosses a red line) and its likely category
(numpy only).

Linear heads over two views of the sentence: its e5 query vector and hashed char n-gram TF-IDF
(``ml.tfidf``), as the chatbot's handoff detector. Row 0 of the heads is the binary violation
head; the rows after it are a multinomial head over the categories, fitted on violations only.
``compliance.training`` fits them (``ml.heads``) and stores plain arrays beside a json manifest
(``ml.artefacts``). The judge is what ``prompts.guard.ComplianceGuard`` asks about every sentence
no rule flags.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from core.errors import ConfigurationError, PolicyDeskError
from ml.artefacts import ArtefactManifest, ArtefactStore
from ml.tfidf import N_FEATURES
from ml.two_view import HEAD_ARRAYS, TwoViewHeads
from prompts.guard import RuleCategory, SentenceVerdict
from retrieval.embedder import Embedder

FORMAT = 2


def train_remedy(folder: Path) -> str:
    """What to run to (re)build the artefact in ``folder``."""
    return f"run `policydesk train guard --out {folder}`"


class GuardManifest(ArtefactManifest):
    """How the judge was trained, its operating threshold and its cross-validated quality."""

    format: int = FORMAT
    code_version: str
    dimension: int = Field(gt=0, description="width of the encoder's vectors")
    categories: list[RuleCategory] = Field(min_length=2, description="the category head's rows")
    threshold: float = Field(gt=0, lt=1, description="P(violation) at or above this flags")
    screen: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="a sentence whose n-gram screen gives P(violation) below this is judged "
        "compliant without the encoder (0: every sentence is embedded)",
    )
    c: float = Field(gt=0, description="inverse L2 strength of both heads")
    dense_scale: float = Field(gt=0, description="the encoder vector's weight (folded in)")
    sources: dict[str, int] = Field(description="author -> number of replies")
    sentences: int = Field(ge=1, description="training sentences")
    cv: dict[str, float] = Field(
        description="author-held-out figures at the threshold, rules and judge together"
    )
    seconds: float = Field(ge=0)


SCREEN_ARRAYS = ("screen_weights", "screen_bias")


@dataclass(frozen=True)
class GuardArtefact:
    """The manifest, the heads (row 0 the violation head, row 1 + i category i) and the screen:
    a violation head on the n-gram view alone, which spares the encoder sentences that are
    plainly compliant."""

    manifest: GuardManifest
    heads: TwoViewHeads
    screen_weights: np.ndarray  # (N_FEATURES,)
    screen_bias: np.ndarray  # (1,)

    def __post_init__(self) -> None:
        self.heads.check("guard", 1 + len(self.manifest.categories), self.manifest.dimension)
        if self.screen_weights.shape != (N_FEATURES,) or self.screen_bias.shape != (1,):
            raise PolicyDeskError(
                f"guard artefact: screen of shapes {self.screen_weights.shape} and "
                f"{self.screen_bias.shape}, expected ({N_FEATURES},) and (1,)"
            )

    def save(self, folder: Path) -> None:
        """Write atomically: a crash leaves the previous artefact in place."""
        arrays = self.heads.arrays() | {
            "screen_weights": self.screen_weights,
            "screen_bias": self.screen_bias,
        }
        STORE.save(folder, self.manifest, arrays)

    def screen_probability(self, texts: Sequence[str]) -> np.ndarray:
        """P(violation) per sentence from the n-gram view alone (no encoder)."""
        z = np.asarray(self.heads.tfidf.transform(texts) @ self.screen_weights) + self.screen_bias
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))

    @classmethod
    def load(cls, folder: Path) -> GuardArtefact:
        """Read an artefact.

        Raises:
            ModelNotReadyError: nothing trained there yet (names the folder and the command).
            PolicyDeskError: an unreadable, inconsistent or incompatible artefact.
        """
        manifest, w = STORE.load(folder, (*HEAD_ARRAYS, *SCREEN_ARRAYS))
        try:
            return cls(manifest, TwoViewHeads.from_arrays(w), w["screen_weights"], w["screen_bias"])
        except PolicyDeskError as exc:
            raise PolicyDeskError(f"{folder}: {exc}; {train_remedy(folder)}") from exc


STORE = ArtefactStore("guard", GuardManifest, FORMAT, train_remedy)
"""Where the judge's weights and manifest live (``ml.artefacts``)."""


def head_scores(
    artefact: GuardArtefact, texts: Sequence[str], vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(violation) per sentence and the category probabilities (rows sum to 1) (pure)."""
    logits = artefact.heads.logits(texts, vectors)
    p_violation = 0.5 * (1.0 + np.tanh(0.5 * logits[:, 0]))
    category = logits[:, 1:] - logits[:, 1:].max(axis=1, keepdims=True)
    category = np.exp(category)
    category /= category.sum(axis=1, keepdims=True)
    return np.asarray(p_violation), category


VECTOR_CACHE = 1024
"""Sentences whose vectors the judge keeps (in memory only): a draft is checked as the agent types,
and all but its last sentence are unchanged between two checks."""


class GuardClassifier:
    """The ``SentenceJudge`` over a trained artefact and the shared encoder. Thread-safe: the
    weights are read-only, the vector cache is locked, and the encoder serialises its own forward
    passes."""

    def __init__(self, artefact: GuardArtefact, embedder: Embedder) -> None:
        if artefact.manifest.encoder != embedder.fingerprint:
            raise ConfigurationError(
                f"the guard's judge was trained on vectors from {artefact.manifest.encoder!r}, "
                f"but the encoder is {embedder.fingerprint!r}: retrain it (policydesk train guard)"
            )
        self._artefact = artefact
        self._embedder = embedder
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> GuardClassifier:
        """The judge stored in ``folder``.

        Raises:
            ModelNotReadyError: nothing trained there yet.
            PolicyDeskError: an unreadable or incompatible artefact.
            ConfigurationError: trained on another encoder's vectors.
        """
        return cls(GuardArtefact.load(folder), embedder)

    @property
    def manifest(self) -> GuardManifest:
        """How the loaded judge was trained, and its cross-validated figures."""
        return self._artefact.manifest

    def judge(self, sentences: Sequence[str]) -> list[SentenceVerdict]:
        """One verdict per sentence. Sentences the n-gram screen clears are judged compliant
        without the encoder; the rest share one encoder pass (recent ones come from the cache).
        """
        if not sentences:
            return []
        screen = self._artefact.screen_probability(sentences)
        cleared = screen < self.manifest.screen
        verdicts: list[SentenceVerdict | None] = [None] * len(sentences)
        if cleared.any():
            idle = [s for s, c in zip(sentences, cleared, strict=True) if c]
            screened = self.verdicts(idle, np.zeros((len(idle), self.manifest.dimension)))
            for i, verdict in zip(np.flatnonzero(cleared), screened, strict=True):
                verdicts[i] = verdict.model_copy(
                    update={"flagged": False, "probability": float(screen[i])}
                )
        rest = [s for s, c in zip(sentences, cleared, strict=True) if not c]
        if rest:
            for i, verdict in zip(
                np.flatnonzero(~cleared), self.verdicts(rest, self._vectors_of(rest)), strict=True
            ):
                verdicts[i] = verdict
        return [v for v in verdicts if v is not None]

    def _vectors_of(self, sentences: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {s: self._vectors[s] for s in sentences if s in self._vectors}
            for s in known:
                self._vectors.move_to_end(s)
        missing = list(dict.fromkeys(s for s in sentences if s not in known))
        if missing:
            fresh = self._embedder.embed_queries(missing)
            with self._lock:
                for s, v in zip(missing, fresh, strict=True):
                    known[s] = v
                    self._vectors[s] = v
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.popitem(last=False)
        return np.stack([known[s] for s in sentences])

    def verdicts(self, sentences: Sequence[str], vectors: np.ndarray) -> list[SentenceVerdict]:
        """Verdicts from vectors already computed (training and evaluation reuse them)."""
        p_violation, categories = head_scores(self._artefact, sentences, vectors)
        names = self._artefact.manifest.categories
        threshold = self._artefact.manifest.threshold
        return [
            SentenceVerdict(
                probability=float(np.clip(p, 0.0, 1.0)),
                category=names[int(np.argmax(row))],
                flagged=bool(p >= threshold),
            )
            for p, row in zip(p_violation, categories, strict=True)
        ]
