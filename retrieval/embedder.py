"""Text embeddings. The only module that imports sentence-transformers."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.errors import ModelNotReadyError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model; an index built with another fingerprint must be rebuilt."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (rows are unit vectors)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages to be indexed (rows are unit vectors)."""
        ...

    def warm_up(self) -> None:
        """Load the model now, so that the first request does not wait for it."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local directory, loaded once, lazily, thread-safe.

    e5 models need ``query: `` / ``passage: `` prefixes; other models take other prefixes (or
    none), so both are settings. ``on_forward`` is told the number of distinct texts of every
    forward pass (telemetry: how many texts share a pass).
    """

    def __init__(
        self,
        model_path: Path,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 32,
        on_forward: Callable[[int], None] | None = None,
    ) -> None:
        self._path = Path(model_path)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self._on_forward = on_forward
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        marker = self._path / ".complete"
        config = self._path / "config.json"
        source = marker if marker.exists() else config
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16] if source.exists() else "?"
        return f"{self._path.name}:{digest}:{self._query_prefix}|{self._passage_prefix}"

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        self._load()

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not (self._path / "config.json").exists():
                        raise ModelNotReadyError(self._path)
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    # a weight-loading progress bar on every start is noise in CLI output and logs
                    hf_logging.disable_progress_bar()
                    self._model = SentenceTransformer(
                        str(self._path), device="cpu", local_files_only=True
                    )
        return self._model

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, a function of that text alone.

        A batch is padded to its longest text, and padding changes the shapes the matrix kernels
        see, so the same text's vector could differ in its last bits with its batch companions.
        Texts are therefore batched only with texts of the same token count (no padding at all,
        and never a batch of one: see ``_forward``): a text gets the same bits alone (a live
        query), in a training batch, or from the embedding cache (``ml.embedding_cache``).
        """
        model = self._load()
        items = list(texts)
        with self._lock:  # torch modules are not documented as safe for concurrent forward passes
            if not items:
                return np.asarray(self._forward(model, items), dtype=np.float32)
            lengths = model.preprocess(items)["attention_mask"].sum(dim=1).tolist()
            by_length: dict[int, list[int]] = {}
            for row, length in enumerate(lengths):
                by_length.setdefault(int(length), []).append(row)
            rows: list[int] = []
            parts: list[np.ndarray] = []
            for same in by_length.values():
                for start in range(0, len(same), self._batch_size):
                    batch = same[start : start + self._batch_size]
                    rows += batch
                    parts.append(self._forward(model, [items[i] for i in batch]))
        vectors = np.empty((len(items), parts[0].shape[1]), dtype=np.float32)
        vectors[rows] = np.vstack(parts)
        return vectors

    def _forward(self, model: SentenceTransformer, batch: list[str]) -> np.ndarray:
        # a batch of one takes other matrix kernels than any larger batch (another last bit for
        # a few short texts); a lone text is embedded twice over instead, so every text goes
        # through the same kernels
        single = len(batch) == 1
        if self._on_forward is not None and batch:
            self._on_forward(len(batch))
        vectors = np.asarray(
            model.encode(
                batch * 2 if single else batch,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )
        return vectors[:1] if single else vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])
