"""Schema migrations: a fresh database, an old-layout data dir upgraded in place, and the
migrations agreeing with the schema the code declares."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from cli.main import main
from core.errors import DatabaseNotReadyError
from core.settings import Settings
from db.migrate import current_revision, head_revision, upgrade
from db.schema import metadata
from services.root import Services
from tests.conftest import SessionDatabases
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.integration

OLD_LAYOUT = Path(__file__).resolve().parent.parent / "fixtures" / "old_layout" / "policydesk.db"


def test_the_migrations_build_exactly_the_declared_schema(
    tmp_path: Path, migrated_database: SessionDatabases
) -> None:
    # an empty database on the session's engine: SQLite, or PostgreSQL under make test-engines
    engine = create_engine(migrated_database.empty(tmp_path))
    assert upgrade(engine) == (None, head_revision())
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert upgrade(engine) == (head_revision(), head_revision())  # idempotent
    engine.dispose()


def test_an_old_layout_data_dir_upgrades_in_place(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copyfile(OLD_LAYOUT, data_dir / "policydesk.db")
    services = Services(Settings(data_dir=data_dir), embedder=FakeEmbedder())
    with pytest.raises(DatabaseNotReadyError, match=r"earlier layout.*policydesk db upgrade"):
        services.require_database()
    assert "cust_customers" not in inspect(services.engine).get_table_names()

    out = io.StringIO()
    assert main(["--data-dir", str(data_dir), "db", "upgrade"], out=out) == 0
    assert f"upgraded from no revision to {head_revision()}" in out.getvalue()

    assert current_revision(services.engine) == head_revision()
    tables = set(inspect(services.engine).get_table_names())
    assert set(metadata.tables) <= tables  # the missing stores' tables were created
    # what was there is kept
    assert [p.id for p in services.catalog.passages()] == ["t-1", "t-2"]
    assert services.accounts.get("agent01").username == "agent01"
    assert {s.item.id for s in services.studio.search(services.accounts.get("agent01"))} == {
        "t-1",
        "t-2",
    }
    # the bot's turns are the bot's now; the agent's reply keeps its author
    (handoff,) = services.handoffs.list(None)
    conversation = services.conversations.load(handoff.session_id)[0]
    speakers = [(t.speaker.value, t.author) for t in conversation.turns]
    assert speakers == [("customer", None), ("bot", None), ("agent", "agent01")]
    assert [t.speaker.value for t in handoff.transcript] == ["customer", "bot", "agent"]

    again = io.StringIO()
    assert main(["--data-dir", str(data_dir), "db", "upgrade"], out=again) == 0
    assert "up to date" in again.getvalue()
