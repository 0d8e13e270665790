"""Schema migrations (Alembic): bring a database to the current schema, or say it is behind.

``policydesk db upgrade`` (run by ``make setup``) calls ``upgrade``. The long-running processes
(console, API) only check (``require_current``): they never change a schema on their own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from core.errors import DatabaseNotReadyError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # there is always a baseline
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated (new, or from the
    layout before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply every migration the database lacks, in one transaction.

    A database from the layout before migrations (tables, no revision) is upgraded in place by
    the baseline, which creates only the tables it lacks.

    Args:
        engine: the database.
        revision: where to stop (default the newest).

    Returns:
        (the revision before, the revision after).
    """
    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    after = current_revision(engine)
    assert after is not None
    return before, after


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Undo migrations down to ``revision`` (``base`` for none), in one transaction: for a
    release rolled back to code that expects an older schema or data shape.

    Returns:
        (the revision before, the revision after; None at base).
    """
    before = current_revision(engine)
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
    return before, current_revision(engine)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    return current_revision(engine) == head_revision()


def require_current(engine: Engine) -> None:
    """Refuse to serve on a database that is not at the newest revision.

    Raises:
        DatabaseNotReadyError: new, from the earlier layout, or behind (says what to run).
    """
    current = current_revision(engine)
    if current == head_revision():
        return
    has_tables = bool(inspect(engine).get_table_names())
    state = "an earlier layout" if has_tables and current is None else "not set up"
    if current is not None:
        state = f"at revision {current}, the code needs {head_revision()}"
    raise DatabaseNotReadyError(f"the database is {state}: run `policydesk db upgrade`")
