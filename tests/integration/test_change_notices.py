"""Change notices between processes: on PostgreSQL a committed write reaches another process's
watcher through LISTEN/NOTIFY and its remembered reads are read again; on SQLite every read goes
to the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from chatbot.handoff import NewHandoff
from chatbot.queue import HandoffQueue
from conversation.models import Speaker, Turn
from core.settings import Settings
from db.changes import Change, ChangeWatcher, announce

pytestmark = pytest.mark.integration

WAIT_S = 5.0


def _until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.sqlalchemy_url())
    yield engine
    engine.dispose()


@pytest.fixture
def watcher(engine: Engine) -> Iterator[ChangeWatcher]:
    watcher = ChangeWatcher(engine)
    yield watcher
    watcher.stop()


def test_without_notices_every_read_goes_to_the_database(
    engine: Engine, watcher: ChangeWatcher
) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL listens; this is the polling path")
    reads: list[int] = []

    def load() -> int:
        reads.append(1)
        return len(reads)

    assert [watcher.fresh(Change.HANDOFF, "k", load) for _ in range(3)] == [1, 2, 3]
    assert not watcher.listening


@pytest.fixture
def postgres(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (make test-engines)")
    return engine


def test_a_committed_write_elsewhere_is_heard_and_the_read_repeated(
    postgres: Engine, watcher: ChangeWatcher
) -> None:
    assert _until(lambda: watcher.listening)
    reads: list[int] = []

    def load() -> int:
        reads.append(1)
        return len(reads)

    assert watcher.fresh(Change.HANDOFF, "waiting", load) == 1
    assert watcher.fresh(Change.HANDOFF, "waiting", load) == 1  # remembered: no notice yet

    other = create_engine(postgres.url)  # another process's engine
    try:
        heard = watcher.heard(Change.HANDOFF)
        with other.connect() as conn:  # rolled back: nobody is told
            announce(conn, Change.HANDOFF)
            conn.rollback()
        time.sleep(0.3)
        assert watcher.heard(Change.HANDOFF) == heard
        assert watcher.fresh(Change.HANDOFF, "waiting", load) == 1

        with other.begin() as conn:
            announce(conn, Change.HANDOFF)
        assert _until(lambda: watcher.heard(Change.HANDOFF) > heard)
        assert watcher.fresh(Change.HANDOFF, "waiting", load) == 2
    finally:
        other.dispose()


def test_a_store_reads_again_after_a_write_in_another_process_or_its_own(
    postgres: Engine, watcher: ChangeWatcher
) -> None:
    assert _until(lambda: watcher.listening)
    here = HandoffQueue(postgres, watcher)
    elsewhere = HandoffQueue(create_engine(postgres.url))  # another process: its own engine
    assert here.list() == []
    first = elsewhere.submit(_new("S1"))
    assert _until(lambda: [h.id for h in here.list()] == [first.id])
    second = here.submit(_new("S2"))  # its own write: seen at once, before the notice is back
    assert {h.id for h in here.list()} == {first.id, second.id}


def _new(session: str) -> NewHandoff:
    return NewHandoff(
        session_id=session,
        transcript=[Turn(speaker=Speaker.CUSTOMER, text="我要转人工")],
        intent="to_human",
        intent_label="转人工",
        reasons=["explicit_request"],
        reason_text=["explicit_request"],
        suggested_reply="您好，我是人工客服。",
    )


def test_the_listener_comes_back_after_losing_its_connection(
    postgres: Engine, watcher: ChangeWatcher
) -> None:
    assert _until(lambda: watcher.listening)
    before = watcher.heard(Change.CONTENT)
    with postgres.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
        )
    # every kind counts as changed (a notice may have been missed), and it listens again
    assert _until(lambda: watcher.heard(Change.CONTENT) > before + 1)
    assert _until(lambda: watcher.listening)
