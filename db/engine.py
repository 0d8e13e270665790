"""The one place a database engine is made.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``: readers never wait for
a writer (the console, the API workers and the commands share one file), and a commit appends to
the log instead of syncing the database file several times. A commit survives the process
crashing; a power cut can lose the last commits since the latest checkpoint, which is SQLite's
recommended trade for WAL. On live calls, with interim segments several times a second per call,
each with a commit, the default journal's syncs and its readers waiting on writers were a large
part of a segment's time under load.

PostgreSQL (``postgresql+psycopg://``) gets a connection pool with a stated budget per process:
at most ``pool_size + max_overflow`` connections for each worker (the API's workers, the console,
each command), so a deployment sizes the server's ``max_connections`` as workers times that sum
plus headroom. Pooled connections are checked before use (``pool_pre_ping``: a server restart or
a dropped idle connection costs one reconnect, not a failed request) and replaced after
``pool_recycle`` seconds (below the usual idle timeouts of proxies and load balancers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
)


@dataclass(frozen=True)
class PoolBudget:
    """The connections one process may hold on a database server.

    Attributes:
        size: connections kept open in the pool.
        max_overflow: extra connections opened under load beyond ``size`` and closed when
            returned; a process never holds more than ``size + max_overflow``.
        recycle_seconds: a pooled connection older than this is replaced before use.
        timeout_seconds: how long a request waits for a free connection before failing.
    """

    size: int = 5
    max_overflow: int = 10
    recycle_seconds: int = 1800
    timeout_seconds: float = 30.0


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_engine(url: str, pool: PoolBudget | None = None) -> Engine:
    """An engine for ``url``.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``.
        pool: the connection budget of this process on a database server (default
            ``PoolBudget()``: 5 pooled plus 10 overflow); not used for SQLite, whose engine keeps
            SQLAlchemy's default pool and gets the pragmas above on every new connection.

    Returns:
        The engine (no connection is opened yet).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    budget = pool or PoolBudget()
    return create_engine(
        url,
        pool_size=budget.size,
        max_overflow=budget.max_overflow,
        pool_recycle=budget.recycle_seconds,
        pool_timeout=budget.timeout_seconds,
        pool_pre_ping=True,
    )
