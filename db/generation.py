"""The published-content generation: one number every process watches.

Whatever changes what serves (an ingest switching the index, a publish, retire or rollback in the
studio, a kept emotion retraining) adds one to it, in the transaction of the change. Each process
compares it with the generation its content snapshot was built from and rebuilds when they differ,
so a publish from any process reaches every other within seconds, without a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from db.changes import Change, announce
from db.schema import content_generation

ROW = 1


def read_generation(connection: Connection) -> int:
    """The current generation (0 before anything was published)."""
    value = connection.execute(
        select(content_generation.c.generation).where(content_generation.c.id == ROW)
    ).scalar()
    return int(value or 0)


def bump_generation(connection: Connection) -> None:
    """Add one, inside the caller's transaction (it commits with the change it announces)."""
    connection.execute(
        update(content_generation)
        .where(content_generation.c.id == ROW)
        .values(
            generation=content_generation.c.generation + 1,
            changed_at=datetime.now(UTC),
        )
    )
    announce(connection, Change.CONTENT)
