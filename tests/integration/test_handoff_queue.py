"""The handoff queue on real SQLite: order, atomic accept, resolve rules, restart safety."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from chatbot.handoff import HandoffState, NewHandoff
from chatbot.queue import HandoffNotFoundError, HandoffQueue, HandoffStateError
from conversation.models import Speaker, Turn

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _new(reasons: list[str], text: str = "我要转人工", session: str = "S1") -> NewHandoff:
    return NewHandoff(
        session_id=session,
        transcript=[Turn(speaker=Speaker.CUSTOMER, text=text)],
        intent="to_human",
        intent_label="转人工",
        reasons=reasons,
        reason_text=reasons,
        suggested_reply="您好，我是人工客服。",
    )


@pytest.fixture
def queue(migrated_engine: Engine) -> HandoffQueue:
    return HandoffQueue(migrated_engine)


def test_waiting_list_is_most_urgent_first_then_longest_waiting(queue: HandoffQueue) -> None:
    late_request = queue.submit(_new(["explicit_request"]), now=T0)
    injury = queue.submit(_new(["injury_emergency"]), now=T0 + timedelta(minutes=5))
    angry_early = queue.submit(_new(["upset"]), now=T0 + timedelta(minutes=1))
    angry_late = queue.submit(_new(["upset"]), now=T0 + timedelta(minutes=3))
    order = [h.id for h in queue.list(HandoffState.WAITING)]
    assert order == [injury.id, angry_early.id, angry_late.id, late_request.id]
    assert [h.priority for h in queue.list()] == [0, 1, 1, 3]


def test_transcript_is_stored_redacted(queue: HandoffQueue) -> None:
    stored = queue.submit(
        _new(["explicit_request"], text="我手机13812345678，身份证110101199001011234")
    )
    text = queue.get(stored.id).transcript[0].text
    assert "13812345678" not in text and "110101199001011234" not in text
    assert "138****5678" in text


def test_two_agents_racing_exactly_one_accepts(queue: HandoffQueue) -> None:
    handoff = queue.submit(_new(["upset"]))
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def claim(agent: str) -> None:
        barrier.wait()
        try:
            queue.accept(handoff.id, agent)
            winners.append(agent)
        except HandoffStateError:
            losers.append(agent)

    threads = [threading.Thread(target=claim, args=(f"A{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 7
    stored = queue.get(handoff.id)
    assert stored.state is HandoffState.ACCEPTED and stored.accepted_by == winners[0]


def test_accepting_a_taken_handoff_names_who_has_it(queue: HandoffQueue) -> None:
    handoff = queue.submit(_new(["complaint"]))
    queue.accept(handoff.id, "王坐席")
    with pytest.raises(HandoffStateError, match="already accepted by 王坐席"):
        queue.accept(handoff.id, "李坐席")


def test_only_the_accepting_agent_resolves_with_a_note(queue: HandoffQueue) -> None:
    handoff = queue.submit(_new(["dispute"]))
    with pytest.raises(HandoffStateError, match="only an accepted handoff"):
        queue.resolve(handoff.id, "A1", "已处理")
    queue.accept(handoff.id, "A1")
    with pytest.raises(HandoffStateError, match="accepted by A1, not A2"):
        queue.resolve(handoff.id, "A2", "已处理")
    with pytest.raises(HandoffStateError, match="resolution note is required"):
        queue.resolve(handoff.id, "A1", "  ")
    done = queue.resolve(handoff.id, "A1", "已解释定损依据，客户同意复勘")
    assert done.state is HandoffState.RESOLVED and done.resolved_at is not None
    assert queue.counts() == {
        HandoffState.WAITING: 0,
        HandoffState.ACCEPTED: 0,
        HandoffState.RESOLVED: 1,
    }


def test_unknown_ids_and_blank_agents_are_named(queue: HandoffQueue) -> None:
    with pytest.raises(HandoffNotFoundError, match="Hnope"):
        queue.accept("Hnope", "A1")
    handoff = queue.submit(_new(["upset"]))
    with pytest.raises(HandoffStateError, match="agent ID is required"):
        queue.accept(handoff.id, "  ")
    assert queue.get(handoff.id).state is HandoffState.WAITING


def test_a_restart_loses_nothing(tmp_path: Path, migrated_engine: Engine) -> None:
    first = HandoffQueue(migrated_engine)
    waiting = first.submit(_new(["injury_emergency"], session="S1"))
    accepted = first.submit(_new(["upset"], session="S2"))
    first.accept(accepted.id, "A1")

    # a new process over the same database
    again = HandoffQueue(create_engine(migrated_engine.url.render_as_string(hide_password=False)))
    assert [h.id for h in again.list(HandoffState.WAITING)] == [waiting.id]
    restored = again.get(accepted.id)
    assert restored.accepted_by == "A1" and restored.created_at.tzinfo is not None
    assert restored.transcript == accepted.transcript
