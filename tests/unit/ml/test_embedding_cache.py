"""The embedding cache: bit-identical vectors, each text embedded once, safe across processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ml.embedding_cache import CachedEmbedder, EmbeddingCache, EmbeddingCacheError, text_key
from tests.fakes import FakeEmbedder

TEXTS = ["我要投诉", "怎么续保", "我要投诉", "车险理赔进度", "你好"]


class CountingEmbedder(FakeEmbedder):
    """The fake encoder, recording every query it computes."""

    def __init__(self, fingerprint: str = "fake-v1") -> None:
        super().__init__(fingerprint=fingerprint)
        self.queries: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return super().embed_queries(texts)


def test_vectors_are_bit_identical_with_and_without_the_cache(tmp_path: Path) -> None:
    plain = FakeEmbedder()
    cached = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path / "cache.sqlite"))
    expected_q, expected_p = plain.embed_queries(TEXTS), plain.embed_passages(TEXTS)
    for _ in range(2):  # the first pass computes and stores, the second reads
        queries, passages = cached.embed_queries(TEXTS), cached.embed_passages(TEXTS)
        assert queries.dtype == np.float32 and queries.tobytes() == expected_q.tobytes()
        assert passages.tobytes() == expected_p.tobytes()
    partly = cached.embed_queries(["新的一句", *TEXTS[:2]])  # hits and misses in one call
    assert partly.tobytes() == plain.embed_queries(["新的一句", *TEXTS[:2]]).tobytes()


def test_each_text_is_embedded_once_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = CountingEmbedder()
    CachedEmbedder(first, EmbeddingCache(path)).embed_queries(TEXTS)
    assert sorted(first.queries) == sorted(set(TEXTS))  # a repeat inside one call: once
    second = CountingEmbedder()
    CachedEmbedder(second, EmbeddingCache(path)).embed_queries([*TEXTS, "新的一句"])
    assert second.queries == ["新的一句"]


def test_an_interrupted_run_keeps_what_it_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ml.embedding_cache._STORE_EVERY", 2)
    failing = CountingEmbedder()
    failing.fail_after = 4  # the fake encoder's passage failure: after four passages
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    texts = [f"第{i}段" for i in range(7)]
    with pytest.raises(RuntimeError, match="simulated"):
        CachedEmbedder(failing, cache).embed_passages(texts)
    assert cache.count("fake-v1", "passage") == 4
    again = FakeEmbedder()
    vectors = CachedEmbedder(again, cache).embed_passages(texts)
    assert again.embedded == texts[4:]
    assert vectors.tobytes() == FakeEmbedder().embed_passages(texts).tobytes()


def test_the_key_holds_the_encoder_and_the_kind(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    CachedEmbedder(CountingEmbedder("enc-a"), cache).embed_queries(TEXTS)
    other = CountingEmbedder("enc-b")
    CachedEmbedder(other, cache).embed_queries(TEXTS)
    assert sorted(other.queries) == sorted(set(TEXTS))  # another encoder: nothing reused
    assert cache.count("enc-a", "query") == cache.count("enc-b", "query") == len(set(TEXTS))
    assert cache.count("enc-a", "passage") == 0
    keys = [text_key(t) for t in TEXTS]
    assert cache.get_many("enc-a", "passage", keys) == {}


def test_nothing_to_embed_is_passed_through(tmp_path: Path) -> None:
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path / "cache.sqlite"))
    with pytest.raises(ValueError):  # exactly what the encoder does with no texts
        inner.embed_queries([])
    with pytest.raises(ValueError):
        cached.embed_queries([])
    assert cached.fingerprint == inner.fingerprint


def _fill(path: str, start: int) -> None:
    texts = [f"第{i}条" for i in range(start, start + 200)]
    CachedEmbedder(FakeEmbedder(), EmbeddingCache(Path(path))).embed_queries(texts)


def test_several_processes_fill_one_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    # fork: a spawned child re-runs the parent's __main__, which after a page test is a page script
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_fill, args=(str(path), s)) for s in (0, 100, 150)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    cache = EmbeddingCache(path)
    assert cache.count("fake-v1", "query") == 350  # overlapping ranges stored once
    texts = [f"第{i}条" for i in range(350)]
    found = cache.get_many("fake-v1", "query", [text_key(t) for t in texts])
    expected = FakeEmbedder().embed_queries(texts)
    assert np.stack([found[text_key(t)] for t in texts]).tobytes() == expected.tobytes()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_corrupted_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EmbeddingCacheError, match="delete it") as caught:
        CachedEmbedder(FakeEmbedder(), EmbeddingCache(path)).embed_queries(TEXTS)
    assert str(path) in str(caught.value)


def test_keys_and_vectors_must_match(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    with pytest.raises(ValueError, match="2 keys"):
        cache.put_many("enc", "query", [b"a", b"b"], np.zeros((3, 4), np.float32))
