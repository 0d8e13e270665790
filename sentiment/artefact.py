"""The trained caller-emotion artefact: weights (npz) and a manifest (json), no pickles
(stored by ``ml.artefacts``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from core.models import Emotion
from ml.artefacts import ArtefactManifest, ArtefactStore
from ml.tfidf import HashedTfidf, PolarityModel

FORMAT = 3  # 3: polarity on char 1-4-grams + words, trained with our utterances too


class SentimentManifest(ArtefactManifest):
    """What the artefact was trained from and how well it did on the dev split."""

    format: int = FORMAT
    labels: list[Emotion]
    cue_rules: list[str]
    sources: dict[str, int] = Field(description="training source -> number of samples")
    dev_metrics: dict[str, float]
    seconds: float


def _remedy(folder: Path) -> str:
    return "run `policydesk train sentiment` (or `make setup`)"


STORE = ArtefactStore("sentiment", SentimentManifest, FORMAT, _remedy)
"""Where the caller-emotion weights and manifest live (``ml.artefacts``)."""

_ARRAYS = (
    "polarity_idf",
    "polarity_coef",
    "polarity_intercept",
    "own_idf",
    "head_dense",
    "head_sparse",
    "head_bias",
)


@dataclass(frozen=True)
class SentimentArtefact:
    """Everything inference needs besides the shared encoder and the cue rules."""

    manifest: SentimentManifest
    polarity: PolarityModel
    own_tfidf: HashedTfidf
    head_dense: np.ndarray  # (labels, encoder + 1 + cue rules)
    head_sparse: np.ndarray  # (labels, hashed n-grams)
    head_bias: np.ndarray  # (labels,)

    @functools.cached_property
    def _head_sparse_columns(self) -> np.ndarray:
        # scipy copies a non-contiguous right-hand side on every product: 2^18 x labels floats,
        # most of a live utterance's classification time, unless it is laid out once here
        return np.ascontiguousarray(self.head_sparse.T)

    def scores(self, dense: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Unnormalised label scores for rows of dense features and their texts."""
        sparse_part = np.asarray(self.own_tfidf.transform(texts) @ self._head_sparse_columns)
        return np.asarray(dense @ self.head_dense.T) + sparse_part + self.head_bias

    def save(self, folder: Path) -> None:
        """Write atomically: a crash leaves the previous artefact in place."""
        STORE.save(
            folder,
            self.manifest,
            {
                "polarity_idf": self.polarity.tfidf.idf,
                "polarity_coef": self.polarity.coef,
                "polarity_intercept": np.array([self.polarity.intercept]),
                "own_idf": self.own_tfidf.idf,
                "head_dense": self.head_dense,
                "head_sparse": self.head_sparse,
                "head_bias": self.head_bias,
            },
        )

    @classmethod
    def load(cls, folder: Path) -> SentimentArtefact:
        """Read an artefact.

        Raises:
            ModelNotReadyError: nothing trained there yet.
            PolicyDeskError: an unreadable or incompatible artefact.
        """
        manifest, w = STORE.load(folder, _ARRAYS)
        polarity = PolarityModel(
            tfidf=HashedTfidf(w["polarity_idf"]),
            coef=w["polarity_coef"],
            intercept=float(w["polarity_intercept"][0]),
        )
        own = HashedTfidf(w["own_idf"])
        return cls(manifest, polarity, own, w["head_dense"], w["head_sparse"], w["head_bias"])


def read_manifest(folder: Path) -> SentimentManifest | None:
    """The manifest if there is a readable one."""
    return STORE.read_manifest(folder)


def manifest_summary(manifest: SentimentManifest) -> str:
    """One line for the CLI."""
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(manifest.dev_metrics.items()))
    return f"{json.dumps(manifest.sources)}; dev: {metrics}; {manifest.seconds:.1f}s"
