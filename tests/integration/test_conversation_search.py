"""Cards that follow the conversation, on the demo knowledge base with the shipped ranker: the
topic carries to turns that only refer to it, filler shows nothing, e-bikes are not new-energy
cars, and the chatbot's follow-up questions use the same state."""

from __future__ import annotations

import pytest

from conversation.models import Speaker, Turn
from retrieval.topics import Facet, TopicState
from services.root import Services

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _replay(services: Services, turns: list[str]) -> list[list[str]]:
    search = services.conversation_search()
    state = TopicState()
    shown: list[list[str]] = []
    for index, text in enumerate(turns):
        state = search.update(state, text, index * 2)
        shown.append([h.id for h in search.cards(state, text).ranked[:5]])
    return shown


def test_a_refusal_over_ride_hailing_brings_its_clause_and_case(demo_services: Services) -> None:
    shown = _replay(
        demo_services,
        ["我上个月开网约车载客时追尾了，你们说商业险不赔", "凭什么不赔？我每年交那么多保费！"],
    )
    assert "case-001" in shown[1]  # the ride-hailing refusal precedent
    assert "cm2020-39" not in shown[1]  # 保费 in a complaint is not a premium question


def test_filler_alone_shows_no_card(demo_services: Services) -> None:
    assert _replay(demo_services, ["喂，你好", "嗯嗯，好的"]) == [[], []]


def test_an_e_bike_rider_does_not_bring_new_energy_clauses(demo_services: Services) -> None:
    (shown,) = _replay(demo_services, ["我开车撞到一个骑电动车的大爷，他腿在流血"])
    assert shown and not any(pid.startswith("nev") for pid in shown[:3])


def test_the_console_session_keeps_the_topic_and_cites_its_cards(demo_services: Services) -> None:
    session = demo_services.assist_session()
    session.add(Turn(speaker=Speaker.CUSTOMER, text="我的车昨晚在小区门口被偷了"))
    view = session.add(Turn(speaker=Speaker.CUSTOMER, text="多久能赔？"))
    assert view.topic.names(Facet.EVENT) == ["theft"]
    assert any("盗抢" in h.answers for h in view.hits)
    if view.suggestion is not None:
        cited = {h.citation for h in view.hits}
        assert set(view.suggestion.citations) <= cited


def test_the_chatbot_answers_a_follow_up_from_the_conversation(demo_services: Services) -> None:
    chatbot = demo_services.chatbot()
    conversation = chatbot.start().id
    chatbot.post(conversation, "车停在地下车库被暴雨淹了，车损险赔不赔？")
    chatbot.post(conversation, "那发动机呢")
    stored = chatbot.conversation(conversation)
    assert "flood" in stored.topic.names(Facet.EVENT)
