"""The learned handoff detector: how likely a chat message needs a person, and why (numpy only).

Linear heads over two views of the message: its e5 query vector (the one the chatbot already
computes for the emotion classifier and retrieval) and hashed char n-gram TF-IDF
(``ml.tfidf``). One head gives P(human); one head per human trigger (ROUTING.md) ranks
the reasons. ``chatbot.learned_training`` fits the heads (``ml.heads``) and stores them as plain
arrays beside a json manifest (``ml.artefacts``), so nothing here needs a trained Python object.

The detector complements the hand-written rules (``chatbot.understanding``): rules are exact on
the phrasings they list, the detector generalises to paraphrases. Routing decides how the two
combine; this module only scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatbot.understanding import HUMAN_TRIGGERS, Reason
from core.errors import ConfigurationError, PolicyDeskError
from ml.artefacts import MANIFEST as MANIFEST  # re-exported: the artefact's file names
from ml.artefacts import WEIGHTS as WEIGHTS
from ml.artefacts import ArtefactManifest, ArtefactStore
from ml.tfidf import HashedTfidf
from ml.two_view import HEAD_ARRAYS, TwoViewHeads

FORMAT = 1

HANDOFF_REASONS: tuple[Reason, ...] = tuple(r for r in Reason if r in HUMAN_TRIGGERS)
"""The reasons the detector scores (the seven human triggers, in ``Reason`` order)."""

DEFAULT_REASON_THRESHOLD = 0.5
"""A reason is named when its head's probability reaches this (heads are class-balanced)."""


def train_remedy(folder: Path) -> str:
    """What to run to (re)build the artefact in ``folder``."""
    return f"run `policydesk train routing --out {folder}`"


class DetectorVerdict(BaseModel):
    """The detector's reading of one message."""

    model_config = ConfigDict(frozen=True)

    p_human: float = Field(ge=0, le=1, description="probability that a person must take over")
    reasons: list[Reason] = Field(
        default_factory=list,
        description="the likely human triggers, most likely first; empty below the threshold",
    )
    above_threshold: bool = Field(description="p_human reached the trained threshold")
    reason_scores: dict[Reason, float] = Field(
        default_factory=dict, description="every trigger head's probability (for inspection)"
    )


class HandoffManifest(ArtefactManifest):
    """How the artefact was trained, its operating threshold and its cross-validated quality."""

    format: int = FORMAT
    code_version: str
    dimension: int = Field(gt=0, description="width of the encoder's vectors")
    reasons: list[Reason] = Field(min_length=1)
    threshold: float = Field(gt=0, lt=1, description="P(human) at or above this hands over")
    reason_threshold: float = Field(default=DEFAULT_REASON_THRESHOLD, gt=0, lt=1)
    rule_veto: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="below this P(human) the rules' softer triggers are overruled (0: never)",
    )
    c: float = Field(gt=0, description="inverse L2 strength of every head")
    dense_scale: float = Field(
        gt=0, description="the encoder vector's weight against the TF-IDF view (folded in)"
    )
    sources: dict[str, int] = Field(description="training source -> number of messages")
    cv_folds: int = Field(ge=2)
    cv_metrics: dict[str, float] = Field(description="out-of-fold figures at the threshold")
    seconds: float = Field(ge=0)

    @field_validator("reasons")
    @classmethod
    def _human_triggers(cls, value: list[Reason]) -> list[Reason]:
        stray = [r.value for r in value if r not in HUMAN_TRIGGERS]
        if stray:
            raise ValueError(f"not human triggers: {', '.join(stray)}")
        if len(set(value)) != len(value):
            raise ValueError("a reason is listed twice")
        return value


@dataclass(frozen=True)
class HandoffArtefact:
    """The manifest and the weights: row 0 is the P(human) head, row 1 + i is reason i."""

    manifest: HandoffManifest
    tfidf: HashedTfidf
    head_dense: np.ndarray  # (1 + reasons, dimension), dense_scale already folded in
    head_sparse: np.ndarray  # (1 + reasons, N_FEATURES)
    head_bias: np.ndarray  # (1 + reasons,)

    @property
    def heads(self) -> TwoViewHeads:
        """The weights in the shared two-view layout."""
        return TwoViewHeads(self.tfidf, self.head_dense, self.head_sparse, self.head_bias)

    def __post_init__(self) -> None:
        self.heads.check("routing", 1 + len(self.manifest.reasons), self.manifest.dimension)

    def save(self, folder: Path) -> None:
        """Write atomically: a crash leaves the previous artefact in place.

        Args:
            folder: the artefact directory (created if missing).
        """
        STORE.save(folder, self.manifest, self.heads.arrays())

    @classmethod
    def load(cls, folder: Path) -> HandoffArtefact:
        """Read an artefact.

        Args:
            folder: the artefact directory.

        Returns:
            The artefact.

        Raises:
            ModelNotReadyError: nothing trained there yet (names the folder and the command).
            PolicyDeskError: an unreadable, inconsistent or incompatible artefact.
        """
        manifest, w = STORE.load(folder, HEAD_ARRAYS)
        heads = TwoViewHeads.from_arrays(w)
        try:
            return cls(manifest, heads.tfidf, heads.dense, heads.sparse, heads.bias)
        except PolicyDeskError as exc:
            raise PolicyDeskError(f"{folder}: {exc}; {train_remedy(folder)}") from exc


STORE = ArtefactStore("routing", HandoffManifest, FORMAT, train_remedy)
"""Where the handoff detector's weights and manifest live (``ml.artefacts``)."""


def verdict_from_probabilities(
    p_human: float,
    reason_probabilities: Sequence[float],
    reasons: Sequence[Reason],
    threshold: float,
    reason_threshold: float = DEFAULT_REASON_THRESHOLD,
) -> DetectorVerdict:
    """Turn head probabilities into a verdict (pure).

    At or above the threshold the verdict names every reason whose probability reaches
    ``reason_threshold``, most likely first, and at least the most likely one, so a handoff
    always says why. Below the threshold it names none (the scores stay inspectable).

    Args:
        p_human: the P(human) head's probability.
        reason_probabilities: one probability per reason, in ``reasons`` order.
        reasons: the reasons the heads stand for.
        threshold: P(human) at or above this hands over.
        reason_threshold: a reason's probability at or above this names it.

    Returns:
        The verdict.

    Raises:
        ValueError: the probabilities and reasons differ in length.
    """
    if len(reason_probabilities) != len(reasons):
        raise ValueError(f"{len(reason_probabilities)} reason scores for {len(reasons)} reasons")
    scores = {r: round(float(p), 4) for r, p in zip(reasons, reason_probabilities, strict=True)}
    above = p_human >= threshold
    named: list[Reason] = []
    if above and scores:
        ranked = sorted(reasons, key=lambda r: (-scores[r], list(Reason).index(r)))
        named = [r for r in ranked if scores[r] >= reason_threshold] or ranked[:1]
    return DetectorVerdict(
        p_human=round(float(p_human), 4),
        reasons=named,
        above_threshold=above,
        reason_scores=scores,
    )


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * logits)))  # overflow-free logistic


class HandoffDetector:
    """Scores messages with a trained artefact. Thread-safe: everything is read-only."""

    def __init__(self, artefact: HandoffArtefact) -> None:
        self._artefact = artefact
        self._manifest = artefact.manifest
        self._dense_t = np.ascontiguousarray(artefact.head_dense.T, dtype=np.float32)
        # (N_FEATURES, rows), row-major: a sparse row times it touches only the row's n-grams
        self._sparse_t = np.ascontiguousarray(artefact.head_sparse.T, dtype=np.float32)
        self._bias = artefact.head_bias.astype(np.float32)

    @classmethod
    def load(cls, folder: Path) -> HandoffDetector:
        """The detector stored in ``folder``.

        Raises:
            ModelNotReadyError: nothing trained there yet.
            PolicyDeskError: an unreadable or incompatible artefact.
        """
        return cls(HandoffArtefact.load(folder))

    @property
    def manifest(self) -> HandoffManifest:
        """How the loaded artefact was trained, and its cross-validated figures."""
        return self._manifest

    @property
    def threshold(self) -> float:
        """P(human) at or above this hands over."""
        return self._manifest.threshold

    def check_encoder(self, fingerprint: str) -> None:
        """Fail early when the vectors will come from another encoder than training used.

        Raises:
            ConfigurationError: the fingerprints differ.
        """
        if fingerprint != self._manifest.encoder:
            raise ConfigurationError(
                f"the handoff detector was trained on vectors from {self._manifest.encoder!r}, "
                f"but the encoder is {fingerprint!r}: retrain it "
                "(policydesk train routing)"
            )

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Head probabilities, one row per message: column 0 P(human), then one per reason.

        Args:
            texts: the messages.
            vectors: their query embeddings, shape (len(texts), dimension).

        Raises:
            ConfigurationError: vectors of the wrong shape (another encoder).
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.shape != (len(texts), self._manifest.dimension):
            raise ConfigurationError(
                f"handoff detector: vectors of shape {matrix.shape} for {len(texts)} messages; "
                f"expected width {self._manifest.dimension} from {self._manifest.encoder!r}"
            )
        sparse_part = np.asarray(self._artefact.tfidf.transform(texts) @ self._sparse_t)
        logits = matrix @ self._dense_t + sparse_part + self._bias
        return _sigmoid(logits.astype(np.float64))

    def score(self, text: str, vector: np.ndarray) -> DetectorVerdict:
        """Score one message.

        Args:
            text: the customer's message (as the chatbot cleaned it).
            vector: its query embedding (``embedder.embed_queries([text])[0]``).

        Returns:
            P(human), the ranked likely reasons, and whether P(human) reached the threshold.

        Raises:
            ConfigurationError: a vector of the wrong width (another encoder).
        """
        return self.score_many([text], np.asarray(vector).reshape(1, -1))[0]

    def score_many(self, texts: Sequence[str], vectors: np.ndarray) -> list[DetectorVerdict]:
        """Score several messages (benchmarks, evaluation).

        Args:
            texts: the messages.
            vectors: their query embeddings, one row per message.

        Raises:
            ConfigurationError: vectors of the wrong shape (another encoder).
        """
        if not texts:
            return []
        rows = self.probabilities(texts, vectors)
        return [
            verdict_from_probabilities(
                float(row[0]),
                [float(p) for p in row[1:]],
                self._manifest.reasons,
                self._manifest.threshold,
                self._manifest.reason_threshold,
            )
            for row in rows
        ]
