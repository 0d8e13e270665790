"""The composition root builds the encoder from settings: batched by default, stopped by close()."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ModelNotReadyError
from core.settings import Settings
from retrieval.batching import BatchingEmbedder
from retrieval.embedder import SentenceTransformerEmbedder
from services.root import Services
from tests.fakes import FakeEmbedder


def _settings(tmp_path: Path, **updates: object) -> Settings:
    # no model there: nothing in these tests may load one
    settings = Settings(data_dir=tmp_path / "var", embedding_model=tmp_path / "no-model")
    return settings.model_copy(update=updates)


def test_the_encoder_is_batched_by_default_and_close_stops_its_thread(tmp_path: Path) -> None:
    services = Services(_settings(tmp_path, encoder_queue_limit=5, encoder_retry_after=2))
    embedder = services.embedder
    assert isinstance(embedder, BatchingEmbedder)
    # an error of the wrapped encoder reaches the caller through the encoder thread
    with pytest.raises(ModelNotReadyError):
        embedder.embed_queries(["车损险"])
    assert embedder.running
    services.close()
    assert not embedder.running
    services.close()  # idempotent


def test_no_wait_means_no_batching_thread(tmp_path: Path) -> None:
    services = Services(_settings(tmp_path, encoder_batch_wait_ms=0))
    assert isinstance(services.embedder, SentenceTransformerEmbedder)
    services.close()  # nothing to stop


def test_an_injected_encoder_is_used_as_given(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    services = Services(_settings(tmp_path), embedder=fake)
    assert services.embedder is fake
    services.close()
