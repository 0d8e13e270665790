"""Shared fixtures: temp data dirs, fake-embedder services, the real embedded model when built;
and the markers every test gets from the fixtures it uses (``pytest_collection_modifyitems``)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, MetaData, create_engine, make_url, text

from accounts.passwords import PasswordHashing
from core.settings import PROJECT_ROOT, Settings
from db.migrate import upgrade
from retrieval.chroma_index import drop_server_database
from services.root import Services
from tests.fakes import FakeEmbedder

MODEL_DIR = Path(
    os.environ.get("POLICYDESK_EMBEDDING_MODEL", PROJECT_ROOT / "models" / "multilingual-e5-small")
)
SERVER_URL = os.environ.get("POLICYDESK_TEST_DATABASE_URL") or None
"""A PostgreSQL server's admin database (``postgresql+psycopg://postgres@host:port/postgres``):
every database fixture then runs on a fresh database there (``make test-engines``)."""
CHROMA_URL = os.environ.get("POLICYDESK_TEST_CHROMA_URL") or None
"""A Chroma server (``http://host:port``): the fixtures' indexes then live in databases there."""
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
    * ``engines``: it uses a database fixture (hence also the fixtures' index), so it runs on
      PostgreSQL and a Chroma server under ``make test-engines``.
    * ``data``: it lives under ``tests/data`` (checks of the shipped, trainer-editable files).
    * a ``sqlite_only(reason=...)`` test is skipped, with its reason, when the database fixtures
      run on a PostgreSQL server (``POLICYDESK_TEST_DATABASE_URL``).
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
        if DATABASE_FIXTURE in used:
            item.add_marker(pytest.mark.engines)
        if item.path.is_relative_to(DATA_TESTS):
            item.add_marker(pytest.mark.data)
        only_sqlite = item.get_closest_marker("sqlite_only")
        if SERVER_URL is not None and only_sqlite is not None:
            reason = only_sqlite.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


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


class SessionDatabases:
    """The databases of one test session: a template at the current schema, migrated once, and
    fresh copies of it for tests.

    On SQLite (the default) the template is a file and a copy is a file copy. When
    ``POLICYDESK_TEST_DATABASE_URL`` names a PostgreSQL server (its admin database), the template
    is a database there and a copy is ``CREATE DATABASE ... TEMPLATE``; when
    ``POLICYDESK_TEST_CHROMA_URL`` names a Chroma server, each copy's settings also get that
    server and a database of their own on it. What a test creates is dropped after it.
    """

    def __init__(self, folder: Path) -> None:
        self._created: list[str] = []
        self._chroma_created: list[str] = []
        if SERVER_URL is None:
            self.template: str = f"sqlite:///{folder / 'policydesk.db'}"
        else:
            self._admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
            self.template = self._create(f"template_{uuid.uuid4().hex[:12]}", None)
        engine = create_engine(self.template)
        upgrade(engine)
        engine.dispose()

    def _create(self, name: str, template: str | None) -> str:
        with self._admin.connect() as connection:
            if template is not None:  # a template must have no other session connected
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": template},
                )
            connection.execute(
                text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            )
        return make_url(str(SERVER_URL)).set(database=name).render_as_string(hide_password=False)

    def copy(self, source: str, folder: Path, keep: bool = False) -> str:
        """A new database with what ``source`` holds; its URL.

        Args:
            source: the URL of the database to copy.
            folder: where a SQLite copy is written (created when missing).
            keep: keep it for the session (a session fixture's database) rather than dropping it
                when the running test ends.
        """
        if SERVER_URL is None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "policydesk.db"
            if path.exists():
                path = folder / f"policydesk-{uuid.uuid4().hex[:8]}.db"
            backup_sqlite(Path(make_url(source).database or ""), path)
            return f"sqlite:///{path}"
        url = self._create(f"t_{uuid.uuid4().hex}", make_url(source).database)
        if not keep:
            self._created.append(url)
        return url

    def empty(self, folder: Path) -> str:
        """A new database with nothing in it (for a test of the migrations); its URL."""
        if SERVER_URL is None:
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{folder / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        url = self._create(f"t_{uuid.uuid4().hex}", None)
        self._created.append(url)
        return url

    def fresh(self, folder: Path, keep: bool = False) -> str:
        """A new database at the current schema; its URL (see ``copy``)."""
        return self.copy(self.template, folder, keep=keep)

    def engine_settings(self, folder: Path, keep: bool = False) -> dict[str, object]:
        """The settings that put a test on engines of its own: ``data_dir`` (``folder``) with a
        fresh database and, on a Chroma server, a fresh Chroma database."""
        updates: dict[str, object] = {"data_dir": folder}
        url = self.fresh(folder, keep=keep)
        if url != f"sqlite:///{folder / 'policydesk.db'}":  # not the data dir's default
            updates["database_url"] = url
        updates.update(self.chroma_settings(keep=keep))
        return updates

    def chroma_settings(self, keep: bool = False) -> dict[str, object]:
        """On a Chroma server: its URL and a new database name there; else nothing."""
        if CHROMA_URL is None:
            return {}
        name = f"t_{uuid.uuid4().hex}"
        if not keep:
            self._chroma_created.append(name)
        return {"chroma_url": CHROMA_URL, "chroma_database": name}

    def drop_created(self) -> None:
        """Drop what the running test created (its engines are disposed by now)."""
        created, self._created = self._created, []
        for url in created:
            self._drop(make_url(url).database or "")
        chroma, self._chroma_created = self._chroma_created, []
        for name in chroma:
            drop_server_database(str(CHROMA_URL), name)

    def _drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop everything left on the servers (session end)."""
        if SERVER_URL is None:
            return
        self.drop_created()
        with self._admin.connect() as connection:
            names = connection.execute(
                text(
                    "SELECT datname FROM pg_database "
                    "WHERE datname LIKE 't\\_%' OR datname LIKE 'template\\_%'"
                )
            ).scalars()
            for name in list(names):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), as SQLite's backup makes it."""
    reading = sqlite3.connect(source)
    writing = sqlite3.connect(target)
    with writing:
        reading.backup(writing)
    reading.close()
    writing.close()


_SESSION_DATABASES: list[SessionDatabases] = []


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionDatabases]:
    """The session's databases: a template brought to the current schema by the real migrations,
    once; each test that needs a database starts from a copy (a file copy on SQLite, ``CREATE
    DATABASE ... TEMPLATE`` on PostgreSQL) instead of a migration run."""
    databases = SessionDatabases(tmp_path_factory.mktemp("schema"))
    _SESSION_DATABASES.append(databases)
    yield databases
    _SESSION_DATABASES.remove(databases)
    databases.close()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """After each test (and after its fixtures closed their engines): drop the server databases
    it created. Nothing to do on SQLite, whose copies live in the test's temp dir."""
    yield
    for databases in _SESSION_DATABASES:
        databases.drop_created()


def migrated_settings(folder: Path, databases: SessionDatabases, **updates: object) -> Settings:
    """Settings over ``folder`` as data dir with a fresh database at the current schema (and on
    a Chroma server a database of their own), plus ``updates``."""
    return Settings(**{**databases.engine_settings(folder), **updates})  # type: ignore[arg-type]


@pytest.fixture
def migrated_engine(tmp_path: Path, migrated_database: SessionDatabases) -> Iterator[Engine]:
    """An engine over a fresh database at the current schema (for tests of one store)."""
    engine = create_engine(migrated_database.fresh(tmp_path / "db"))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(
    tmp_path: Path, migrated_database: SessionDatabases, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A temp data dir with a database at the current schema (nothing ingested).

    On engines, the environment names the same database and Chroma database too: a command the
    test runs with ``--data-dir`` (in process or as a child) reaches what the fixture made."""
    made = migrated_settings(tmp_path / "var", migrated_database, embedding_model=MODEL_DIR)
    if made.database_url is not None:
        monkeypatch.setenv("POLICYDESK_DATABASE_URL", made.database_url)
    if made.chroma_url is not None:
        monkeypatch.setenv("POLICYDESK_CHROMA_URL", made.chroma_url)
        monkeypatch.setenv("POLICYDESK_CHROMA_DATABASE", made.chroma_database)
    return made


@pytest.fixture
def fake_services(settings: Settings, fake_embedder: FakeEmbedder) -> Iterator[Services]:
    """Real SQLite (or PostgreSQL) and real chromadb (or a Chroma server) with the fake
    embedder."""
    services = Services(
        settings, embedder=fake_embedder, passwords=PasswordHashing.fast_for_tests()
    )
    yield services
    services.engine.dispose()


@dataclass(frozen=True)
class ReportingCustomer:
    """A demo customer who can report an accident in the chat, and what proves it is them."""

    customer_id: str
    policy_no: str
    phone_last4: str

    @property
    def identity(self) -> str:
        """The identity message the bot asks for: "P2026000010 9528"."""
        return f"{self.policy_no} {self.phone_last4}"


def reporting_customer(services: Services) -> ReportingCustomer:
    """The first demo customer with exactly one policy, in force today on the centre's calendar
    (so that a report asks for no vehicle), read from the services' database.

    Raises:
        LookupError: no such customer among the first 200.
    """
    from customers.models import RevealableField

    store = services.customers
    today = datetime.now(ZoneInfo(services.settings.centre_timezone)).date()
    for summary in store.list(200):
        policies = store.profile(summary.id).policies
        if len(policies) == 1 and policies[0].in_force(today):
            phone = store.identifier(summary.id, RevealableField.PHONE)
            return ReportingCustomer(summary.id, policies[0].policy_no, phone[-4:])
    raise LookupError(f"no demo customer has exactly one policy in force on {today}")


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
    trained_models: Path,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_database: SessionDatabases,
) -> Iterator[Services]:
    """The demo knowledge base ingested once per session with the real embedded model."""
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    settings = Settings(
        **migrated_database.engine_settings(data_dir, keep=True),  # type: ignore[arg-type]
        embedding_model=trained_models,
        training_cache=SHARED_TRAINING_CACHE,
    )
    services = Services(settings)  # ingest reads the passage vectors `make setup` cached
    services.upgrade_database()
    services.ingest.ingest(DEMO_SOURCES)
    yield services
    services.engine.dispose()


@pytest.fixture(autouse=True)
def _commands_reach_the_demo_engines(request: pytest.FixtureRequest) -> Iterator[None]:
    """On engines, a test of the demo data dir gets the demo's database and Chroma database in
    the environment too: a command it runs with ``--data-dir`` reaches them, as on SQLite the
    data dir alone does."""
    if (SERVER_URL is None and CHROMA_URL is None) or "demo_services" not in request.fixturenames:
        yield
        return
    demo: Services = request.getfixturevalue("demo_services")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in engine_environment(demo.settings).items():
            patch.setenv(name, value)
        yield


def engine_environment(settings: Settings) -> dict[str, str]:
    """The variables that point a process (a command, a child) at these settings' engines."""
    found = {}
    if settings.database_url is not None:
        found["POLICYDESK_DATABASE_URL"] = settings.database_url
    if settings.chroma_url is not None:
        found["POLICYDESK_CHROMA_URL"] = settings.chroma_url
        found["POLICYDESK_CHROMA_DATABASE"] = settings.chroma_database
    return found


def stored_text(url: str) -> str:
    """Every row of every table of a database as text: what a test that must not find a secret
    stored anywhere searches, on SQLite and PostgreSQL alike."""
    engine = create_engine(url)
    try:
        schema = MetaData()
        schema.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(
                " ".join(json.dumps(value, ensure_ascii=False, default=str) for value in row)
                for table in schema.sorted_tables
                for row in conn.execute(table.select())
            )
    finally:
        engine.dispose()


def private_demo(demo: Services, folder: Path) -> Settings:
    """The demo settings over a private copy of the whole demo data: the database and the index
    (for a test that re-ingests). On SQLite a copy of the data dir; on engines a fresh database
    and Chroma database, ingested again (from the vectors the session's ingest cached)."""
    data_dir = folder / "var"
    if SERVER_URL is None and CHROMA_URL is None:
        shutil.copytree(demo.settings.data_dir, data_dir)
        return demo.settings.model_copy(update={"data_dir": data_dir})
    (databases,) = _SESSION_DATABASES
    settings = demo.settings.model_copy(update=databases.engine_settings(data_dir))
    Services(settings, embedder=demo.embedder).ingest.ingest(DEMO_SOURCES)
    return settings


def with_private_database(settings: Settings, folder: Path, **updates: object) -> Settings:
    """The settings over a private copy of their database (the Chroma index stays shared,
    read-only): what a test writes never reaches the other tests' queue or accounts.

    On a server the copy lasts the session (module fixtures make most of them)."""
    (databases,) = _SESSION_DATABASES  # the settings came from a fixture built on it
    copy = databases.copy(settings.sqlalchemy_url(), folder, keep=True)
    return settings.model_copy(update={"database_url": copy, **updates})


@pytest.fixture(scope="session")
def emotion_services(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """Services with the real encoder and the trained caller-emotion artefact (from make setup),
    on an empty data dir: the shipped files serve alone."""
    data_dir = tmp_path_factory.mktemp("emotion") / "var"
    settings = Settings(data_dir=data_dir, embedding_model=model_dir)
    require_built(settings.sentiment_model / "manifest.json", "the caller-emotion model")
    return Services(settings)
