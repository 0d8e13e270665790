"""Okapi BM25 over token lists, vectorised with a sparse term-document matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.sparse import csc_matrix


class BM25Index:
    """BM25 scores for a fixed collection of documents (token lists)."""

    def __init__(
        self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.array([len(doc) for doc in documents], dtype=np.float32)
        avg = float(lengths.mean()) if len(documents) and lengths.mean() > 0 else 1.0
        df: Counter[int] = Counter()
        for d, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                t = self._vocab.setdefault(term, len(self._vocab))
                df[t] += 1
                norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[d] / avg))
                rows.append(d)
                cols.append(t)
                vals.append(norm)
        n = len(documents)
        self._idf = np.zeros(len(self._vocab), dtype=np.float32)
        for t, freq in df.items():
            self._idf[t] = np.log(1 + (n - freq + 0.5) / (freq + 0.5))
        self._matrix = csc_matrix(
            (np.array(vals, dtype=np.float32), (rows, cols)), shape=(n, len(self._vocab))
        )
        self.size = n

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term (0 for unknown terms)."""
        t = self._vocab.get(term)
        return float(self._idf[t]) if t is not None else 0.0

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query terms (weight = repeat count)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in query.items():
            t = self._vocab.get(term)
            if t is None or weight <= 0:
                continue
            column = self._matrix.getcol(t)
            out[column.indices] += weight * self._idf[t] * column.data
        return out
