"""Hashed char n-gram TF-IDF, and the polarity model (negative vs not) built on it.

Hashing keeps artefacts small and needs no vocabulary; the same hash recovers which n-grams drove
a score, so the agent and the trainer can see the words behind a reading.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from core.errors import PolicyDeskError
from ml.artefacts import ArtefactManifest, ArtefactStore
from ml.digests import ML_CODE_VERSION
from ml.heads import fit_logistic

N_FEATURES = 2**18
NGRAMS = (1, 3)


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char",
        ngram_range=NGRAMS,
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=True,
    )


def hashed_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw n-gram counts, one row per text (canonical CSR: each row's columns sorted, once)."""
    counts = _vectorizer().transform(list(texts)).tocsr()
    counts.sum_duplicates()
    return counts


def gram_index(gram: str) -> int:
    """The hashed column of one n-gram (identical to the vectorizer's)."""
    return abs(murmurhash3_32(gram, seed=0)) % N_FEATURES


@dataclass(frozen=True)
class HashedTfidf:
    """Sublinear TF x IDF over hashed char 1-3-grams, L2-normalised rows."""

    idf: np.ndarray  # (N_FEATURES,) float32; 0 for n-grams never seen in training

    @classmethod
    def fit(cls, texts: Sequence[str]) -> HashedTfidf:
        """IDF from a corpus (smoothed, as scikit-learn's TfidfTransformer)."""
        return cls.fit_counts(hashed_counts(texts))

    @classmethod
    def fit_counts(cls, counts: sparse.csr_matrix) -> HashedTfidf:
        """IDF from a corpus already counted by ``hashed_counts`` (one row per text).

        Cross-validation counts every text once and fits an IDF per fold from its rows.
        """
        df = np.bincount(counts.indices, minlength=N_FEATURES).astype(np.float32)
        idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        idf[df == 0] = 0.0
        return cls(idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Rows of TF-IDF features."""
        return self.transform_counts(hashed_counts(texts))

    def transform_counts(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Rows of TF-IDF features from ``hashed_counts`` rows (the same as ``transform``)."""
        counts = counts.astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        weighted = counts.multiply(self.idf.reshape(1, -1)).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ weighted)

    def explain(self, text: str, weights: np.ndarray, top: int = 3) -> list[str]:
        """The n-grams (2+ characters) of the text with the largest positive weight x idf."""
        lowered = " ".join(text.lower().split())
        grams = {lowered[i : i + n] for n in (2, 3) for i in range(len(lowered) - n + 1)}
        scored = sorted(
            (
                (float(weights[gram_index(g)] * self.idf[gram_index(g)]), g)
                for g in grams
                if g.strip() and " " not in g
            ),
            key=lambda pair: (-pair[0], pair[1]),
        )
        picked: list[str] = []
        for weight, gram in scored:
            if weight <= 0 or len(picked) >= top:
                break
            if not any(gram in other or other in gram for other in picked):
                picked.append(gram)
        return picked


@dataclass(frozen=True)
class PolarityModel:
    """Log-odds that a text is negative, from general-domain corpora."""

    tfidf: HashedTfidf
    coef: np.ndarray  # (N_FEATURES,) float32
    intercept: float

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Log-odds that each text is negative."""
        return np.asarray(self.tfidf.transform(texts) @ self.coef).ravel() + self.intercept


POLARITY_VERSION = "polarity/1"  # C 4, liblinear: bump when the fit below changes
POLARITY_C = 4.0


class PolarityManifest(ArtefactManifest):
    """A cached polarity model: what it was fitted on."""

    format: int = 1
    texts: int
    seconds: float


_POLARITY_STORE = ArtefactStore(
    "polarity", PolarityManifest, 1, lambda folder: f"delete {folder} (it is only a cache)"
)


def polarity_digest(texts: Sequence[str], negative: Sequence[int]) -> str:
    """A digest of a polarity corpus and the code that fits it (the key of a cached model)."""
    digest = hashlib.sha256(f"{ML_CODE_VERSION}|{POLARITY_VERSION}".encode())
    for text, label in zip(texts, negative, strict=True):
        digest.update(f"{int(label)}\0{text}\0".encode())
    return digest.hexdigest()[:24]


def train_polarity(
    texts: Sequence[str], negative: Sequence[int], cache: Path | None = None
) -> PolarityModel:
    """Fit the polarity model (deterministic), or read it from the cache.

    Args:
        texts: utterances.
        negative: 1 for negative, 0 otherwise.
        cache: a training-cache folder: a corpus fitted before is read back from its
            ``polarity/<digest>`` folder (bit-identical to a fresh fit) instead of refitted
            (tens of thousands of texts, the slowest part of training the emotion model).

    Returns:
        The model (float32 weights, whether fitted or read).
    """
    folder = None if cache is None else cache / "polarity" / polarity_digest(texts, negative)
    if folder is not None and _POLARITY_STORE.read_manifest(folder) is not None:
        try:
            _, w = _POLARITY_STORE.load(folder, ("idf", "coef", "intercept"))
            return PolarityModel(HashedTfidf(w["idf"]), w["coef"], float(w["intercept"][0]))
        except PolicyDeskError:
            pass  # a damaged cache entry: fit again and replace it
    started = time.perf_counter()
    counts = hashed_counts(texts)
    tfidf = HashedTfidf.fit_counts(counts)
    head = fit_logistic(
        tfidf.transform_counts(counts), negative, POLARITY_C, solver="liblinear", max_iter=2000
    )
    # float32 throughout, as stored: a fresh model and a cached one score alike to the bit
    model = PolarityModel(
        tfidf, head.coef.ravel().astype(np.float32), float(np.float32(head.intercept[0]))
    )
    if folder is not None:
        manifest = PolarityManifest(
            inputs_digest=folder.name,
            texts=len(texts),
            seconds=round(time.perf_counter() - started, 2),
        )
        arrays = {"idf": tfidf.idf, "coef": model.coef, "intercept": np.array([model.intercept])}
        _POLARITY_STORE.save(folder, manifest, arrays)
    return model
