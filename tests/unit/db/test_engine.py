"""The engine each database URL gets: SQLite's pragmas, PostgreSQL's connection budget."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from core.settings import Settings
from db.engine import PoolBudget, make_engine
from services.root import Services
from tests.fakes import FakeEmbedder

PG_URL = "postgresql+psycopg://policydesk@db.invalid:5432/policydesk"  # never connected to


def test_sqlite_runs_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()


def test_postgresql_gets_the_stated_budget_per_process() -> None:
    engine = make_engine(PG_URL, PoolBudget(size=3, max_overflow=4, recycle_seconds=600))
    pool = engine.pool
    assert pool.size() == 3  # type: ignore[attr-defined]
    assert pool._max_overflow == 4  # type: ignore[attr-defined]
    assert pool._recycle == 600
    assert pool._pre_ping is True
    assert engine.dialect.driver == "psycopg"


def test_the_settings_set_the_budget_of_the_services_engine(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=PG_URL, db_pool_size=7, db_max_overflow=2)
    pool = Services(settings, embedder=FakeEmbedder()).engine.pool
    assert pool.size() == 7  # type: ignore[attr-defined]
    assert pool._max_overflow == 2  # type: ignore[attr-defined]
    default = make_engine(PG_URL).pool
    assert (default.size(), default._max_overflow) == (5, 10)  # type: ignore[attr-defined]
