"""Shared fixtures: temp data dirs, fake-embedder services, the real embedded model when built."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from accounts.passwords import PasswordHashing
from core.settings import PROJECT_ROOT, Settings
from db.migrate import upgrade
from services.root import Services
from tests.fakes import FakeEmbedder

MODEL_DIR = Path(
    os.environ.get("POLICYDESK_EMBEDDING_MODEL", PROJECT_ROOT / "models" / "multilingual-e5-small")
)
SHARED_TRAINING_CACHE = Settings().training_cache
"""The training cache ``make setup`` fills (or POLICYDESK_TRAINING_CACHE): the fixtures with the
real encoder read the vectors (and the polarity stage) set-up computed from it."""


@pytest.fixture(autouse=True, scope="session")
def _no_training_cache_unless_asked() -> Iterator[None]:
    """The training cache is off in tests unless a fixture passes it: a test with the fake
    encoder must see every text it embeds, and must not write into the shared cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("POLICYDESK_TRAINING_CACHE", "")
    yield
    patch.undo()


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database brought to the current schema by the real migrations, once; each test
    that needs a database starts from a copy (a file copy instead of a migration run)."""
    path = tmp_path_factory.mktemp("schema") / "policydesk.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def migrated_data_dir(data_dir: Path, template: Path) -> Path:
    """``data_dir`` with a copy of the migrated database in it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data_dir / "policydesk.db")
    return data_dir


@pytest.fixture
def migrated_engine(tmp_path: Path, migrated_database: Path) -> Iterator[Engine]:
    """An engine over a fresh database at the current schema (for tests of one store)."""
    path = migrated_data_dir(tmp_path / "db", migrated_database) / "policydesk.db"
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    """A temp data dir with a database at the current schema (nothing ingested)."""
    data_dir = migrated_data_dir(tmp_path / "var", migrated_database)
    return Settings(data_dir=data_dir, embedding_model=MODEL_DIR)


@pytest.fixture
def fake_services(settings: Settings, fake_embedder: FakeEmbedder) -> Iterator[Services]:
    """Real SQLite and real chromadb in a temp dir, with the fake embedder."""
    services = Services(
        settings, embedder=fake_embedder, passwords=PasswordHashing.fast_for_tests()
    )
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
    settings = Settings(
        data_dir=data_dir, embedding_model=model_dir, training_cache=SHARED_TRAINING_CACHE
    )
    services = Services(settings)  # ingest reads the passage vectors `make setup` cached
    services.upgrade_database()
    services.ingest.ingest(DEMO_SOURCES)
    yield services
    services.engine.dispose()


@pytest.fixture(scope="session")
def emotion_services(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """Services with the real encoder and the trained caller-emotion artefact (from make setup),
    on an empty data dir: the shipped files serve alone."""
    data_dir = tmp_path_factory.mktemp("emotion") / "var"
    settings = Settings(data_dir=data_dir, embedding_model=model_dir)
    if not (settings.sentiment_model / "manifest.json").exists():
        pytest.fail(
            f"caller-emotion model not trained at {settings.sentiment_model}: run make setup"
        )
    return Services(settings)
