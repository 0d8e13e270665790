"""Deterministic test doubles; a fake embedder is for tests about something besides embeddings."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


class FakeEmbedder:
    """Hashes character bigrams into a fixed-size unit vector: similar texts get similar vectors."""

    def __init__(self, dimension: int = 64, fingerprint: str = "fake-v1") -> None:
        self.dimension = dimension
        self._fingerprint = fingerprint
        self.embedded: list[str] = []  # every passage text embedded, to assert incremental ingest
        self.fail_after: int | None = None  # raise after embedding this many passages

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def warm_up(self) -> None:
        """Nothing to load."""

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for i in range(max(len(text) - 1, 1)):
            gram = text[i : i + 2]
            h = int(hashlib.md5(gram.encode("utf-8")).hexdigest()[:8], 16)
            vector[h % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and len(self.embedded) + len(texts) > self.fail_after:
            raise RuntimeError("simulated embedding failure")
        self.embedded.extend(texts)
        return np.stack([self._vector(t) for t in texts])
