"""The base of every SQL store: one engine, a writing transaction, a reading connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, func, select


class SqlStore:
    """What every store shares. Tables come from ``db.schema``; migrations create them.

    Args:
        engine: the shared SQLAlchemy engine (SQLite by default, PostgreSQL by URL).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """A writing transaction, committed when the block ends (rolled back on an error).

        Args:
            connection: the caller's open transaction to join instead (its commit then covers
                this write too, e.g. a conversation and its handoff).
        """
        if connection is not None:
            yield connection
            return
        with self._engine.begin() as conn:
            yield conn

    @staticmethod
    def serialise(connection: Connection, *keys: str) -> None:
        """Make transactions that name the same key run one after the other, until the commit.

        For a check-then-write that parallel workers must not interleave (a limit counted in
        rows). On PostgreSQL: a transaction-scoped advisory lock per key, taken in the order
        given (callers name their keys in one fixed order, so two never wait on each other). On
        SQLite: nothing to take, provided the transaction writes before it reads: its first write
        takes the database's one write lock.
        """
        if connection.dialect.name == "postgresql":
            for key in keys:
                connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    @contextmanager
    def reading(self, connection: Connection | None = None) -> Iterator[Connection]:
        """A connection for reads (the caller's, when given)."""
        if connection is not None:
            yield connection
            return
        with self._engine.connect() as conn:
            yield conn
