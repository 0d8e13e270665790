"""The one place a database engine is made.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``: readers never wait for
a writer (the console, the API workers and the commands share one file), and a commit appends to
the log instead of syncing the database file several times. A commit survives the process
crashing; a power cut can lose the last commits since the latest checkpoint, which is SQLite's
recommended trade for WAL. On live calls, with interim segments several times a second per call,
each with a commit, the default journal's syncs and its readers waiting on writers were a large
part of a segment's time under load.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite one gets the pragmas above on every new connection."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
