"""The database and vector engines the fixtures put a test on, and the index on a Chroma server.

Under ``make test-engines`` (``POLICYDESK_TEST_DATABASE_URL`` and ``POLICYDESK_TEST_CHROMA_URL``
set) every database fixture is a fresh PostgreSQL database and every index a fresh database on a
Chroma server; without them, SQLite files and Chroma directories. These tests check that the
fixtures really are on the engines they claim, and what the index does on either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigurationError
from core.models import SearchRequest
from core.settings import Settings
from services.root import Services
from tests.conftest import CHROMA_URL, SERVER_URL
from tests.fakes import FakeEmbedder
from tests.integration.test_ingest import CASES, CLAUSES

pytestmark = pytest.mark.integration


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    (folder / "cases.jsonl").write_text(CASES, encoding="utf-8")
    return folder


def _top(services: Services, query: str) -> list[str]:
    return [h.id for h in services.retriever().search(SearchRequest(query=query, k=3)).hits]


def test_the_fixtures_run_on_the_engines_the_environment_names(
    fake_services: Services, kb: Path
) -> None:
    fake_services.ingest.ingest([kb])
    dialect = fake_services.engine.dialect.name
    assert dialect == ("postgresql" if SERVER_URL else "sqlite")
    on_server = fake_services.settings.chroma_url is not None
    assert on_server == (CHROMA_URL is not None)
    # an index on the server leaves nothing in the data directory
    assert fake_services.settings.chroma_path.exists() != on_server


def test_each_test_has_an_index_of_its_own(fake_services: Services, kb: Path) -> None:
    fake_services.ingest.ingest([kb])
    other = Services(
        Settings(
            data_dir=kb.parent / "other",
            chroma_url=fake_services.settings.chroma_url,
            chroma_database=f"{fake_services.settings.chroma_database}-x",
        ),
        embedder=FakeEmbedder(),
    )
    assert other.vector_index.collections() == []  # another database: none of these collections
    if CHROMA_URL is not None:
        from retrieval.chroma_index import drop_server_database

        drop_server_database(CHROMA_URL, f"{fake_services.settings.chroma_database}-x")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1", "ftp://127.0.0.1:8000", "http://127.0.0.1:notaport", "localhost"],
)
def test_a_chroma_server_that_cannot_serve_is_a_configuration_error(
    tmp_path: Path, url: str
) -> None:
    services = Services(Settings(data_dir=tmp_path, chroma_url=url), embedder=FakeEmbedder())
    with pytest.raises(ConfigurationError, match=r"Chroma|CHROMA"):
        services.vector_index.collections()


def test_an_ingest_killed_while_adding_vectors_leaves_the_previous_collection_serving(
    fake_services: Services, kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_services.ingest.ingest([kb])
    index = fake_services.vector_index
    (live,) = index.collections()
    before = _top(fake_services, "车被水淹了")
    assert before and before[0] == "t-1"

    real_add = index.add

    def add_then_die(name: str, *args: Any, **kwargs: Any) -> None:
        real_add(name, *args, **kwargs)  # some vectors reach the new collection...
        raise SystemExit("killed")  # ...then the process is killed

    monkeypatch.setattr(index, "add", add_then_die)
    monkeypatch.setattr(index, "drop", lambda name: None)  # a killed process cleans up nothing
    (kb / "clauses.md").write_text(CLAUSES.replace("暴雨", "台风暴雨"), encoding="utf-8")
    with pytest.raises(SystemExit):
        fake_services.ingest.ingest([kb])
    monkeypatch.undo()

    left = set(index.collections())
    assert live in left and len(left) == 2  # the half-built one is left behind
    assert _top(fake_services, "车被水淹了") == before  # the previous one still serves
    report = fake_services.ingest.ingest([kb])  # the next ingest builds it and tidies up
    assert report.updated >= 1
    assert len(index.collections()) == 1 and live not in index.collections()
    assert _top(fake_services, "车被水淹了")[0] == "t-1"
