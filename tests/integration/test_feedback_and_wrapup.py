"""Card feedback and call wrap-up against real SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.calls import demo_calls, read_call
from core.errors import ConfigurationError, PolicyDeskError
from core.settings import PROJECT_ROOT
from customers.demo import generate
from customers.store import CustomerNotFoundError
from services.root import Services
from studio.feedback import NewFeedback

pytestmark = pytest.mark.integration


def _vote(helpful: bool, question: str = "车被偷了怎么办，我电话13812345678") -> NewFeedback:
    return NewFeedback(
        passage_id="cm-theft",
        citation="示范条款第八条",
        kind="clause",
        question=question,
        helpful=helpful,
        agent="A007",
    )


def test_feedback_is_masked_queued_summarised_and_reviewed(fake_services: Services) -> None:
    store = fake_services.feedback
    first = store.record(_vote(False))
    store.record(_vote(True))
    store.record(_vote(False))
    assert "13812345678" not in first.question and "138****5678" in first.question
    assert len(store.votes()) == 3
    (summary,) = store.summary()
    assert (summary.helpful, summary.not_helpful) == (1, 2)
    store.mark_reviewed(first.id)
    assert [v.id for v in store.votes()] != [] and first.id not in [v.id for v in store.votes()]
    assert len(store.votes(include_reviewed=True)) == 3
    with pytest.raises(PolicyDeskError, match="no feedback with id 999"):
        store.mark_reviewed(999)


def test_wrap_up_save_validates_before_writing(fake_services: Services) -> None:
    fake_services.customers.load_records(generate(3))
    wrap = fake_services.wrap_up()
    customer = fake_services.customers.list(1)[0].id
    with pytest.raises(PolicyDeskError, match="empty"):
        wrap.save(customer, "   ", "已解答")
    with pytest.raises(PolicyDeskError, match="unknown disposition"):
        wrap.save(customer, "客户咨询", "随便")
    with pytest.raises(PolicyDeskError, match="limit"):
        wrap.save(customer, "长" * 1001, "已解答")
    with pytest.raises(CustomerNotFoundError):
        wrap.save("C99999", "客户咨询", "已解答")
    before = len(fake_services.customers.profile(customer).interactions)
    wrap.save(customer, "客户留了电话13812345678，需回访", "需回访", agent="A007")
    history = fake_services.customers.profile(customer).interactions
    assert len(history) == before + 1
    saved = max(history, key=lambda i: i.at)
    assert "13812345678" not in saved.summary and saved.disposition == "需回访"


def test_demo_calls_catalogue_is_valid_and_bad_indexes_are_named(tmp_path: Path) -> None:
    directory = PROJECT_ROOT / "data" / "demo" / "calls"
    calls = demo_calls(directory)
    assert len(calls) >= 8
    for call in calls:
        assert read_call(directory / call.file)
    (tmp_path / "index.json").write_text(
        json.dumps([{"file": "x.jsonl", "title_zh": "a", "title_en": "b"}]), encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match=r"missing: x\.jsonl"):
        demo_calls(tmp_path)
    (tmp_path / "index.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"index\.json"):
        demo_calls(tmp_path)
