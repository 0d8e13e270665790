"""Change notices between processes, through the database itself.

Every process (each API worker, each console) keeps what it last read of a few shared things: the
published-content generation, the handoff queue, the live calls. It must learn when another
process changed them. On PostgreSQL a write announces itself with ``NOTIFY`` in its own transaction
(delivered at commit, never for a rolled-back write), and each process keeps one connection in
``LISTEN``: a reader re-reads only after a notice. On SQLite there is no such channel, and a
reader simply reads every time (polling), as before.

A listener that loses its connection (a database restart) counts every kind as changed, reads
every time until it listens again, and reconnects with back-off; a notice it may have missed is
covered by that, and by ``MAX_AGE_S`` as a last resort.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("policydesk.changes")

CHANNEL = "policydesk_changes"
MAX_AGE_S = 30.0  # a remembered read older than this is read again, notice or not
RECONNECT_MAX_S = 10.0

T = TypeVar("T")


class Change(StrEnum):
    """What a notice is about."""

    CONTENT = "content"  # the published-content generation moved
    HANDOFF = "handoff"  # a handoff was queued, taken, answered or closed
    CALL = "call"  # a live call started, got a segment, a whisper or ended
    CONVERSATION = "conversation"  # a chat conversation got a message
    SELFSERVICE = "selfservice"  # a self-service claim, appointment or withdrawal was written


KNOWN = frozenset(c.value for c in Change)


def announce(connection: Connection, change: Change) -> None:
    """Tell the other processes, when the caller's transaction commits (PostgreSQL; a no-op on
    SQLite, whose readers poll)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": change.value},
        )


class ChangeWatcher:
    """What this process heard, and reads remembered until the next notice.

    Args:
        engine: the shared engine; on PostgreSQL a daemon thread listens on a connection of its
            own (started on first use), on anything else nothing listens.
    """

    def __init__(self, engine: Engine) -> None:
        self._url = engine.url
        self._postgres = engine.dialect.name == "postgresql"
        self._heard: dict[Change, int] = dict.fromkeys(Change, 0)
        self._remembered: dict[tuple[Change, Hashable], tuple[int, float, Any]] = {}
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        """True while notices arrive (PostgreSQL, connected); readers poll otherwise."""
        self._start()
        return self._listening.is_set()

    def heard(self, change: Change) -> int:
        """How many notices of ``change`` this process has heard (or assumed, after a gap)."""
        with self._lock:
            return self._heard[change]

    def fresh(self, change: Change, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``'s value, read again only after a notice of ``change`` since it was read
        (always read again while nothing listens).

        Args:
            change: what would make the value stale.
            key: which read of that kind (e.g. one agent's calls).
            load: the read itself.
        """
        if not self.listening:
            return load()
        before = self.heard(change)  # taken before the read: a notice during it forces a re-read
        with self._lock:
            remembered = self._remembered.get((change, key))
        if (
            remembered is not None
            and remembered[0] == before
            and time.monotonic() - remembered[1] < MAX_AGE_S
        ):
            return remembered[2]
        value = load()
        with self._lock:
            self._remembered[(change, key)] = (before, time.monotonic(), value)
        return value

    def changed_here(self, change: Change) -> None:
        """A write of this process committed: forget reads of ``change`` now, before its notice
        comes back."""
        self._count([change])

    def stop(self) -> None:
        """Stop listening (tests; the thread is a daemon otherwise)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ----- the listener ----------------------------------------------------------------------

    def _start(self) -> None:
        if not self._postgres or self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="change-listener", daemon=True
                )
                self._thread.start()

    def _count(self, changes: list[Change]) -> None:
        with self._lock:
            for change in changes:
                self._heard[change] += 1

    def _listen(self) -> None:
        import psycopg

        conninfo = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        wait = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._count(list(Change))  # whatever changed while nobody listened
                    self._listening.set()
                    wait = 0.5
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            if notice.payload in KNOWN:
                                self._count([Change(notice.payload)])
            except psycopg.Error as exc:
                if self._listening.is_set():
                    log.warning("change notices lost (%s); reading every time until back", exc)
                self._listening.clear()
                self._count(list(Change))
                self._stop.wait(wait)
                wait = min(wait * 2, RECONNECT_MAX_S)
        self._listening.clear()
