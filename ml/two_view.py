"""Linear heads over two views of a text: its encoder vector and hashed char n-gram TF-IDF.

The chatbot's handoff detector and the guard's sentence judge are both such heads (one row per
output); this is their one layout, validation and storage. Row ``i``'s logit is
``dense[i] · vector + sparse[i] · tfidf(text) + bias[i]``, the dense view's weight folded into
``dense`` at training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import PolicyDeskError
from ml.tfidf import N_FEATURES, HashedTfidf

HEAD_ARRAYS = ("idf", "head_dense", "head_sparse", "head_bias")
"""The arrays a two-view artefact stores (``ml.artefacts``), in this order."""


@dataclass(frozen=True)
class TwoViewHeads:
    """The weights of the heads and the IDF of the TF-IDF view."""

    tfidf: HashedTfidf
    dense: np.ndarray  # (rows, dimension)
    sparse: np.ndarray  # (rows, N_FEATURES)
    bias: np.ndarray  # (rows,)

    def check(self, kind: str, rows: int, dimension: int) -> None:
        """Refuse weights of the wrong shapes.

        Raises:
            PolicyDeskError: naming the artefact kind, the array and both shapes.
        """
        expected = {
            "head_dense": (self.dense, (rows, dimension)),
            "head_sparse": (self.sparse, (rows, N_FEATURES)),
            "head_bias": (self.bias, (rows,)),
            "idf": (self.tfidf.idf, (N_FEATURES,)),
        }
        for name, (array, shape) in expected.items():
            if array.shape != shape:
                raise PolicyDeskError(
                    f"{kind} artefact: {name} has shape {array.shape}, expected {shape}"
                )

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store, by their names in ``HEAD_ARRAYS``."""
        return {
            "idf": self.tfidf.idf,
            "head_dense": self.dense,
            "head_sparse": self.sparse,
            "head_bias": self.bias,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> TwoViewHeads:
        """The heads from stored arrays (shapes checked by ``check``)."""
        return cls(
            HashedTfidf(arrays["idf"]),
            arrays["head_dense"],
            arrays["head_sparse"],
            arrays["head_bias"],
        )

    def logits(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(texts, rows) logits from the texts and their encoder vectors."""
        sparse_part = np.asarray(self.tfidf.transform(texts) @ self.sparse.T.astype(np.float32))
        dense_part = np.asarray(vectors, dtype=np.float32) @ self.dense.T.astype(np.float32)
        return np.asarray(dense_part + sparse_part + self.bias.astype(np.float32))
