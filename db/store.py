"""The base of every SQL store: one engine, a writing transaction, a reading connection."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import ClassVar, TypeVar

from sqlalchemy import Connection, Engine, func, select

from db.changes import Change, ChangeWatcher, announce

T = TypeVar("T")


class SqlStore:
    """What every store shares. Tables come from ``db.schema``; migrations create them.

    Args:
        engine: the shared SQLAlchemy engine (SQLite by default, PostgreSQL by URL).
        watcher: this process's change notices; with one, a store that ``ANNOUNCES`` may keep
            reads (``remembered``) until another process's write, and tells the watcher of its
            own writes at once.
    """

    ANNOUNCES: ClassVar[Change | None] = None
    """What a write of this store changes for other processes (``db.changes``): each writing
    transaction announces it at commit."""

    def __init__(self, engine: Engine, watcher: ChangeWatcher | None = None) -> None:
        self._engine = engine
        self._watcher = watcher

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """A writing transaction, committed when the block ends (rolled back on an error).

        Args:
            connection: the caller's open transaction to join instead (its commit then covers
                this write too, e.g. a conversation and its handoff).
        """
        if connection is not None:
            yield connection
            self._announce(connection)
            return
        with self._engine.begin() as conn:
            yield conn
            self._announce(conn)
        if self._watcher is not None and self.ANNOUNCES is not None:
            self._watcher.changed_here(self.ANNOUNCES)  # committed: this process knows now

    def _announce(self, connection: Connection) -> None:
        if self.ANNOUNCES is not None:
            announce(connection, self.ANNOUNCES)

    def remembered(self, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``, or its value as read before when no write of this store's kind happened
        since (only with a listening watcher: PostgreSQL; read every time otherwise)."""
        if self._watcher is None or self.ANNOUNCES is None:
            return load()
        return self._watcher.fresh(self.ANNOUNCES, (type(self).__name__, key), load)

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
