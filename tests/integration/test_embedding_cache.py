"""The persistent embedding cache in use: ingest and training share it, live queries never reach
it, and the real encoder gives a text the same bits whatever it is embedded with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accounts.passwords import PasswordHashing
from core.models import SearchRequest
from ml.embedding_cache import CachedEmbedder, EmbeddingCache
from retrieval.embedder import SentenceTransformerEmbedder
from services.root import Services
from tests.conftest import SessionDatabases, migrated_settings
from tests.fakes import FakeEmbedder, QueryRecordingEmbedder
from tests.integration.test_ingest import CASES, CLAUSES

pytestmark = pytest.mark.integration


def _services(tmp_path: Path, name: str, databases: SessionDatabases, cache: Path) -> Services:
    settings = migrated_settings(tmp_path / name, databases, training_cache=cache)
    return Services(
        settings, embedder=QueryRecordingEmbedder(), passwords=PasswordHashing.fast_for_tests()
    )


def test_ingest_shares_passage_vectors_and_live_queries_stay_out(
    tmp_path: Path, migrated_database: SessionDatabases
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    (kb / "cases.jsonl").write_text(CASES, encoding="utf-8")
    cache_dir = tmp_path / "cache"
    cache = EmbeddingCache.within(cache_dir)

    first = _services(tmp_path, "first", migrated_database, cache_dir)
    assert isinstance(first.training_embedder, CachedEmbedder)
    assert not isinstance(first.embedder, CachedEmbedder)  # what live traffic is embedded with
    report = first.ingest.ingest([kb])
    stored = cache.count("fake-v1", "passage")
    assert stored == report.chunks_embedded > 0

    # a second data directory (the test session after `make setup`) embeds nothing again
    second = _services(tmp_path, "second", migrated_database, cache_dir)
    assert second.ingest.ingest([kb]).chunks_embedded == report.chunks_embedded
    assert second.embedder.embedded == []  # type: ignore[attr-defined]
    request = SearchRequest(query="车被水淹了", k=5)
    hits = [[h.id for h in s.retriever().search(request).hits] for s in (first, second)]
    assert hits[0] == hits[1] and hits[0]

    # the customer's query was embedded, live, and never stored
    assert second.embedder.queries == ["车被水淹了"]  # type: ignore[attr-defined]
    assert cache.count(kind="query") == 0
    assert cache.count() == stored


def test_no_cache_setting_means_the_plain_encoder(
    tmp_path: Path, migrated_database: SessionDatabases
) -> None:
    settings = migrated_settings(tmp_path / "var", migrated_database, training_cache=None)
    services = Services(settings, embedder=FakeEmbedder())
    assert services.training_embedder is services.embedder


MIXED = [
    "转人工",  # short texts are the ones a batch of one used to give other bits
    "你好",
    "我要投诉你们的查勘员",
    "我要投诉你们的查勘员",  # a repeat
    "车险理赔一般几天能到账？",
    "保险人依照本保险合同的约定，负责赔偿被保险人因暴雨、洪水导致的损失。",
]


@pytest.mark.slow
def test_the_real_encoder_gives_the_same_bits_alone_batched_and_cached(
    model_dir: Path, tmp_path: Path
) -> None:
    plain = SentenceTransformerEmbedder(model_dir)
    together = plain.embed_queries(MIXED)
    alone = np.vstack([plain.embed_queries([t]) for t in MIXED])
    assert together.dtype == np.float32 and together.tobytes() == alone.tobytes()
    passages = plain.embed_passages(MIXED)

    cached = CachedEmbedder(plain, EmbeddingCache(tmp_path / "cache.sqlite"))
    cached.embed_queries(MIXED[::2])  # part of them first: the rest is computed in other batches
    for _ in range(2):
        assert cached.embed_queries(MIXED).tobytes() == together.tobytes()
        assert cached.embed_passages(MIXED).tobytes() == passages.tobytes()
