"""A persistent cache of text embeddings: (encoder fingerprint, kind, sha256 of the text) -> vector.

Training embeds the same messages on every run, and the test session embeds the demo knowledge
base that ``make setup`` has just embedded; the encoder is by far the slowest part of both. The
cache is one SQLite file in WAL mode, so several processes (``make setup``, a test session, the
console) read it at once and write to it one at a time. It is only a cache: deleting the file
loses nothing but time.

The key holds the encoder's fingerprint (the model, and for the e5 encoder its query and passage
prefixes) and the kind of text (query or passage), so a vector is only ever reused for the same
encoder embedding the same text the same way. Vectors are stored as the encoder's float32 bytes,
so a cached vector is bit-identical to a computed one.

Privacy: the composition root wraps the encoder in ``CachedEmbedder`` only for training and
ingest (``Services.training_embedder``). Live customer messages never reach the cache.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from core.errors import PolicyDeskError

Kind = Literal["query", "passage"]

_TABLE = "vectors_v1"  # a new layout gets a new table name; the old rows are simply unused
_CHUNK = 500  # keys per SELECT: well under SQLite's limit on bound parameters
_BUSY_SECONDS = 60.0  # another process writing: wait this long for it
_STORE_EVERY = 512  # texts computed between two writes
FILE_NAME = "embeddings.sqlite"


class EmbeddingCacheError(PolicyDeskError):
    """The cache file cannot be used (names it; deleting it is always safe)."""


def text_key(text: str) -> bytes:
    """The sha256 of a text's UTF-8 bytes: the part of the key that stands for the text."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors by (encoder, kind, text digest) in one SQLite file, safe for several processes.

    Args:
        path: the SQLite file (created, with its folder, on first use).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # one writer per process; SQLite orders the processes

    @classmethod
    def within(cls, folder: Path) -> EmbeddingCache:
        """The cache kept in a training-cache folder (``Settings.training_cache``)."""
        return cls(Path(folder) / FILE_NAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=_BUSY_SECONDS)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {_TABLE} (encoder TEXT NOT NULL, kind TEXT NOT "
                    "NULL, text_sha256 BLOB NOT NULL, vector BLOB NOT NULL, "
                    "PRIMARY KEY (encoder, kind, text_sha256)) WITHOUT ROWID"
                )
                yield connection
        except (sqlite3.Error, OSError) as exc:
            raise EmbeddingCacheError(
                f"embedding cache {self.path} unusable: {exc} (it is only a cache: delete it, or "
                "point POLICYDESK_TRAINING_CACHE elsewhere)"
            ) from exc

    def get_many(self, encoder: str, kind: Kind, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys`` (``text_key`` digests), by key.

        Raises:
            EmbeddingCacheError: an unreadable cache file.
        """
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        if not unique:
            return found
        with self._connect() as connection:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                rows = connection.execute(
                    f"SELECT text_sha256, vector FROM {_TABLE} WHERE encoder = ? AND kind = ? "
                    f"AND text_sha256 IN ({','.join('?' * len(chunk))})",
                    [encoder, kind, *chunk],
                )
                for key, blob in rows:
                    found[bytes(key)] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def put_many(
        self, encoder: str, kind: Kind, keys: Sequence[bytes], vectors: np.ndarray
    ) -> None:
        """Store vectors (an existing entry for a key is kept: it holds the same vector).

        Raises:
            ValueError: keys and vectors differ in number.
            EmbeddingCacheError: an unwritable cache file.
        """
        matrix = np.asarray(vectors, dtype="<f4")
        if matrix.ndim != 2 or matrix.shape[0] != len(keys):
            raise ValueError(f"{len(keys)} keys for vectors of shape {matrix.shape}")
        if not keys:
            return
        rows = [(encoder, kind, key, row.tobytes()) for key, row in zip(keys, matrix, strict=True)]
        with self._lock, self._connect() as connection, connection:  # one transaction
            connection.executemany(f"INSERT OR IGNORE INTO {_TABLE} VALUES (?, ?, ?, ?)", rows)

    def count(self, encoder: str | None = None, kind: Kind | None = None) -> int:
        """How many vectors are stored (for one encoder and kind when given)."""
        if not self.path.exists():
            return 0
        query, params = f"SELECT COUNT(*) FROM {_TABLE} WHERE 1 = 1", list[str]()
        if encoder is not None:
            query, params = query + " AND encoder = ?", [*params, encoder]
        if kind is not None:
            query, params = query + " AND kind = ?", [*params, kind]
        with self._connect() as connection:
            return int(connection.execute(query, params).fetchone()[0])

    def embed(
        self,
        encoder: str,
        kind: Kind,
        texts: Sequence[str],
        compute: Callable[[Sequence[str]], np.ndarray],
    ) -> np.ndarray:
        """The vectors of ``texts``: cached ones read, the others computed (once each) and stored.

        Args:
            encoder: the encoder's fingerprint.
            kind: query or passage.
            texts: the texts, in order (repeats are computed once).
            compute: embeds a list of texts, one row each.

        Returns:
            One float32 row per text, in order.
        """
        if not texts:
            return np.asarray(compute([]), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found = self.get_many(encoder, kind, keys)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        todo = list(missing.items())
        for start in range(0, len(todo), _STORE_EVERY):  # stored as it goes: an interrupted
            part = todo[start : start + _STORE_EVERY]  # run keeps what it computed
            computed = np.asarray(compute([t for _, t in part]), dtype=np.float32)
            self.put_many(encoder, kind, [k for k, _ in part], computed)
            found.update(zip([k for k, _ in part], computed, strict=True))
        return np.stack([found[k] for k in keys])


class TextEncoder(Protocol):
    """What the cache wraps: ``retrieval.embedder.Embedder`` (ml sits beside retrieval, so the
    protocol is restated here rather than imported)."""

    @property
    def fingerprint(self) -> str: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def warm_up(self) -> None: ...


class CachedEmbedder:
    """An encoder whose vectors go through an ``EmbeddingCache`` (an ``Embedder`` itself).

    For training and ingest only: never give it live customer messages.

    Args:
        inner: the encoder that computes what the cache lacks.
        cache: the cache.
    """

    def __init__(self, inner: TextEncoder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache

    @property
    def fingerprint(self) -> str:
        """The wrapped encoder's (the cache changes no vector)."""
        return self.inner.fingerprint

    def warm_up(self) -> None:
        """Load the wrapped encoder."""
        self.inner.warm_up()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, from the cache where it has them."""
        return self.cache.embed(self.inner.fingerprint, "query", texts, self.inner.embed_queries)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, from the cache where it has them."""
        return self.cache.embed(self.inner.fingerprint, "passage", texts, self.inner.embed_passages)
