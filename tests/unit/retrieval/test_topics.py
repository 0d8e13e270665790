"""The call-level topic state: what a call is about, and the searches formed from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError
from retrieval.topics import Facet, TopicLexicon, TopicState, TopicTracker

LEXICON = Path(__file__).resolve().parents[3] / "data" / "terms" / "topics.yaml"


@pytest.fixture(scope="module")
def tracker() -> TopicTracker:
    return TopicTracker(TopicLexicon.load(LEXICON))


def replay(tracker: TopicTracker, turns: list[str]) -> TopicState:
    state = TopicState()
    for index, text in enumerate(turns):
        state = tracker.update(state, text, index * 2)
    return state


def test_a_refusal_complaint_is_not_a_premium_question(tracker: TopicTracker) -> None:
    state = replay(tracker, ["凭什么不赔？我每年交那么多保费！"])
    assert state.first(Facet.DISPUTE) == "refusal"
    assert state.first(Facet.COVERAGE) is None  # 保费 is incidental in a complaint
    queries = tracker.queries(state, "凭什么不赔？我每年交那么多保费！")
    assert all("保费" not in q.text and "什么" not in q.text for q in queries)
    (query,) = [q for q in queries if q.values]
    assert "拒赔" in query.text


def test_the_topic_carries_to_turns_that_only_refer_to_it(tracker: TopicTracker) -> None:
    state = replay(tracker, ["我跑网约车的时候追尾了，保险公司说不赔", "凭什么不赔？"])
    assert state.first(Facet.USAGE) == "ride_hailing"
    assert state.names(Facet.EVENT) == ["collision"]
    queries = tracker.queries(state, "凭什么不赔？")
    # nothing of the turn's own is left once filler is out: only the state's search
    assert [q.own for q in queries] == [""]
    assert "使用性质" in queries[0].text and "改变使用性质" in queries[0].text  # the exclusion
    assert queries[0].focus(tracker.lexicon) == "碰撞 · 网约车 · 拒赔争议"


def test_filler_alone_forms_no_search(tracker: TopicTracker) -> None:
    state = replay(tracker, ["喂，你好"])
    assert state.empty
    assert tracker.queries(state, "喂，你好") == []
    assert tracker.queries(state, "嗯嗯，好的，谢谢啊") == []


def test_an_e_bike_rider_is_not_a_new_energy_car(tracker: TopicTracker) -> None:
    for text in ("我撞到一个骑电动车的大爷", "把一个骑电瓶车的小伙子剐倒了", "电驴被我蹭了一下"):
        state = replay(tracker, [text])
        assert state.first(Facet.VEHICLE) is None, text
        assert state.first(Facet.COVERAGE) == "third_party", text
    state = replay(tracker, ["我家的电动车在车位充电时冒烟了"])
    assert state.first(Facet.VEHICLE) == "nev"


def test_one_search_per_event_latest_first(tracker: TopicTracker) -> None:
    state = replay(tracker, ["车在地库被水淹了", "另外上周还被人把车划了一道"])
    assert state.names(Facet.EVENT) == ["flood", "scratch"]
    queries = tracker.queries(state, "这两个都能赔吗")
    topical = [q for q in queries if q.values]
    assert [q.values[0].name for q in topical] == ["scratch", "flood"]


def test_an_agent_correction_wins_over_later_turns(tracker: TopicTracker) -> None:
    state = replay(tracker, ["我那辆车在小区里被偷了"])
    state = state.correct(Facet.VEHICLE, "nev", turn=2)
    state = tracker.update(state, "是辆油车", 4)  # the caller's later word does not undo it
    assert state.first(Facet.VEHICLE) == "nev"
    assert Facet.VEHICLE in state.locked
    cleared = state.correct(Facet.EVENT, None)
    assert cleared.names(Facet.EVENT) == []
    assert tracker.update(cleared, "车被水淹了", 6).names(Facet.EVENT) == []


def test_a_bad_pattern_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text(
        "facets:\n  event:\n    flood: {zh: 水淹, en: flood, patterns: ['(淹'], terms: 水淹}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"topics\.yaml"):
        TopicLexicon.load(bad)


def test_personal_numbers_never_reach_a_search_or_the_state(tracker: TopicTracker) -> None:
    text = "我手机13812345678，车在地库被水淹了"
    state = tracker.update(TopicState(), text, 0)
    assert "13812345678" not in state.context
    assert all("13812345678" not in q.text for q in tracker.queries(state, text))
