"""Shared fixtures: temp data dirs, fake-embedder services, the real embedded model when built."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services import Services
from core.settings import PROJECT_ROOT, Settings
from tests.fakes import FakeEmbedder

MODEL_DIR = Path(
    os.environ.get("POLICYDESK_EMBEDDING_MODEL", PROJECT_ROOT / "models" / "multilingual-e5-small")
)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", embedding_model=MODEL_DIR)


@pytest.fixture
def fake_services(settings: Settings, fake_embedder: FakeEmbedder) -> Iterator[Services]:
    """Real SQLite and real chromadb in a temp dir, with the fake embedder."""
    services = Services(settings)
    services.__dict__["embedder"] = fake_embedder  # override the cached_property
    yield services
    services.engine.dispose()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL_DIR / ".complete").exists():
        pytest.fail(f"embedded model not built at {MODEL_DIR}: run `make setup` first")
    return MODEL_DIR


DEMO_SOURCES = [PROJECT_ROOT / "data" / "clauses", PROJECT_ROOT / "data" / "cases"]


@pytest.fixture(scope="session")
def demo_services(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The demo knowledge base ingested once per session with the real embedded model."""
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    services = Services(Settings(data_dir=data_dir, embedding_model=model_dir))
    services.ingest.ingest(DEMO_SOURCES)
    yield services
    services.engine.dispose()


@pytest.fixture(scope="session")
def emotion_services(model_dir: Path) -> Services:
    """Services with the real encoder and the trained caller-emotion artefact (from make setup)."""
    settings = Settings(embedding_model=model_dir)
    if not (settings.sentiment_model / "manifest.json").exists():
        pytest.fail(
            f"caller-emotion model not trained at {settings.sentiment_model}: run make setup"
        )
    return Services(settings)
