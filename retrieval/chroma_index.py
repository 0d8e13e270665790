"""The chunk vector index in Chroma. The only module that imports chromadb.

A persistent local directory by default; a Chroma server when a URL is configured. chromadb
types never leave this module: callers get ``DenseMatch`` tuples and plain arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np

from core.errors import ConfigurationError
from core.models import Chunk, Passage, SearchFilters
from retrieval.embedder import Embedder

COLLECTION_PREFIX = "kb_"
DEFAULT_TENANT = "default_tenant"
DEFAULT_DATABASE = "default_database"
"""chromadb's own default tenant and database names (a server's index lives there unless
``chroma_database`` says otherwise)."""
_NO_DATE_FROM = 0
_NO_DATE_TO = 99991231


@dataclass(frozen=True)
class DenseMatch:
    """A chunk found by vector similarity (cosine, higher is closer)."""

    chunk_id: str
    passage_id: str
    similarity: float


def _date_int(value: date | None, default: int) -> int:
    return value.year * 10000 + value.month * 100 + value.day if value else default


def chunk_metadata(chunk: Chunk, passage: Passage) -> dict[str, str | int]:
    """The filterable fields stored beside each vector."""
    return {
        "passage_id": passage.id,
        "kind": passage.kind.value,
        "product": passage.product,
        "effective": _date_int(passage.effective_date, _NO_DATE_FROM),
        "expiry": _date_int(passage.expiry_date, _NO_DATE_TO),
        "seq": chunk.seq,
    }


def filters_to_where(filters: SearchFilters) -> dict[str, Any] | None:
    """Translate search filters into a Chroma ``where`` clause (None when unfiltered)."""
    clauses: list[dict[str, Any]] = []
    if filters.kinds:
        clauses.append({"kind": {"$in": [k.value for k in filters.kinds]}})
    if filters.products:
        clauses.append({"product": {"$in": list(filters.products)}})
    if filters.as_of is not None:
        on = _date_int(filters.as_of, 0)
        clauses.append({"effective": {"$lte": on}})
        clauses.append({"expiry": {"$gt": on}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _chroma_settings(**overrides: Any) -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **overrides)


def _server_address(url: str) -> tuple[str, int, bool]:
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or port == -1:
        raise ConfigurationError(f"POLICYDESK_CHROMA_URL must be http(s)://host:port, got {url!r}")
    https = parsed.scheme == "https"
    return parsed.hostname, port or (443 if https else 8000), https


def _admin_client(url: str) -> Any:
    import chromadb

    host, port, https = _server_address(url)
    return chromadb.AdminClient(
        _chroma_settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host=host,
            chroma_server_http_port=port,
            chroma_server_ssl_enabled=https,
        )
    )


def _server_client(url: str, database: str) -> Any:
    """A client of ``database`` on the server at ``url``, creating the database when missing.

    Raises:
        ConfigurationError: bad URL, no server answering, or the database cannot be made.
    """
    import chromadb
    from chromadb.errors import ChromaError, NotFoundError

    host, port, https = _server_address(url)
    try:
        admin = _admin_client(url)
        try:
            admin.get_database(database, tenant=DEFAULT_TENANT)
        except NotFoundError:
            try:
                admin.create_database(database, tenant=DEFAULT_TENANT)
            except ChromaError as exc:  # another process created it first: fine
                if "already exists" not in str(exc):
                    raise
        return chromadb.HttpClient(
            host=host,
            port=port,
            ssl=https,
            settings=_chroma_settings(),
            tenant=DEFAULT_TENANT,
            database=database,
        )
    except (ChromaError, ValueError, OSError, httpx.HTTPError) as exc:
        # chromadb reports an unreachable server as ValueError or as httpx's transport error
        raise ConfigurationError(
            f"the Chroma server at {url} (database {database!r}) cannot be used: {exc} "
            "(is `chroma run` up there? check POLICYDESK_CHROMA_URL and POLICYDESK_CHROMA_DATABASE)"
        ) from exc


def drop_server_database(url: str, database: str) -> None:
    """Delete a database and all its collections from the Chroma server at ``url`` (for test
    isolation and tear-down; a missing database is not an error).

    Raises:
        ConfigurationError: bad URL or no server answering.
    """
    from chromadb.errors import NotFoundError

    if database == DEFAULT_DATABASE:
        raise ConfigurationError("refusing to drop Chroma's default database")
    try:
        _admin_client(url).delete_database(database, tenant=DEFAULT_TENANT)
    except NotFoundError:
        return
    except (ValueError, OSError, httpx.HTTPError) as exc:
        raise ConfigurationError(f"the Chroma server at {url} does not answer: {exc}") from exc


class _OurEmbeddingFunction:
    """Hands Chroma our embedder, so it never falls back to its downloading default."""

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        if self._embedder is None:
            raise ConfigurationError("this index was opened without an embedder")
        return list(self._embedder.embed_passages(list(input)))

    @staticmethod
    def name() -> str:
        return "policydesk"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _OurEmbeddingFunction:
        return _OurEmbeddingFunction(None)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


class ChromaChunkIndex:
    """Named collections of chunk vectors; the catalog says which one is live."""

    def __init__(self, client: Any, embedder: Embedder | None = None) -> None:
        self._client = client
        self._ef = _OurEmbeddingFunction(embedder)

    @classmethod
    def open(
        cls,
        path: Path,
        url: str | None = None,
        embedder: Embedder | None = None,
        database: str = DEFAULT_DATABASE,
    ) -> ChromaChunkIndex:
        """Open a persistent directory, or a Chroma server when ``url`` is set.

        Args:
            path: the local directory (used when ``url`` is None).
            url: ``http(s)://host:port`` of a Chroma server.
            embedder: what embeds passages added without vectors.
            database: on a server, the database (default tenant) holding the collections;
                created when missing. Ignored for a local directory.

        Raises:
            ConfigurationError: a URL that is not http(s)://host:port, a server that does not
                answer, or a database that cannot be created there.
        """
        import chromadb

        if url:
            client = _server_client(url, database)
        else:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        return cls(client, embedder)

    def _collection(self, name: str) -> Any:
        return self._client.get_collection(name, embedding_function=self._ef)

    def collections(self) -> list[str]:
        """Names of PolicyDesk collections present."""
        return [
            c.name for c in self._client.list_collections() if c.name.startswith(COLLECTION_PREFIX)
        ]

    def has(self, name: str) -> bool:
        """True when the collection exists."""
        return name in self.collections()

    def create(self, name: str) -> None:
        """Create an empty cosine collection."""
        self._client.create_collection(
            name, embedding_function=self._ef, metadata={"hnsw:space": "cosine"}
        )

    def drop(self, name: str) -> None:
        """Delete a collection if it exists."""
        if self.has(name):
            self._client.delete_collection(name)

    def count(self, name: str) -> int:
        """Number of vectors in a collection."""
        return int(self._collection(name).count())

    def add(
        self,
        name: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, str | int]],
        batch: int = 1000,
    ) -> None:
        """Add chunk vectors with their filterable metadata."""
        collection = self._collection(name)
        for start in range(0, len(chunks), batch):
            end = start + batch
            collection.add(
                ids=[c.id for c in chunks[start:end]],
                embeddings=vectors[start:end],
                metadatas=list(metadatas[start:end]),
                documents=[c.text for c in chunks[start:end]],
            )

    def copy(self, source: str, target: str, chunk_ids: Sequence[str], batch: int = 1000) -> None:
        """Copy stored vectors (no re-embedding) of the given chunks between collections."""
        src, dst = self._collection(source), self._collection(target)
        for start in range(0, len(chunk_ids), batch):
            got = src.get(
                ids=list(chunk_ids[start : start + batch]),
                include=["embeddings", "metadatas", "documents"],
            )
            if len(got["ids"]) != len(chunk_ids[start : start + batch]):
                missing = set(chunk_ids[start : start + batch]) - set(got["ids"])
                raise KeyError(f"chunks missing from collection {source}: {sorted(missing)[:5]}")
            dst.add(
                ids=got["ids"],
                embeddings=got["embeddings"],
                metadatas=got["metadatas"],
                documents=got["documents"],
            )

    def query(
        self, name: str, vector: np.ndarray, n: int, filters: SearchFilters | None = None
    ) -> list[DenseMatch]:
        """The ``n`` chunks closest to the vector, closest first, within the filters."""
        collection = self._collection(name)
        result = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n,
            where=filters_to_where(filters) if filters else None,
            include=["distances", "metadatas"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0] if result["distances"] else []
        metas = result["metadatas"][0] if result["metadatas"] else []
        return [
            DenseMatch(chunk_id=i, passage_id=str(m["passage_id"]), similarity=1.0 - float(d))
            for i, d, m in zip(ids, distances, metas, strict=True)
        ]
