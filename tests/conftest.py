"""Shared fixtures: temp data dirs, fake-embedder services, the real embedded model when built;
and the markers every test gets from the fixtures it uses (``pytest_collection_modifyitems``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
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


# The fixtures below that load a real model: the e5 encoder or a trained artefact. A test using
# one of them, directly or through another fixture, is marked ``model`` (hence ``slow``).
MODEL_FIXTURES = frozenset({"model_dir", "trained_models", "demo_services", "emotion_services"})
# every database fixture starts from this one: a test using it runs on real SQLite
DATABASE_FIXTURE = "migrated_database"
INTEGRATION_TESTS = Path(__file__).resolve().parent / "integration"
DATA_TESTS = Path(__file__).resolve().parent / "data"
E2E_TESTS = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it really does, so that ``-m "not slow"`` keeps every model out
    and ``-m "not e2e"`` every browser.

    * ``model`` (and ``slow``, ``integration``): it uses a model fixture; a module or class that
      loads a model some other way declares ``pytest.mark.model`` itself and gets the other two.
    * ``e2e`` (and ``slow``, ``integration``): it lives under ``tests/e2e`` (a real browser against
      real servers).
    * ``integration``: it lives under ``tests/integration`` or runs on a real SQLite database.
    * ``data``: it lives under ``tests/data`` (checks of the shipped, trainer-editable files).
    """
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if item.path.is_relative_to(E2E_TESTS):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("model") is not None:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.integration)
        if DATABASE_FIXTURE in used or item.path.is_relative_to(INTEGRATION_TESTS):
            item.add_marker(pytest.mark.integration)
        if item.path.is_relative_to(DATA_TESTS):
            item.add_marker(pytest.mark.data)


def require_built(done_file: Path, what: str, how: str = "run `make setup`") -> None:
    """Skip the test when ``make setup`` has not built a model artefact (or another thing the
    build provides is missing); under CI, fail instead.

    CI runs ``make setup`` (and ``make test-e2e`` installs the browser) before the tests, so a
    missing artefact there is a broken build, and a skip would hide exactly the tests that need it.

    Args:
        done_file: the file the finished artefact has (``.complete``, ``manifest.json``).
        what: the artefact, as the message names it.
        how: what brings it, as the message says.
    """
    if done_file.exists():
        return
    message = f"{what} is missing ({done_file}): {how}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing model fails the run)", pytrace=False)
    pytest.skip(message)


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
    """The embedded e5 encoder's directory."""
    require_built(MODEL_DIR / ".complete", "the embedded model")
    return MODEL_DIR


@pytest.fixture(scope="session")
def trained_models(model_dir: Path) -> Path:
    """The embedded encoder's directory, once the artefacts ``make setup`` trains on it are there
    too: the caller-emotion model and the handoff detector (the chatbot and the live-call
    assistant load both)."""
    settings = Settings(embedding_model=model_dir)
    require_built(settings.sentiment_model / "manifest.json", "the caller-emotion model")
    require_built(settings.routing_model / "manifest.json", "the handoff detector")
    require_built(settings.ranker_model / "manifest.json", "the card ranker")
    require_built(settings.guard_model / "manifest.json", "the guard's judge")
    return model_dir


DEMO_SOURCES = [PROJECT_ROOT / "data" / "clauses", PROJECT_ROOT / "data" / "cases"]


@pytest.fixture(scope="session")
def demo_services(
    trained_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """The demo knowledge base ingested once per session with the real embedded model."""
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    settings = Settings(
        data_dir=data_dir, embedding_model=trained_models, training_cache=SHARED_TRAINING_CACHE
    )
    services = Services(settings)  # ingest reads the passage vectors `make setup` cached
    services.upgrade_database()
    services.ingest.ingest(DEMO_SOURCES)
    yield services
    services.engine.dispose()


def with_private_database(settings: Settings, folder: Path, **updates: object) -> Settings:
    """The settings over a private copy of their SQLite database (the Chroma index stays shared,
    read-only): what a test writes never reaches the other tests' queue or accounts."""
    copy = folder / "policydesk-copy.db"
    source = sqlite3.connect(settings.data_dir / "policydesk.db")
    target = sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return settings.model_copy(update={"database_url": f"sqlite:///{copy}", **updates})


@pytest.fixture(scope="session")
def emotion_services(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """Services with the real encoder and the trained caller-emotion artefact (from make setup),
    on an empty data dir: the shipped files serve alone."""
    data_dir = tmp_path_factory.mktemp("emotion") / "var"
    settings = Settings(data_dir=data_dir, embedding_model=model_dir)
    require_built(settings.sentiment_model / "manifest.json", "the caller-emotion model")
    return Services(settings)
